import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer, PREFETCH_ROUNDS } from '../../src/client/consumer.js';
import { recordsFromFetch } from '../../src/client/fetched-records.js';
import { Producer } from '../../src/client/producer.js';
import { StreamBusError } from '../../src/errors/index.js';
import { ApiKey, type RequestOf } from '../../src/protocol/index.js';
import { encodeRecordBatch, stampBatch } from '../../src/protocol/record-batch.js';
import { FakeBroker } from './fake-broker.js';

function batchAt(baseOffset: number, values: string[], baseTimestamp = 1_000): Buffer {
  const b = encodeRecordBatch(
    values.map((value, i) => ({ value, key: `k${i}`, timestamp: baseTimestamp + i })),
    { baseTimestamp },
  );
  stampBatch(b, baseOffset, 0);
  return b;
}

describe('recordsFromFetch', () => {
  it('skips records before the fetch offset in a batch that starts earlier', () => {
    const records = Buffer.concat([batchAt(10, ['a', 'b', 'c', 'd', 'e']), batchAt(15, ['f'])]);
    const { messages, nextOffset } = recordsFromFetch('t', 0, records, 12);
    expect(messages.map((m) => [m.offset, m.value?.toString()])).toEqual([
      [12, 'c'],
      [13, 'd'],
      [14, 'e'],
      [15, 'f'],
    ]);
    expect(nextOffset).toBe(16);
    expect(messages[0]).toMatchObject({ topic: 't', partition: 0, timestamp: 1_002 });
    expect(messages[0]!.key?.toString()).toBe('k2');
  });

  it('leaves a partial trailing batch (cut at maxBytes) for the next fetch', () => {
    const second = batchAt(2, ['x', 'y']);
    const records = Buffer.concat([batchAt(0, ['a', 'b']), second.subarray(0, second.length - 3)]);
    const { messages, nextOffset } = recordsFromFetch('t', 0, records, 0);
    expect(messages.map((m) => m.offset)).toEqual([0, 1]);
    expect(nextOffset).toBe(2);
  });

  it('a batch with a bad CRC is CORRUPT_BATCH, not silently skipped', () => {
    const batch = batchAt(0, ['a', 'b']);
    batch[batch.length - 1]! ^= 0xff;
    expect(() => recordsFromFetch('t', 0, batch, 0)).toThrowError(
      expect.objectContaining({ code: 'CORRUPT_BATCH' }),
    );
  });

  it('an empty fetch leaves the position where it was', () => {
    expect(recordsFromFetch('t', 0, Buffer.alloc(0), 7)).toEqual({ messages: [], nextOffset: 7 });
  });
});

let broker: FakeBroker;
let cluster: Cluster;

afterEach(async () => {
  await cluster?.close();
  await broker?.stop();
});

async function setupWithData(partitions: number, perPartition: number): Promise<void> {
  broker = await FakeBroker.start();
  broker.createTopic('t', partitions);
  cluster = new Cluster({ bootstrap: [broker.bootstrap] });
  const producer = new Producer(cluster, { lingerMs: 0 });
  for (let p = 0; p < partitions; p++) {
    await producer.send({
      topic: 't',
      messages: Array.from({ length: perPartition }, (_, i) => ({
        partition: p,
        value: `p${p}-${i}`,
        timestamp: 5_000 + i,
      })),
    });
  }
}

describe('Consumer', () => {
  it('iterates every message of every assigned partition from the beginning, each partition in order', async () => {
    await setupWithData(3, 20);
    const consumer = new Consumer(cluster, { autoOffsetReset: 'earliest', maxWaitMs: 10 });
    await consumer.assign([{ topic: 't' }]);
    const seen = new Map<number, number[]>();
    let total = 0;
    for await (const m of consumer) {
      seen.set(m.partition, [...(seen.get(m.partition) ?? []), m.offset]);
      expect(m.value?.toString()).toBe(`p${m.partition}-${m.offset}`);
      if (++total === 60) break;
    }
    for (const p of [0, 1, 2]) expect(seen.get(p)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(consumer.position({ topic: 't', partition: 0 })).toBe(20);
    // Defaults on the wire: 4 MiB per partition within a 50 MiB response.
    const fetch = broker.requestsOf(ApiKey.Fetch)[0]!.body as RequestOf<typeof ApiKey.Fetch>;
    expect(fetch.maxBytes).toBe(50 * 1024 * 1024);
    expect(fetch.partitions.map((p) => p.partitionMaxBytes)).toEqual([4, 4, 4].map((m) => m * 1024 * 1024));
    await consumer.close();
  });

  it('seek, seekToBeginning, seekToEnd and seekToTimestamp set the next offset poll returns', async () => {
    await setupWithData(1, 10);
    const tp = { topic: 't', partition: 0 };
    const consumer = new Consumer(cluster, { maxWaitMs: 10 });
    await consumer.assign([tp]);
    await consumer.seek(tp, 7);
    expect((await consumer.poll()).map((m) => m.offset)).toEqual([7, 8, 9]);
    await consumer.seekToBeginning();
    expect(consumer.position(tp)).toBe(0);
    await consumer.seekToEnd();
    expect(consumer.position(tp)).toBe(10);
    expect(await consumer.poll()).toEqual([]);
    await consumer.seekToTimestamp(tp, 5_004);
    expect(consumer.position(tp)).toBe(4);
    await consumer.seekToTimestamp(tp, 99_999);
    expect(consumer.position(tp)).toBe(10);
  });

  it('autoOffsetReset latest starts at the end: only messages produced afterwards are read', async () => {
    await setupWithData(1, 5);
    const consumer = new Consumer(cluster, { maxWaitMs: 10 });
    await consumer.assign([{ topic: 't', partition: 0 }]);
    expect(await consumer.poll()).toEqual([]);
    await new Producer(cluster, { lingerMs: 0 }).send({ topic: 't', messages: [{ value: 'new' }] });
    // A round prefetched before the send may come back empty first; the next one has the new message.
    let got = await consumer.poll();
    if (got.length === 0) got = await consumer.poll();
    expect(got.map((m) => [m.offset, m.value?.toString()])).toEqual([[5, 'new']]);
  });

  it('OFFSET_OUT_OF_RANGE resets to earliest when asked to, and fails when autoOffsetReset is none', async () => {
    await setupWithData(1, 3);
    const tp = { topic: 't', partition: 0 };
    const resetting = new Consumer(cluster, { autoOffsetReset: 'earliest', maxWaitMs: 10 });
    await resetting.assign([tp]);
    await resetting.seek(tp, 100);
    expect(await resetting.poll()).toEqual([]);
    expect((await resetting.poll()).map((m) => m.offset)).toEqual([0, 1, 2]);

    const strict = new Consumer(cluster, { autoOffsetReset: 'none', maxWaitMs: 10 });
    await strict.assign([tp]);
    await strict.seek(tp, 100);
    await expect(strict.poll()).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
  });

  it('a corrupt batch from the broker surfaces as CORRUPT_BATCH', async () => {
    await setupWithData(1, 2);
    broker.handlers[ApiKey.Fetch] = async (body) => {
      const res = await broker.fetch(body);
      for (const p of res.partitions) {
        const copy = Buffer.from(p.records);
        copy[copy.length - 1]! ^= 0xff;
        p.records = copy;
      }
      return res;
    };
    const consumer = new Consumer(cluster, { autoOffsetReset: 'earliest', maxWaitMs: 10 });
    await consumer.assign([{ topic: 't', partition: 0 }]);
    await expect(consumer.poll()).rejects.toBeInstanceOf(StreamBusError);
    await expect(consumer.poll()).rejects.toMatchObject({ code: 'CORRUPT_BATCH' });
  });

  it('poll rides out a retriable fetch failure (refreshing metadata) unless retries are exhausted', async () => {
    await setupWithData(1, 2);
    let failuresLeft = 1;
    broker.handlers[ApiKey.Fetch] = (body) => {
      if (failuresLeft-- > 0) throw new StreamBusError('LEADER_NOT_AVAILABLE');
      return broker.fetch(body);
    };
    const consumer = new Consumer(cluster, {
      autoOffsetReset: 'earliest',
      maxWaitMs: 10,
      retryBackoffMs: 1,
      // No fetch ahead: the armed failure below must hit the strict consumer, not a prefetch of this one.
      prefetch: false,
    });
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const metadataBefore = broker.requestsOf(ApiKey.Metadata).length;
    expect(await consumer.poll()).toEqual([]);
    expect((await consumer.poll()).map((m) => m.offset)).toEqual([0, 1]);
    expect(broker.requestsOf(ApiKey.Metadata).length).toBeGreaterThan(metadataBefore);

    failuresLeft = 1;
    const strict = new Consumer(cluster, { autoOffsetReset: 'earliest', maxWaitMs: 10, retries: 0 });
    await strict.assign([{ topic: 't', partition: 0 }]);
    await expect(strict.poll()).rejects.toMatchObject({ code: 'LEADER_NOT_AVAILABLE' });
  });

  it('fetches the other partitions while one has no leader, and that one once its leader is known', async () => {
    await setupWithData(2, 2);
    let leaderless = true;
    broker.handlers[ApiKey.Metadata] = (body) => {
      const md = broker.metadata(body);
      return {
        ...md,
        topics: md.topics.map((t) => ({
          ...t,
          partitions: t.partitions.map((p) => (p.partition === 1 && leaderless ? { ...p, leaderId: -1 } : p)),
        })),
      };
    };
    cluster.invalidateMetadata();
    // No retries: a round failed by the leaderless partition would surface from poll().
    const consumer = new Consumer(cluster, { autoOffsetReset: 'earliest', maxWaitMs: 10, retries: 0 });
    await consumer.assign([{ topic: 't' }]);
    const seen: string[] = [];
    for (let i = 0; i < 5; i++)
      for (const m of await consumer.poll()) seen.push(`${m.partition}:${m.offset}`);
    expect(seen).toEqual(['0:0', '0:1']);
    leaderless = false;
    for (let i = 0; i < 20 && seen.length < 4; i++)
      for (const m of await consumer.poll()) seen.push(`${m.partition}:${m.offset}`);
    expect(seen).toEqual(['0:0', '0:1', '1:0', '1:1']);
    // Leaderless again with its position known (fetch rounds, not the start): partition 0 still flows.
    leaderless = true;
    cluster.invalidateMetadata();
    const producer = new Producer(cluster, { lingerMs: 0 });
    await producer.send({ topic: 't', messages: [{ partition: 0, value: 'late' }] });
    for (let i = 0; i < 20 && seen.length < 5; i++)
      for (const m of await consumer.poll()) seen.push(`${m.partition}:${m.offset}`);
    expect(seen.slice(4)).toEqual(['0:2']);
    await producer.close();
    await consumer.close();
  });

  it('prefetches the next round while the caller works, without moving position past what poll returned', async () => {
    await setupWithData(1, 10);
    const tp = { topic: 't', partition: 0 };
    const consumer = new Consumer(cluster, {
      autoOffsetReset: 'earliest',
      maxWaitMs: 10,
      partitionMaxBytes: 1,
    });
    await consumer.assign([tp]);
    const fetchesBefore = broker.requestsOf(ApiKey.Fetch).length;
    const first = await consumer.poll();
    expect(first.length).toBeGreaterThan(0);
    const returnedUpTo = first.at(-1)!.offset + 1;
    // The next fetch is already on its way, yet position reflects only what the caller has received.
    await new Promise((r) => setTimeout(r, 30));
    expect(broker.requestsOf(ApiKey.Fetch).length).toBe(fetchesBefore + 2);
    expect(consumer.position(tp)).toBe(returnedUpTo);
    // A seek discards the prefetched round: the next messages start at the sought offset.
    await consumer.seek(tp, 1);
    const afterSeek = await consumer.poll();
    expect(afterSeek[0]?.offset).toBe(1);
    await consumer.close();
  });

  it('reads ahead while the caller works, at most PREFETCH_ROUNDS rounds, and a seek of one partition loses nothing of another', async () => {
    broker = await FakeBroker.start();
    broker.createTopic('t', 2);
    cluster = new Cluster({ bootstrap: [broker.bootstrap] });
    const producer = new Producer(cluster, { lingerMs: 0 });
    // One batch per message, so each round (partitionMaxBytes 1) brings one message per partition.
    for (let i = 0; i < 12; i++) {
      for (const partition of [0, 1]) {
        await producer.send({ topic: 't', messages: [{ partition, value: `p${partition}-${i}` }] });
      }
    }
    const consumer = new Consumer(cluster, {
      autoOffsetReset: 'earliest',
      maxWaitMs: 10,
      partitionMaxBytes: 1,
    });
    await consumer.assign([{ topic: 't' }]);
    const fetchesBefore = broker.requestsOf(ApiKey.Fetch).length;
    const first = await consumer.poll();
    expect(first.map((m) => m.offset)).toEqual([0, 0]);
    // Without another poll, the consumer fetches ahead, but holds no more than PREFETCH_ROUNDS rounds.
    await new Promise((r) => setTimeout(r, 100));
    expect(broker.requestsOf(ApiKey.Fetch).length).toBe(fetchesBefore + 1 + PREFETCH_ROUNDS);
    expect(consumer.position({ topic: 't', partition: 1 })).toBe(1);

    // Seeking partition 0 back drops what was read ahead; partition 1 must still see offsets 1, 2, ...
    await consumer.seek({ topic: 't', partition: 0 }, 0);
    const seen = new Map<number, number[]>([
      [0, []],
      [1, [0]],
    ]);
    for (let polls = 0; polls < 60 && (seen.get(0)!.length < 12 || seen.get(1)!.length < 12); polls++) {
      for (const m of await consumer.poll()) seen.get(m.partition)!.push(m.offset);
    }
    expect(seen.get(0)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(seen.get(1)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    await consumer.close();
  });

  it('close() ends the async iterator even while a poll is waiting', async () => {
    await setupWithData(1, 0);
    const consumer = new Consumer(cluster, { maxWaitMs: 10 });
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const collected: unknown[] = [];
    const loop = (async () => {
      for await (const m of consumer) collected.push(m);
    })();
    await new Promise((r) => setTimeout(r, 30));
    await consumer.close();
    await loop;
    expect(collected).toEqual([]);
  });
});
