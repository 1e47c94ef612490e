/**
 * A broker whose build is older than the cluster's finalized feature level stops (as Kafka's broker refuses
 * an unsupported metadata.version): its metadata image shows the level, so it would otherwise run replicas
 * it no longer reads correctly. One voter in process; the level above this build's is written straight to
 * the metadata store (the coordinator never finalizes a level its own build lacks), which is what a newer
 * cluster's log holds when an older build is started on, or rolled back to, it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SUPPORTED_FEATURE_LEVEL } from '../../src/metadata/feature-levels.js';
import { tempDir } from '../helpers/broker-process.js';
import {
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';
import { waitFor } from '../helpers/wait-for.js';

let b: InProcessBroker | undefined;

afterEach(async () => {
  await b?.destroy();
  b = undefined;
});

describe('a build older than the cluster feature level', () => {
  it('stops once the level is finalized above it, and again on every restart', async () => {
    const dataDir = tempDir();
    const overrides = await singleVoterCluster();
    const reasons: string[] = [];
    b = await startInProcessBroker(overrides, dataDir, { onFatal: (r) => reasons.push(r) });
    const { broker } = b;
    const cluster = broker.cluster;
    if (cluster === null) throw new Error('expected a cluster-mode broker');
    await waitFor('the broker has registered', () => cluster.store.snapshotView().brokers.has(1));
    await waitFor('the cluster has finalized what this build supports', () => {
      return cluster.store.snapshotView().featureLevel === SUPPORTED_FEATURE_LEVEL;
    });
    expect(broker.health.liveness().live).toBe(true);
    expect(reasons).toEqual([]);

    const above = SUPPORTED_FEATURE_LEVEL + 1;
    const registry = [...cluster.store.snapshotView().brokers.values()].map((r) => ({
      brokerId: r.id,
      epoch: r.epoch,
    }));
    await cluster.store.finalizeFeatureLevel({ level: above, brokers: registry });
    await waitFor('the broker has stopped itself', () => reasons.length > 0);
    expect(broker.isShuttingDown).toBe(true);
    expect(broker.health.liveness()).toEqual({ live: false, reason: reasons[0] });
    expect(reasons[0]).toMatch(
      new RegExp(
        `finalized feature level ${above}, and this build supports levels up to ${SUPPORTED_FEATURE_LEVEL}`,
      ),
    );
    await b.stop();

    // A restart reads the level back from its metadata log and stops again (at start from a snapshot, or
    // as soon as the replayed log applies it).
    const again: string[] = [];
    const restarted = await startInProcessBroker(overrides, dataDir, { onFatal: (r) => again.push(r) }).then(
      (started) => ({ started }),
      (err: unknown) => ({ refused: err as Error & { code?: string } }),
    );
    if ('started' in restarted) {
      b = restarted.started;
      await waitFor('the restarted broker has stopped itself', () => again.length > 0);
      expect(restarted.started.broker.isShuttingDown).toBe(true);
      expect(again[0]).toMatch(new RegExp(`finalized feature level ${above}`));
    } else {
      expect(restarted.refused.code).toBe('UNSUPPORTED_VERSION');
      expect(restarted.refused.message).toMatch(new RegExp(`finalized feature level ${above}`));
    }
  }, 40_000);
});
