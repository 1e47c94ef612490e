/**
 * CreatePartitions (growing a topic) on one in-process broker: the new partitions take writes at once, the
 * old ones keep their data, the count survives a restart, every refusal has its own code, and a consumer
 * group's leader notices the new partitions and hands them out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { batchOf, codeOf, connectTo } from '../helpers/wire.js';

let broker: InProcessBroker | undefined;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
  await broker?.destroy();
  broker = undefined;
});

async function start(overrides: Record<string, unknown> = {}): Promise<Connection> {
  broker = await startInProcessBroker(overrides);
  return connect();
}

async function connect(): Promise<Connection> {
  const conn = await connectTo(broker!);
  closers.push(() => conn.close());
  return conn;
}

async function createTopic(conn: Connection, name: string, partitions: number): Promise<void> {
  const res = await conn.request(ApiKey.CreateTopics, {
    topics: [{ name, partitions, replicationFactor: 1, configs: {} }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  expect(codeOf(res.topics[0]!.error)).toBeNull();
}

async function grow(conn: Connection, counts: Record<string, number>, validateOnly = false) {
  const res = await conn.request(ApiKey.CreatePartitions, {
    topics: Object.entries(counts).map(([name, count]) => ({ name, count })),
    timeoutMs: 5_000,
    validateOnly,
  });
  return res.topics.map((t) => ({ name: t.name, code: codeOf(t.error) }));
}

async function partitionCount(conn: Connection, topic: string): Promise<number> {
  const md = await conn.request(ApiKey.Metadata, { topics: [topic] });
  return md.topics[0]!.partitions.length;
}

async function produce(conn: Connection, topic: string, partition: number, values: string[]) {
  const res = await conn.request(ApiKey.Produce, {
    acks: -1,
    timeoutMs: 5_000,
    partitions: [{ topic, partition, records: batchOf(values) }],
  });
  const r = res.partitions[0]!;
  return { code: codeOf(r.error), baseOffset: r.baseOffset };
}

async function highWatermarks(conn: Connection, topic: string): Promise<number[]> {
  const [d] = (await conn.request(ApiKey.DescribeTopics, { topics: [topic] })).topics;
  return d!.partitions.map((p) => p.highWatermark);
}

describe('CreatePartitions on one broker', () => {
  it('adds partitions that take writes at once; existing partitions keep their data; the count survives a restart', async () => {
    let conn = await start();
    await createTopic(conn, 'grow', 2);
    expect((await produce(conn, 'grow', 1, ['a', 'b', 'c'])).code).toBeNull();
    expect(await produce(conn, 'grow', 2, ['x'])).toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' });

    expect(await grow(conn, { grow: 5 })).toEqual([{ name: 'grow', code: null }]);
    expect(await partitionCount(conn, 'grow')).toBe(5);
    expect((await conn.request(ApiKey.ListTopics, {})).topics).toContainEqual({
      name: 'grow',
      partitions: 5,
      internal: false,
    });
    expect(await produce(conn, 'grow', 4, ['new'])).toEqual({ code: null, baseOffset: 0 });
    expect(await highWatermarks(conn, 'grow')).toEqual([0, 3, 0, 0, 1]);

    await broker!.stop();
    broker = await startInProcessBroker({}, broker!.dataDir);
    conn = await connect();
    expect(await partitionCount(conn, 'grow')).toBe(5);
    expect(await highWatermarks(conn, 'grow')).toEqual([0, 3, 0, 0, 1]);
  });

  it('refuses what cannot be done, each with its own code, and one bad topic does not fail the others', async () => {
    const conn = await start();
    await createTopic(conn, 'three', 3);
    await createTopic(conn, 'other', 1);
    expect(await grow(conn, { three: 3, other: 2, missing: 4, __consumer_offsets: 60 })).toEqual([
      { name: 'three', code: 'INVALID_PARTITIONS' }, // not more than now: partitions are never removed
      { name: 'other', code: null },
      { name: 'missing', code: 'UNKNOWN_TOPIC_OR_PARTITION' },
      { name: '__consumer_offsets', code: 'INTERNAL_TOPIC' },
    ]);
    expect(await grow(conn, { three: 2 })).toEqual([{ name: 'three', code: 'INVALID_PARTITIONS' }]);
    expect(await grow(conn, { three: 10_001 })).toEqual([{ name: 'three', code: 'INVALID_PARTITIONS' }]);
    expect(await partitionCount(conn, 'three')).toBe(3);
    expect(await partitionCount(conn, 'other')).toBe(2);
  });

  it('validateOnly checks the change and makes none', async () => {
    const conn = await start();
    await createTopic(conn, 'checked', 1);
    expect(await grow(conn, { checked: 4 }, true)).toEqual([{ name: 'checked', code: null }]);
    expect(await grow(conn, { checked: 1 }, true)).toEqual([{ name: 'checked', code: 'INVALID_PARTITIONS' }]);
    expect(await partitionCount(conn, 'checked')).toBe(1);
  });

  it('a folder left in the data dir under a new partition name does not become its data', async () => {
    // A leftover (a failed delete of an older topic of the same name) must not resurface as this topic's.
    const conn = await start();
    await createTopic(conn, 'stale', 1);
    const leftover = join(broker!.dataDir, 'stale-1');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, '00000000000000000000.log'), Buffer.alloc(4096, 0xab));
    expect(await grow(conn, { stale: 2 })).toEqual([{ name: 'stale', code: null }]);
    expect(await produce(conn, 'stale', 1, ['fresh'])).toEqual({ code: null, baseOffset: 0 });
  });
});

describe('CreatePartitions through the SDK', () => {
  function client(): StreamBusClient {
    // Metadata refreshed often, so the group leader sees the new partitions within the test.
    const c = createClient({ bootstrap: broker!.bootstrap, requestTimeoutMs: 10_000, metadataMaxAgeMs: 200 });
    closers.push(() => c.close());
    return c;
  }

  it("admin.createPartitions grows topics; a group's leader notices and the new partitions get owners", async () => {
    await start({ 'groups.initial_rebalance_delay': 100, 'groups.offsets_partitions': 3 });
    const admin = client().admin();
    await admin.createTopic({ name: 'orders', partitions: 2 });
    const group = {
      groupId: 'grow',
      sessionTimeoutMs: 3_000,
      heartbeatIntervalMs: 200,
      rebalanceTimeoutMs: 5_000,
    };
    const members = [0, 1].map(() =>
      client().consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100, group }),
    );
    for (const m of members) m.subscribe(['orders']);
    const owned = () =>
      members
        .flatMap((m) => m.assignment().map((p) => p.partition))
        .sort()
        .join();
    const pollUntil = async (done: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out; owned ${owned()}`);
        await Promise.all(members.map((m) => m.poll({ signal: AbortSignal.timeout(200) })));
      }
    };
    await pollUntil(() => owned() === '0,1');

    expect(await admin.createPartitions({ orders: 4, nope: 3 })).toEqual([
      { name: 'orders', error: null },
      { name: 'nope', error: expect.objectContaining({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }) },
    ]);
    expect((await admin.listTopics()).find((t) => t.name === 'orders')?.partitions).toBe(4);
    await pollUntil(() => owned() === '0,1,2,3');

    // A producer picks the new partitions up too: a message sent to partition 3 lands there.
    const producer = client().producer({ lingerMs: 0 });
    const [sent] = await producer.send({ topic: 'orders', messages: [{ value: 'p3', partition: 3 }] });
    expect(sent).toMatchObject({ partition: 3, offset: 0 });
  });

  it('an assignment on one broker may only name it: accepted for itself, INVALID_REPLICA_ASSIGNMENT otherwise', async () => {
    await start();
    const admin = client().admin();
    await admin.createTopic({ name: 'mine', assignments: [[1], [1]] });
    const count = async (name: string) => (await admin.listTopics()).find((t) => t.name === name)?.partitions;
    expect(await count('mine')).toBe(2);
    await expect(admin.createTopic({ name: 'theirs', assignments: [[2]] })).rejects.toMatchObject({
      code: 'INVALID_REPLICA_ASSIGNMENT',
      message: expect.stringContaining('names broker 2, which is not in the cluster (brokers: 1)'),
    });
    expect(await count('theirs')).toBeUndefined();
    expect(await admin.createPartitions({ mine: { count: 3, assignments: [[1]] } })).toEqual([
      { name: 'mine', error: null },
    ]);
    // Two partitions added, one list.
    expect(await admin.createPartitions({ mine: { count: 5, assignments: [[1]] } })).toEqual([
      { name: 'mine', error: expect.objectContaining({ code: 'INVALID_REPLICA_ASSIGNMENT' }) },
    ]);
    expect(await count('mine')).toBe(3);
  });

  it('a consumer assigned a whole topic (no group) reads partitions added later, from their beginning', async () => {
    await start();
    const admin = client().admin();
    await admin.createTopic({ name: 'tail', partitions: 1 });
    // Tailing from the end (autoOffsetReset latest), as `streambus consume TOPIC` does.
    const consumer = client().consumer({ autoOffsetReset: 'latest', maxWaitMs: 50 });
    await consumer.assign([{ topic: 'tail' }]);
    await consumer.seekToEnd();
    expect(consumer.assignment()).toEqual([{ topic: 'tail', partition: 0 }]);
    await admin.createPartitions({ tail: 2 });
    // Written to the new partition before the consumer's metadata shows it: still read.
    const producer = client().producer({ lingerMs: 0 });
    await producer.send({ topic: 'tail', messages: ['n1', 'n2'].map((value) => ({ value, partition: 1 })) });
    const seen: string[] = [];
    const deadline = Date.now() + 10_000;
    while (seen.length < 2 && Date.now() < deadline) {
      for (const m of await consumer.poll()) seen.push(`${m.partition}:${String(m.value)}`);
    }
    expect(seen).toEqual(['1:n1', '1:n2']);
    expect(
      consumer
        .assignment()
        .map((p) => p.partition)
        .sort(),
    ).toEqual([0, 1]);
  });
});
