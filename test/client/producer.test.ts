import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Producer } from '../../src/client/producer.js';
import { StreamBusError } from '../../src/errors/index.js';
import type { Compression } from '../../src/protocol/compression.js';
import { ApiKey, type ProduceRequest } from '../../src/protocol/index.js';
import { readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { eventually, FakeBroker, failAll, ManualTimers } from './fake-broker.js';

let broker: FakeBroker;
let cluster: Cluster;

async function setup(partitions = 3): Promise<void> {
  broker = await FakeBroker.start();
  broker.createTopic('t', partitions);
  cluster = new Cluster({ bootstrap: [broker.bootstrap] });
}

afterEach(async () => {
  await cluster?.close();
  await broker?.stop();
});

const produces = () => broker.requestsOf(ApiKey.Produce).map((r) => r.body as ProduceRequest);
const batchesIn = (req: ProduceRequest) => req.partitions.flatMap((p) => [...splitBatches(p.records)]);

/** Timers set for `lingerMs` (a send waiting for metadata also has its delivery deadline set). */
const lingerTimers = (timers: ManualTimers, lingerMs: number) =>
  [...timers.pending.values()].filter((t) => t.ms === lingerMs).length;

describe('Producer batching', () => {
  it('holds records for lingerMs, then sends them as one batch in one request', async () => {
    await setup();
    const timers = new ManualTimers();
    const producer = new Producer(cluster, { timers, lingerMs: 1000, random: () => 0 });
    const sent = producer.send({ topic: 't', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await eventually(() => lingerTimers(timers, 1000) === 1, 'the linger timer');
    await new Promise((r) => setTimeout(r, 20));
    expect(produces()).toHaveLength(0);
    timers.fireSetFor(1000);
    const results = await sent;
    expect(produces()).toHaveLength(1);
    const batches = batchesIn(produces()[0]!);
    expect(batches.map((b) => readBatchHeader(b).recordCount)).toEqual([3]);
    expect(results.map((r) => [r.partition, r.offset])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
    ]);
  });

  it('sends a batch as soon as it reaches batchBytes, without waiting for linger', async () => {
    await setup(1);
    const timers = new ManualTimers();
    const producer = new Producer(cluster, { timers, lingerMs: 60_000, batchBytes: 200 });
    const value = Buffer.alloc(80, 1);
    const sent = producer.send({ topic: 't', messages: Array.from({ length: 4 }, () => ({ value })) });
    // Each record fills a batch: the first three go out with no timer fired; only the last lingers.
    const batchCount = () => produces().reduce((n, p) => n + batchesIn(p).length, 0);
    await eventually(() => batchCount() === 3, 'three size-triggered batches');
    // The linger timer only: the requests in flight have delivery timeout timers on the same timers, and
    // firing those would give them up.
    expect(timers.fireSetFor(60_000)).toBe(1);
    const results = await sent;
    expect(results.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    const counts = produces().flatMap((p) => batchesIn(p).map((b) => readBatchHeader(b).recordCount));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(counts.every((c) => c <= 2)).toBe(true);
  });

  it('keyed messages go to the murmur2 partition; offsets are per partition and in order', async () => {
    await setup(3);
    const producer = new Producer(cluster, { lingerMs: 0 });
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'alpha'];
    const results = await producer.send({
      topic: 't',
      messages: keys.map((key) => ({ key, value: `v-${key}` })),
    });
    expect(results.map((r) => r.partition)).toEqual(keys.map((k) => partitionForKey(k, 3)));
    for (const p of [0, 1, 2]) {
      const offsets = results.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    expect(broker.records('t', partitionForKey('alpha', 3)).map((r) => r.value?.toString())).toContain(
      'v-alpha',
    );
  });

  it('keyless messages stick to one partition per batch and move round-robin between batches', async () => {
    await setup(3);
    const timers = new ManualTimers();
    const producer = new Producer(cluster, { timers, random: () => 0 });
    const partitionsUsed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = producer.send({ topic: 't', messages: [{ value: 'x' }, { value: 'y' }] });
      await eventually(() => lingerTimers(timers, 5) === 1, 'the linger timer');
      timers.fireSetFor(5);
      const r = await sent;
      expect(new Set(r.map((m) => m.partition)).size).toBe(1);
      partitionsUsed.push(r[0]!.partition);
    }
    expect(partitionsUsed).toEqual([0, 1, 2]);
  });

  it('acks=0 resolves with offset -1 and sends acks 0', async () => {
    await setup(1);
    const producer = new Producer(cluster, { lingerMs: 0 });
    const results = await producer.send({ topic: 't', acks: 0, messages: [{ value: 'fire-and-forget' }] });
    expect(results[0]!.offset).toBe(-1);
    await eventually(() => broker.records('t', 0).length === 1, 'the record to land');
    expect(produces()[0]!.acks).toBe(0);
  });

  it('gzip compression sets the codec bits and the broker-side records decode', async () => {
    await setup(1);
    const producer = new Producer(cluster, { lingerMs: 0, compression: 'gzip' });
    await producer.send({ topic: 't', messages: [{ value: 'zipped'.repeat(50) }] });
    const batch = batchesIn(produces()[0]!)[0]!;
    expect(readBatchHeader(batch).attributes & 0x07).toBe(1);
    expect(broker.records('t', 0)[0]?.value?.toString()).toBe('zipped'.repeat(50));
  });

  it('refuses a compression codec it cannot write (gzip bytes labelled "none" were once stored as empty values)', async () => {
    await setup(1);
    for (const compression of ['brotli', 'GZIP', 'xerial-snappy', ''] as unknown as Compression[]) {
      expect(() => new Producer(cluster, { compression })).toThrow(
        expect.objectContaining({
          code: 'UNSUPPORTED_COMPRESSION',
          message: expect.stringContaining('none, gzip, snappy, lz4, zstd'),
        }),
      );
    }
    expect(produces()).toHaveLength(0);
  });

  it('flush() waits until every batched message is acknowledged', async () => {
    await setup(1);
    const producer = new Producer(cluster, { lingerMs: 60_000 });
    const sent = producer.send({ topic: 't', messages: [{ value: '1' }, { value: '2' }] });
    await new Promise((r) => setTimeout(r, 20));
    expect(broker.records('t', 0)).toHaveLength(0);
    await producer.flush();
    expect(broker.records('t', 0)).toHaveLength(2);
    expect((await sent).map((r) => r.offset)).toEqual([0, 1]);
  });

  it('flush() also waits for a send still looking up metadata (its records not in a batch yet)', async () => {
    await setup(1);
    broker.handlers[ApiKey.Metadata] = async (body) => {
      await new Promise((r) => setTimeout(r, 100));
      return broker.metadata(body);
    };
    const producer = new Producer(cluster, { lingerMs: 60_000 });
    const sent = producer.send({ topic: 't', messages: [{ value: 'x' }] });
    await producer.flush();
    expect(broker.records('t', 0)).toHaveLength(1);
    expect((await sent).map((r) => r.offset)).toEqual([0]);
  });
});

describe('Producer retries', () => {
  it("a failed leader lookup holds back the partition's later batches, so they cannot overtake its retry", async () => {
    await setup(1);
    let produceCalls = 0;
    let bQueued = false;
    // The leader lookup of the next batch fails (a metadata refresh that found no leader); later lookups
    // in the same round succeed (a refresh from another broker), as on the standalone chaos runs.
    let failNextLookup = false;
    const lookup = cluster.leaderFor.bind(cluster);
    cluster.leaderFor = (topic: string, partition: number) => {
      if (!failNextLookup) return lookup(topic, partition);
      failNextLookup = false;
      return Promise.reject(new StreamBusError('LEADER_NOT_AVAILABLE', { operation: 'test.leaderFor' }));
    };
    broker.handlers[ApiKey.Produce] = async (body) => {
      produceCalls++;
      if (produceCalls > 1) return broker.produce(body);
      // A fails once B waits behind it.
      await eventually(() => bQueued, 'B queued behind A');
      failNextLookup = true;
      return failAll(body, 'NOT_LEADER');
    };
    const producer = new Producer(cluster, {
      idempotent: false,
      maxInFlightRequests: 1,
      lingerMs: 0,
      retryBackoffMs: 1,
      retryBackoffMaxMs: 1,
    });
    const a = producer.send({ topic: 't', messages: [{ value: 'A' }] });
    await eventually(() => produceCalls >= 1, 'the first request');
    const b = producer.send({ topic: 't', messages: [{ value: 'B' }] });
    await new Promise((r) => setTimeout(r, 20));
    bQueued = true;
    const [[aResult], [bResult]] = await Promise.all([a, b]);
    expect(aResult!.offset).toBeLessThan(bResult!.offset);
  });

  it('spends no retry while no leader is known (an election), and sends once one is', async () => {
    await setup(1);
    let lookupsFailing = 6;
    const lookup = cluster.leaderFor.bind(cluster);
    cluster.leaderFor = (topic: string, partition: number) =>
      lookupsFailing-- > 0
        ? Promise.reject(new StreamBusError('LEADER_NOT_AVAILABLE', { operation: 'test.leaderFor' }))
        : lookup(topic, partition);
    const producer = new Producer(cluster, {
      lingerMs: 0,
      retries: 1,
      retryBackoffMs: 1,
      retryBackoffMaxMs: 1,
    });
    const [result] = await producer.send({ topic: 't', messages: [{ value: 'x' }] });
    expect(result!.offset).toBe(0);
    expect(lookupsFailing).toBeLessThan(0);
    expect(produces()).toHaveLength(1);
  });

  it('waits for a leader no longer than the delivery timeout', async () => {
    await setup(1);
    cluster.leaderFor = () =>
      Promise.reject(new StreamBusError('LEADER_NOT_AVAILABLE', { operation: 'test.leaderFor' }));
    const producer = new Producer(cluster, {
      lingerMs: 0,
      retries: 1,
      retryBackoffMs: 5,
      retryBackoffMaxMs: 5,
      deliveryTimeoutMs: 200,
    });
    const failed = await producer.send({ topic: 't', messages: [{ value: 'x' }] }).then(
      () => undefined,
      (err: StreamBusError) => err,
    );
    expect(failed?.message).toMatch(/delivery timeout of 200 ms/);
    expect(produces()).toHaveLength(0);
  });

  it('retries NOT_LEADER with backoff, refreshing metadata, and then succeeds', async () => {
    await setup(1);
    let failuresLeft = 2;
    broker.handlers[ApiKey.Produce] = (body) => {
      if (failuresLeft-- > 0) {
        return failAll(body, 'NOT_LEADER');
      }
      return broker.produce(body);
    };
    const producer = new Producer(cluster, { lingerMs: 0, retryBackoffMs: 1, retryBackoffMaxMs: 2 });
    const metadataBefore = () => broker.requestsOf(ApiKey.Metadata).length;
    const results = await producer.send({ topic: 't', messages: [{ value: 'eventually' }] });
    expect(results[0]!.offset).toBe(0);
    expect(produces()).toHaveLength(3);
    expect(metadataBefore()).toBeGreaterThanOrEqual(2);
  });

  it('a retried batch keeps its place: newer batches of its partition do not overtake it', async () => {
    await setup(1);
    let calls = 0;
    broker.handlers[ApiKey.Produce] = async (body) => {
      calls++;
      if (calls === 1) {
        // The first request fails after the later sends are queued behind it.
        await new Promise((resolve) => setTimeout(resolve, 30));
        return failAll(body, 'NOT_LEADER');
      }
      return broker.produce(body);
    };
    const producer = new Producer(cluster, {
      lingerMs: 0,
      maxInFlightRequests: 1,
      retryBackoffMs: 20,
      retryBackoffMaxMs: 20,
    });
    const first = producer.send({ topic: 't', messages: [{ value: 'v0' }] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = [1, 2, 3, 4].map((i) => producer.send({ topic: 't', messages: [{ value: `v${i}` }] }));
    const offsets = (await Promise.all([first, ...later])).map((r) => r[0]!.offset);
    expect(offsets).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives up after `retries` retries with the last retriable error', async () => {
    await setup(1);
    broker.handlers[ApiKey.Produce] = () => {
      throw new StreamBusError('NOT_ENOUGH_REPLICAS');
    };
    const producer = new Producer(cluster, {
      lingerMs: 0,
      retries: 2,
      retryBackoffMs: 1,
      retryBackoffMaxMs: 1,
    });
    await expect(producer.send({ topic: 't', messages: [{ value: 'x' }] })).rejects.toMatchObject({
      code: 'NOT_ENOUGH_REPLICAS',
    });
    expect(produces()).toHaveLength(3);
  });

  it('by default rides out a failover longer than a handful of retries (Kafka-style delivery timeout)', async () => {
    await setup(1);
    let failuresLeft = 12;
    broker.handlers[ApiKey.Produce] = (body) => {
      if (failuresLeft-- > 0) return failAll(body, 'NOT_LEADER');
      return broker.produce(body);
    };
    const producer = new Producer(cluster, { lingerMs: 0, retryBackoffMs: 1, retryBackoffMaxMs: 2 });
    const [result] = await producer.send({ topic: 't', messages: [{ value: 'x' }] });
    expect(result!.offset).toBe(0);
    expect(produces()).toHaveLength(13);
  });

  it('fails a batch with its last error once its delivery timeout would pass before the next retry', async () => {
    await setup(1);
    broker.handlers[ApiKey.Produce] = (body) => failAll(body, 'NOT_LEADER');
    const producer = new Producer(cluster, {
      lingerMs: 0,
      retryBackoffMs: 5,
      retryBackoffMaxMs: 10,
      deliveryTimeoutMs: 200,
    });
    const failure = await producer.send({ topic: 't', messages: [{ value: 'x' }] }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StreamBusError);
    expect(failure).toMatchObject({ code: 'NOT_LEADER' });
    expect((failure as StreamBusError).message).toContain('delivery timeout of 200 ms');
    expect(produces().length).toBeGreaterThan(2);
  });

  it('does not retry a non-retriable error such as CORRUPT_BATCH', async () => {
    await setup(1);
    broker.handlers[ApiKey.Produce] = () => {
      throw new StreamBusError('CORRUPT_BATCH');
    };
    const producer = new Producer(cluster, { lingerMs: 0, retryBackoffMs: 1 });
    await expect(producer.send({ topic: 't', messages: [{ value: 'x' }] })).rejects.toMatchObject({
      code: 'CORRUPT_BATCH',
    });
    expect(produces()).toHaveLength(1);
  });

  it('sending to an unknown topic fails with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    await setup(1);
    const producer = new Producer(cluster, { lingerMs: 0 });
    await expect(producer.send({ topic: 'nope', messages: [{ value: 'x' }] })).rejects.toMatchObject({
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
  });

  it('survives the broker dropping the connection mid-stream (retry over a new connection)', async () => {
    await setup(1);
    let dropped = false;
    broker.handlers[ApiKey.Produce] = (body) => {
      if (!dropped) {
        dropped = true;
        broker.dropConnections();
        return broker.produce({ ...body, partitions: [] });
      }
      return broker.produce(body);
    };
    const producer = new Producer(cluster, { lingerMs: 0, retryBackoffMs: 1, retryBackoffMaxMs: 2 });
    const results = await producer.send({ topic: 't', messages: [{ value: 'x' }] });
    expect(results[0]!.offset).toBe(0);
  });
});

describe('Producer and topics created later', () => {
  it('a topic unknown at first send is found once it exists (cached "unknown" is re-checked)', async () => {
    await setup(1);
    const producer = new Producer(cluster, { lingerMs: 0 });
    await expect(producer.send({ topic: 'later', messages: [{ value: 'x' }] })).rejects.toMatchObject({
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    broker.createTopic('later', 1);
    expect((await producer.send({ topic: 'later', messages: [{ value: 'x' }] }))[0]!.offset).toBe(0);
  });
});
