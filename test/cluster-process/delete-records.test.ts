import { describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import { brokerFleet, formedCluster, levelFinalizedEverywhere, until } from '../helpers/cluster-processes.js';
import { diskLogStart } from '../helpers/replica-folders.js';

const HOST = '127.0.4.2';
const TOPIC = 'purged';
const RECORDS = 200;
const FLOOR = 150;
const PADDING = 'x'.repeat(100);
const ENV = {
  STREAMBUS_STORAGE_RETENTION_CHECK_INTERVAL_MS: '250ms',
  // A killed broker keeps its replica: no move but the failovers this test makes.
  STREAMBUS_CLUSTER_FAILED_GRACE: '300s',
};

describe('DeleteRecords with replication', () => {
  const { running, clients, start } = brokerFleet('delete-records', 3, { env: ENV, host: HOST });

  /** A client of the brokers running now (a restarted one listens on a new port). */
  const fresh = (): StreamBusClient => {
    const c = createClient({
      bootstrap: [...running.values()].map((b) => b.bootstrap),
      requestTimeoutMs: 5_000,
    });
    clients.push(c);
    return c;
  };

  const leaderOf = async (): Promise<{ leaderId: number; isr: number[] } | undefined> => {
    try {
      const p = (await fresh().admin().describeTopics([TOPIC]))[0]?.partitions[0];
      return p === undefined || p.leaderId <= 0 ? undefined : p;
    } catch {
      return undefined;
    }
  };

  /** ListOffsets earliest, and the offsets a consumer from the beginning reads, from the leader now. */
  const readFromBeginning = async (): Promise<{ earliest: number; offsets: number[] }> => {
    const client = fresh();
    const [earliest] = await client.admin().listOffsets([{ topic: TOPIC, partition: 0, timestamp: -2 }]);
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    const offsets: number[] = [];
    try {
      await consumer.assign([{ topic: TOPIC, partition: 0 }]);
      for await (const m of consumer) {
        offsets.push(m.offset);
        if (m.offset === RECORDS - 1) break;
      }
    } finally {
      await consumer.close();
    }
    return { earliest: earliest!.offset, offsets };
  };

  const leaderOtherThan = (id: number) =>
    until(
      `a leader other than broker ${id}`,
      async () => {
        const p = await leaderOf();
        return p !== undefined && p.leaderId !== id ? p.leaderId : undefined;
      },
      30_000,
      200,
    );

  it('every replica hides and frees the deleted records, through a leader kill and a restart', async () => {
    requireDist();
    const first = await Promise.all([start(1), start(2), start(3)]);
    await until('a formed three-broker cluster', () => formedCluster(first), 30_000);
    await until('the feature level finalized', () => levelFinalizedEverywhere(first), 30_000);
    const client = fresh();
    await client.admin().createTopic({
      name: TOPIC,
      assignments: [[1, 2, 3]],
      configs: { segment_bytes: '2048' },
    });
    await until(
      'leader 1 with every replica in sync',
      async () => {
        const p = await leaderOf();
        return p?.leaderId === 1 && p.isr.length === 3 ? true : undefined;
      },
      30_000,
      200,
    );
    const producer = client.producer({ acks: -1, lingerMs: 0 });
    for (let i = 0; i < RECORDS; i++) {
      const [meta] = await producer.send({ topic: TOPIC, messages: [{ value: `${i}|${PADDING}` }] });
      expect(meta?.offset).toBe(i);
    }
    await producer.close();

    // a. Deleted on the leader; every replica's folder drops the segments below the floor.
    const [deleted] = await client.admin().deleteRecords([{ topic: TOPIC, partition: 0, offset: FLOOR }]);
    expect(deleted).toMatchObject({ lowWatermark: FLOOR, error: null });
    const [beyond] = await client
      .admin()
      .deleteRecords([{ topic: TOPIC, partition: 0, offset: RECORDS + 1 }]);
    expect(beyond?.error?.code).toBe('OFFSET_OUT_OF_RANGE');
    const expected = Array.from({ length: RECORDS - FLOOR }, (_, i) => FLOOR + i);
    expect(await readFromBeginning()).toEqual({ earliest: FLOOR, offsets: expected });
    await until(
      'every replica freed the segments below the floor',
      async () =>
        first.every((b) => {
          const start = diskLogStart(b, TOPIC);
          return start > 0 && start <= FLOOR;
        })
          ? true
          : undefined,
      20_000,
      200,
    );

    // b. kill -9 the leader: the new one starts at the floor too.
    await running.get(1)!.kill();
    running.delete(1);
    const second = await leaderOtherThan(1);
    expect(await readFromBeginning(), `leader ${second} after a kill -9 of broker 1`).toEqual({
      earliest: FLOOR,
      offsets: expected,
    });

    // c. Broker 1 back (its replica opens with the floor from metadata), then the second leader killed too.
    await start(1);
    await until(
      'broker 1 back in sync',
      async () => ((await leaderOf())?.isr.includes(1) === true ? true : undefined),
      30_000,
      200,
    );
    await running.get(second)!.kill();
    running.delete(second);
    const third = await leaderOtherThan(second);
    expect(await readFromBeginning(), `leader ${third} after a kill -9 of broker ${second}`).toEqual({
      earliest: FLOOR,
      offsets: expected,
    });
  }, 150_000);
});
