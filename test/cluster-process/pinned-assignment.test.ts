/**
 * An operator's replica assignment on real broker processes stays where the operator put it: three voters,
 * a topic placed by hand on brokers 1 and 2 only (broker 3 holds none of it) beside one placed by the
 * broker; a fourth broker joins and the rebalancer moves replicas onto it, of the placed topic only. QA saw
 * `1:2:4` become `1,3,4`. `topic describe` (DescribeTopics v1) says which partitions are pinned. Listens on
 * 127.0.2.x (other suites use 127.0.0.1 and 127.0.1.x). Needs `npm run build` first.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import {
  allSeeAlive,
  brokerFleet,
  formedCluster,
  levelFinalizedEverywhere,
  until,
} from '../helpers/cluster-processes.js';

/** Fast rebalance checks. */
const ENV = { STREAMBUS_CLUSTER_REBALANCE_INTERVAL: '1s' };
const MANUAL = [
  [1, 2],
  [2, 1],
  [1, 2],
  [2, 1],
];

describe('a pinned replica assignment on broker processes', () => {
  const { running, clients, start } = brokerFleet('pinned', 4, { env: ENV, host: '127.0.2.47' });

  it('keeps the assignment while the rebalancer spreads the other topic onto a joining broker', async () => {
    requireDist();
    await Promise.all([start(1), start(2), start(3)]);
    const all = () => [...running.values()];
    await until('a formed three-broker cluster', () => formedCluster(all()), 30_000);
    await until(
      'the feature level that records pins finalized',
      () => levelFinalizedEverywhere(all()),
      30_000,
    );

    const client = createClient({ bootstrap: all().map((b) => b.bootstrap), requestTimeoutMs: 10_000 });
    clients.push(client);
    const admin = client.admin();
    await admin.createTopics([
      { name: 'manual', assignments: MANUAL },
      { name: 'placed', partitions: 6, replicationFactor: 2 },
    ]);

    await start(4);
    await until('four alive brokers', () => allSeeAlive(all(), 4), 30_000);
    const [manual, placed] = await until(
      'replicas of the placed topic moved onto broker 4, every partition in sync, no move pending',
      async () => {
        const topics = await admin.describeTopics(['manual', 'placed']);
        const onFour = topics[1]?.partitions.filter((p) => p.replicas.includes(4)).length ?? 0;
        const inSync = topics.every((t) => t.partitions.every((p) => p.isr.length === p.replicas.length));
        const status = await admin.describeCluster({ fromMetadataLeader: true });
        const moving = status.brokers.some((b) => b.movingOff > 0);
        return onFour >= 2 && inSync && !moving ? topics : undefined;
      },
      60_000,
    );
    // The rebalancer ran (the placed topic has its share on broker 4) and left the pinned topic alone,
    // though all of it sits on brokers 1 and 2.
    expect(placed?.partitions.filter((p) => p.replicas.includes(4)).length).toBeGreaterThanOrEqual(2);
    expect(manual?.partitions.map((p) => p.replicas)).toEqual(MANUAL);
    expect(manual?.partitions.map((p) => p.pinned)).toEqual([true, true, true, true]);
    expect(placed?.partitions.every((p) => p.pinned === false)).toBe(true);
    // Another round of rebalance checks changes nothing about it either.
    await new Promise((r) => setTimeout(r, 3_000));
    const [again] = await admin.describeTopics(['manual']);
    expect(again?.partitions.map((p) => p.replicas)).toEqual(MANUAL);
  });
});
