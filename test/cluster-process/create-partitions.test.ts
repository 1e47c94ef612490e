/**
 * Growing a replicated topic in a three-broker cluster: the new partitions are placed over all brokers,
 * each gets a Raft group with every replica in sync and a leader, and they take acks=all writes that are
 * read back. Needs `npm run build` first.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import {
  formedCluster,
  startThreeBrokerCluster,
  threeBrokerFixture,
  until,
} from '../helpers/cluster-processes.js';

const TOPIC = 'grown';

describe('CreatePartitions in a three-broker cluster', () => {
  const { dirs, running, clients } = threeBrokerFixture('grow');

  it('places the new partitions over every broker, elects their leaders and replicates their writes', async () => {
    requireDist();
    running.push(...(await startThreeBrokerCluster(dirs)));
    await until('a metadata leader all three agree on, seeing all three alive', () => formedCluster(running));
    const client = createClient({
      bootstrap: running.map((b) => b.bootstrap).join(','),
      requestTimeoutMs: 10_000,
    });
    clients.push(client);
    const admin = client.admin();
    await admin.createTopics([{ name: TOPIC, partitions: 2, replicationFactor: 3 }]);

    expect(await admin.createPartitions({ [TOPIC]: 5 })).toEqual([{ name: TOPIC, error: null }]);
    const described = await until(
      'five partitions, each with a leader and all three replicas in sync',
      async () => {
        const [t] = await admin.describeTopics([TOPIC]);
        const ready =
          t?.partitions.length === 5 && t.partitions.every((p) => p.leaderId > 0 && p.isr.length === 3);
        return ready ? t : undefined;
      },
      30_000,
    );
    for (const p of described.partitions) expect([...p.replicas].sort()).toEqual([1, 2, 3]);
    // Preferred leaders keep rotating over the brokers: the five are spread 2, 2, 1.
    const preferred = described.partitions.map((p) => p.replicas[0]!);
    expect(new Set(preferred).size).toBe(3);

    const producer = client.producer({ acks: -1, lingerMs: 0, retries: 30 });
    for (let partition = 0; partition < 5; partition++) {
      const [sent] = await producer.send({ topic: TOPIC, messages: [{ partition, value: `v${partition}` }] });
      expect(sent).toMatchObject({ partition, offset: 0 });
    }
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    await consumer.assign([{ topic: TOPIC }]);
    const read = new Map<number, string>();
    for await (const m of consumer) {
      read.set(m.partition, m.value?.toString() ?? '');
      if (read.size === 5) break;
    }
    await consumer.close();
    expect([...read.entries()].sort(([a], [b]) => a - b)).toEqual([0, 1, 2, 3, 4].map((p) => [p, `v${p}`]));
  });
});
