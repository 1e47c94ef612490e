/**
 * An operator's reassignment on real broker processes (Kafka's kafka-reassign-partitions): a partition
 * placed by hand on brokers 1 and 2 is reassigned to 4 and 3, a different broker set, while an acks=all
 * producer in its own process keeps writing to it. The rebalancer moves one replica at a time (learner,
 * catch up, promote, remove the old one); the partition ends on exactly 4,3, both in sync, led by 4, still
 * pinned. Then broker 1 (its first leader) is killed and every acknowledged message is read back from the
 * new leader. Unpinning it afterwards clears the pin. Listens on 127.0.2.53.
 *
 * Then the replication factor: on three other brokers (127.0.2.161) a partition with min_insync_replicas 2
 * is grown from 1,2 to 1,2,3 and shrunk to 3,2 (its leader, broker 1, removed) under acks=all writes; a
 * list of one broker is refused naming min_insync_replicas. Broker 1 is killed and every acknowledged
 * message is read back from the final replicas' leader. (Other suites use 127.0.0.1 and 127.0.1.x.) Needs
 * `npm run build` first.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { readAllPartitions, requireDist, startAckedProducer } from '../helpers/acked-producer.js';
import {
  allSeeAlive,
  brokerFleet,
  formedCluster,
  levelFinalizedEverywhere,
  until,
} from '../helpers/cluster-processes.js';

const TOPIC = 'by-hand';
/** Rebalance checks every second; nothing fails here, so nothing moves but what the operator asks. */
const ENV = { STREAMBUS_CLUSTER_REBALANCE_INTERVAL: '1s' };

/**
 * Reads the whole partition from `broker` (the leader once the others are gone): every acknowledged
 * sequence is there, and offsets are contiguous (a moved log is the same log).
 */
async function expectEveryAckReadFrom(
  broker: { host: string; port: number },
  acked: ReadonlySet<number>,
  when: string,
): Promise<void> {
  const [records] = await until(
    `a full read from broker port ${broker.port}`,
    () => readAllPartitions(broker.host, broker.port, TOPIC, 1).catch(() => undefined),
    30_000,
  );
  const values = new Set(records?.map((r) => Number(r.value)));
  const lost = [...acked].filter((seq) => !values.has(seq));
  expect(lost, `acknowledged messages missing ${when}`).toEqual([]);
  expect(records?.map((r) => r.offset)).toEqual(records?.map((_, i) => i));
}

describe('reassigning a partition by hand on broker processes', () => {
  const { running, clients, start } = brokerFleet('reassign', 4, { env: ENV, host: '127.0.2.53' });

  it('moves it to the brokers asked for while a producer writes, and every acknowledged message is readable from them', async () => {
    requireDist();
    await Promise.all([start(1), start(2), start(3), start(4)]);
    const all = () => [...running.values()];
    await until('a formed cluster', () => formedCluster(all()), 30_000);
    await until('four alive brokers', () => allSeeAlive(all(), 4), 30_000);
    await until(
      'the feature level with reassignments finalized',
      () => levelFinalizedEverywhere(all()),
      30_000,
    );

    const client = createClient({ bootstrap: all().map((b) => b.bootstrap), requestTimeoutMs: 10_000 });
    clients.push(client);
    const admin = client.admin();
    await admin.createTopics([{ name: TOPIC, assignments: [[1, 2]] }]);
    await until('the partition led and in sync', async () => {
      const [t] = await admin.describeTopics([TOPIC]);
      const p = t?.partitions[0];
      return p !== undefined && p.leaderId > 0 && p.isr.length === 2 ? true : undefined;
    });

    const producer = startAckedProducer(
      all()
        .map((b) => b.bootstrap)
        .join(','),
      TOPIC,
    );
    try {
      await producer.waitForAcks(300);
      const startedMs = Date.now();
      await admin.reassignPartitions(TOPIC, [{ partition: 0, replicas: [4, 3] }]);
      const before = producer.acked.size;
      const settled = await until(
        'the partition on exactly 4,3, both in sync, led by 4',
        async () => {
          const [t] = await admin.describeTopics([TOPIC]);
          const p = t?.partitions[0];
          const done =
            p !== undefined &&
            p.replicas.join(',') === '4,3' &&
            p.isr.length === 2 &&
            p.isr.includes(4) &&
            p.isr.includes(3) &&
            p.leaderId === 4;
          return done ? p : undefined;
        },
        90_000,
      );
      process.stdout.write(
        `reassignment 1,2 -> 4,3 settled in ${Date.now() - startedMs} ms; ${producer.acked.size - before} acks meanwhile\n`,
      );
      expect(settled.pinned).toBe(true);
      // The producer kept going through the move and after it.
      await producer.waitForAcks(producer.acked.size + 300, 60_000);
    } finally {
      await producer.kill();
    }
    expect(producer.acked.size).toBeGreaterThan(600);

    // The first leader, no longer a replica, is gone: the new replicas serve everything acknowledged.
    await running.get(1)?.kill();
    running.delete(1);
    await expectEveryAckReadFrom(running.get(4)!, producer.acked, 'after the reassignment');

    // Unpinned, the rebalancer manages it again; its replicas stay until balance says otherwise.
    await admin.unpinPartitions(TOPIC);
    await until('the partition unpinned', async () => {
      const [t] = await admin.describeTopics([TOPIC]);
      return t?.partitions[0]?.pinned === false ? true : undefined;
    });
  }, 240_000);
});

describe('growing and shrinking a partition by hand on broker processes', () => {
  const { running, clients, start } = brokerFleet('reassign-rf', 3, { env: ENV, host: '127.0.2.161' });

  it('adds a third replica and removes the leader while a producer writes, and every acknowledged message is readable from the final replicas', async () => {
    requireDist();
    await Promise.all([start(1), start(2), start(3)]);
    const all = () => [...running.values()];
    await until('a formed cluster', () => formedCluster(all()), 30_000);
    await until('three alive brokers', () => allSeeAlive(all(), 3), 30_000);
    await until(
      'the feature level with reassignments finalized',
      () => levelFinalizedEverywhere(all()),
      30_000,
    );

    const client = createClient({ bootstrap: all().map((b) => b.bootstrap), requestTimeoutMs: 10_000 });
    clients.push(client);
    const admin = client.admin();
    await admin.createTopics([{ name: TOPIC, assignments: [[1, 2]], configs: { min_insync_replicas: '2' } }]);
    const partition = async () => (await admin.describeTopics([TOPIC]))[0]?.partitions[0];
    /** The partition on exactly `replicas`, in that order, all in sync, led by the first. */
    const settledOn = (replicas: number[]) =>
      until(
        `the partition on exactly ${replicas}, all in sync, led by ${replicas[0]}`,
        async () => {
          const p = await partition();
          const done =
            p !== undefined &&
            p.replicas.join(',') === replicas.join(',') &&
            p.isr.length === replicas.length &&
            replicas.every((id) => p.isr.includes(id)) &&
            p.leaderId === replicas[0] &&
            p.targetReplicas === undefined;
          return done ? p : undefined;
        },
        90_000,
      );
    await settledOn([1, 2]);

    const producer = startAckedProducer(
      all()
        .map((b) => b.bootstrap)
        .join(','),
      TOPIC,
    );
    try {
      await producer.waitForAcks(300);
      // Below min_insync_replicas every acks=all write would be refused: the list is, with nothing changed.
      await expect(admin.reassignPartitions(TOPIC, [{ partition: 0, replicas: [3] }])).rejects.toMatchObject({
        code: 'INVALID_REPLICATION_FACTOR',
        message: expect.stringMatching(/min_insync_replicas is 2/),
      });

      let startedMs = Date.now();
      await admin.reassignPartitions(TOPIC, [{ partition: 0, replicas: [1, 2, 3] }]);
      await settledOn([1, 2, 3]);
      process.stdout.write(`grown 1,2 -> 1,2,3 in ${Date.now() - startedMs} ms\n`);
      await producer.waitForAcks(producer.acked.size + 300, 60_000);

      startedMs = Date.now();
      await admin.reassignPartitions(TOPIC, [{ partition: 0, replicas: [3, 2] }]);
      const shrunk = await settledOn([3, 2]);
      process.stdout.write(`shrunk 1,2,3 -> 3,2 in ${Date.now() - startedMs} ms\n`);
      expect(shrunk.pinned).toBe(true);
      // The producer kept going through both changes and after them.
      await producer.waitForAcks(producer.acked.size + 300, 60_000);
    } finally {
      await producer.kill();
    }
    expect(producer.acked.size).toBeGreaterThan(900);

    // Broker 1, no longer a replica, is gone: the final replicas serve everything acknowledged.
    await running.get(1)?.kill();
    running.delete(1);
    await expectEveryAckReadFrom(running.get(3)!, producer.acked, 'after growing and shrinking');
  }, 300_000);
});
