/**
 * The cluster_* gauges are kept by the coordinator on the metadata leader only. A broker that loses the
 * leadership (or stops its coordinator) must not keep exporting its last values: a max() across brokers
 * would show a false imbalance (QA) or a broker count long gone.
 */
import { describe, expect, it } from 'vitest';
import { ClusterCoordinator, type CoordinatorStore } from '../../src/broker/cluster-coordinator.js';
import { DEFAULT_COORDINATOR_CONFIG } from '../../src/cluster/coordinator-logic.js';
import { StreamBusError } from '../../src/errors/index.js';
import { encodeCommand, type MetadataCommand } from '../../src/metadata/commands.js';
import { MetadataStateMachine } from '../../src/metadata/state-machine.js';
import { MetricsRegistry, silentLogger } from '../../src/observability/index.js';
import { createTopic, register } from '../metadata/fixtures.js';

/** A coordinator over an in-process state machine whose Raft role the test sets; ticked by hand. */
function rig() {
  const sm = new MetadataStateMachine();
  let index = 0;
  const apply = (command: MetadataCommand) => {
    const result = sm.apply({ term: 1, index: ++index, type: 'normal', data: encodeCommand(command) });
    if (!result.ok) throw new StreamBusError(result.code, { message: result.message });
    return result;
  };
  const metrics = new MetricsRegistry({ processMetrics: false });
  const state = { role: 'follower', nowMs: 10_000 };
  // Writes are held: the gauges are about what the coordinator saw, not what it went on to change.
  const held = () => new Promise<never>(() => {});
  const store = {
    snapshotView: () => sm.view(),
    updateBroker: held,
    unregisterBroker: held,
    updateReplicaSet: held,
    updateLeader: held,
    updateInSyncSets: held,
    recordMove: held,
    completeMove: held,
    finalizeFeatureLevel: held,
    setClusterId: held,
  } as unknown as CoordinatorStore;
  const coordinator = new ClusterCoordinator({
    raft: {
      status: () => ({
        id: 1,
        role: state.role,
        term: 1,
        lastCommitAgeMs: 0,
        voters: [1, 2, 3],
        votersOutgoing: [],
        learners: [],
      }),
      proposeConfChange: held,
    },
    store,
    subscribe: (l) => sm.subscribe(l),
    probe: async () => true,
    config: DEFAULT_COORDINATOR_CONFIG,
    nowMs: () => state.nowMs,
    logger: silentLogger(),
    metrics,
  });
  for (const id of [1, 2, 3]) {
    apply(register(id, { atMs: state.nowMs }));
    apply({ type: 'updateBroker', brokerId: id, state: 'alive' });
  }
  // Every partition led by broker 1: imbalanced.
  apply(
    createTopic('t', [
      [1, 2, 3],
      [1, 3, 2],
      [1, 2, 3],
      [1, 3, 2],
    ]),
  );
  const tick = () => {
    state.nowMs += 100;
    coordinator.tick();
  };
  const gauge = async (name: string) => {
    const text = await metrics.registry.metrics();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  return { state, coordinator, tick, gauge };
}

describe('cluster coordinator gauges', () => {
  it('a broker that loses the metadata leadership exports 0 again, as one that never led', async () => {
    const r = rig();
    r.state.role = 'leader';
    r.tick();
    expect(await r.gauge('cluster_imbalance_score')).toBeGreaterThan(0);
    expect(await r.gauge('cluster_brokers_active')).toBe(3);
    expect(await r.gauge('cluster_partitions_total')).toBe(4);

    r.state.role = 'follower';
    r.tick();
    expect(await r.gauge('cluster_imbalance_score')).toBe(0);
    expect(await r.gauge('cluster_brokers_active')).toBe(0);
    expect(await r.gauge('cluster_partitions_total')).toBe(0);
    r.coordinator.stop();
  });

  it('so does one whose coordinator stops while it leads (shutdown)', async () => {
    const r = rig();
    r.state.role = 'leader';
    r.tick();
    expect(await r.gauge('cluster_imbalance_score')).toBeGreaterThan(0);
    r.coordinator.stop();
    expect(await r.gauge('cluster_imbalance_score')).toBe(0);
  });
});
