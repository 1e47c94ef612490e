/**
 * Topic APIs (CreateTopics, ListTopics, DescribeTopics, DeleteTopics), Metadata and ApiVersions against an
 * in-process broker, through the SDK's raw Connection: each API's happy path and each of its error codes.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { API_REGISTRY, ApiKey, type CreateTopicSpec } from '../../src/protocol/index.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { batchOf, codeOf, connectTo, rejectionCode } from '../helpers/wire.js';

let b: InProcessBroker;
let conn: Connection;

beforeAll(async () => {
  b = await startInProcessBroker();
  conn = await connectTo(b);
});
afterAll(async () => {
  await conn?.close();
  await b?.destroy();
});

function spec(name: string, over: Partial<CreateTopicSpec> = {}): CreateTopicSpec {
  return { name, partitions: 1, replicationFactor: 1, configs: {}, ...over };
}

async function create(specs: CreateTopicSpec[], validateOnly = false) {
  const res = await conn.request(ApiKey.CreateTopics, { topics: specs, timeoutMs: 5_000, validateOnly });
  return res.topics.map((t) => ({ name: t.name, code: codeOf(t.error) }));
}

async function produceTo(topic: string, partition: number, values: string[]): Promise<number> {
  const res = await conn.request(ApiKey.Produce, {
    acks: -1,
    timeoutMs: 5_000,
    partitions: [{ topic, partition, records: batchOf(values) }],
  });
  const r = res.partitions[0]!;
  expect(codeOf(r.error)).toBeNull();
  return r.baseOffset;
}

async function topicNames(): Promise<string[]> {
  return (await conn.request(ApiKey.ListTopics, {})).topics.map((t) => t.name);
}

describe('CreateTopics', () => {
  test('creates a topic with the requested partitions and configs, visible to ListTopics and Describe', async () => {
    expect(await create([spec('ct-happy', { partitions: 3, configs: { retention_ms: '60000' } })])).toEqual([
      { name: 'ct-happy', code: null },
    ]);
    const listed = (await conn.request(ApiKey.ListTopics, {})).topics.find((t) => t.name === 'ct-happy');
    expect(listed).toEqual({ name: 'ct-happy', partitions: 3, internal: false });
    const [d] = (await conn.request(ApiKey.DescribeTopics, { topics: ['ct-happy'] })).topics;
    expect(d?.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(d?.configs).toEqual({ retention_ms: '60000' });
  });

  test('replication factor -1 means the broker default and is accepted on one broker', async () => {
    expect(await create([spec('ct-rf-default', { replicationFactor: -1 })])).toEqual([
      { name: 'ct-rf-default', code: null },
    ]);
  });

  test('validateOnly checks the spec but creates nothing', async () => {
    expect(await create([spec('ct-validate-only', { partitions: 2 })], true)).toEqual([
      { name: 'ct-validate-only', code: null },
    ]);
    expect(await topicNames()).not.toContain('ct-validate-only');
    // validateOnly still reports errors
    expect(await create([spec('ct-validate-only', { partitions: 0 })], true)).toEqual([
      { name: 'ct-validate-only', code: 'INVALID_PARTITIONS' },
    ]);
  });

  test('creating an existing topic answers TOPIC_ALREADY_EXISTS and leaves it unchanged', async () => {
    await create([spec('ct-dup', { partitions: 2 })]);
    expect(await create([spec('ct-dup', { partitions: 5 })])).toEqual([
      { name: 'ct-dup', code: 'TOPIC_ALREADY_EXISTS' },
    ]);
    expect(await create([spec('ct-dup')], true)).toEqual([{ name: 'ct-dup', code: 'TOPIC_ALREADY_EXISTS' }]);
    const [d] = (await conn.request(ApiKey.DescribeTopics, { topics: ['ct-dup'] })).topics;
    expect(d?.partitions).toHaveLength(2);
  });

  test.each([
    ['empty', ''],
    ['slash', 'a/b'],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['space', 'has space'],
    ['too long', 'x'.repeat(250)],
  ])('an invalid topic name (%s) answers INVALID_TOPIC_NAME', async (_label, name) => {
    expect(await create([spec(name)])).toEqual([{ name, code: 'INVALID_TOPIC_NAME' }]);
  });

  test.each([0, -1, 10_001])('partitions %s answers INVALID_PARTITIONS', async (partitions) => {
    expect(await create([spec('ct-bad-partitions', { partitions })])).toEqual([
      { name: 'ct-bad-partitions', code: 'INVALID_PARTITIONS' },
    ]);
  });

  // The broker's INVALID_REQUEST reaches the caller as such, not as MALFORMED_FRAME ("the broker sent
  // garbage"), so SDK users can tell their mistake from a broken peer.
  test('a non-integer partition count fails the request with INVALID_REQUEST as seen by the SDK', async () => {
    expect(await rejectionCode(create([spec('ct-fraction', { partitions: 1.5 })]))).toBe('INVALID_REQUEST');
  });

  test('a non-integer partition count is refused and creates nothing', async () => {
    const code = await rejectionCode(create([spec('ct-fraction2', { partitions: 1.5 })]));
    expect(['INVALID_REQUEST', 'MALFORMED_FRAME']).toContain(code);
    expect(await topicNames()).not.toContain('ct-fraction2');
  });

  test('replication factor 3 on a one-broker cluster answers INVALID_REPLICATION_FACTOR', async () => {
    expect(await create([spec('ct-rf3', { replicationFactor: 3 })])).toEqual([
      { name: 'ct-rf3', code: 'INVALID_REPLICATION_FACTOR' },
    ]);
    expect(await create([spec('ct-rf0', { replicationFactor: 0 })])).toEqual([
      { name: 'ct-rf0', code: 'INVALID_REPLICATION_FACTOR' },
    ]);
    expect(await topicNames()).not.toContain('ct-rf3');
  });

  test.each([
    ['unknown key', { no_such_key: '1' }],
    ['non-numeric value', { retention_ms: 'soon' }],
    ['value below the minimum', { segment_bytes: '10' }],
    ['bad flush policy', { flush_policy: 'sometimes' }],
  ])('a bad topic config (%s) answers INVALID_TOPIC_CONFIG', async (_label, configs) => {
    expect(await create([spec('ct-bad-config', { configs })])).toEqual([
      { name: 'ct-bad-config', code: 'INVALID_TOPIC_CONFIG' },
    ]);
    expect(await topicNames()).not.toContain('ct-bad-config');
  });

  test('one bad spec in a request does not fail the others', async () => {
    expect(
      await create([spec('ct-mixed-ok'), spec('ct mixed bad'), spec('ct-mixed-ok2', { partitions: 2 })]),
    ).toEqual([
      { name: 'ct-mixed-ok', code: null },
      { name: 'ct mixed bad', code: 'INVALID_TOPIC_NAME' },
      { name: 'ct-mixed-ok2', code: null },
    ]);
  });
});

describe('ListTopics', () => {
  test('lists every topic sorted by name with its partition count', async () => {
    await create([spec('lt-b', { partitions: 2 }), spec('lt-a', { partitions: 4 })]);
    const topics = (await conn.request(ApiKey.ListTopics, {})).topics;
    const names = topics.map((t) => t.name);
    expect(names).toEqual([...names].sort());
    expect(topics.filter((t) => t.name.startsWith('lt-'))).toEqual([
      { name: 'lt-a', partitions: 4, internal: false },
      { name: 'lt-b', partitions: 2, internal: false },
    ]);
  });
});

describe('DescribeTopics', () => {
  test('reports per-partition log start, high watermark, size and the single broker as leader', async () => {
    await create([spec('dt-offsets', { partitions: 2 })]);
    await produceTo('dt-offsets', 0, ['a', 'b', 'c']);
    await produceTo('dt-offsets', 0, ['d']);
    const [d] = (await conn.request(ApiKey.DescribeTopics, { topics: ['dt-offsets'] })).topics;
    expect(codeOf(d!.error)).toBeNull();
    const [p0, p1] = d!.partitions;
    expect(p0).toMatchObject({
      partition: 0,
      logStartOffset: 0,
      highWatermark: 4,
      leaderId: 1,
      replicas: [1],
    });
    expect(p0!.sizeBytes).toBeGreaterThan(0);
    expect(p1).toMatchObject({ partition: 1, logStartOffset: 0, highWatermark: 0, isr: [1] });
  });

  test('an unknown topic gets an UNKNOWN_TOPIC_OR_PARTITION entry, known ones still described', async () => {
    await create([spec('dt-known')]);
    const res = await conn.request(ApiKey.DescribeTopics, { topics: ['dt-missing', 'dt-known'] });
    expect(res.topics.map((t) => [t.name, codeOf(t.error)])).toEqual([
      ['dt-missing', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['dt-known', null],
    ]);
    expect(res.topics[0]!.partitions).toEqual([]);
  });

  test('an empty topic list describes every topic', async () => {
    const res = await conn.request(ApiKey.DescribeTopics, { topics: [] });
    expect(res.topics.map((t) => t.name).sort()).toEqual((await topicNames()).sort());
  });
});

describe('DeleteTopics', () => {
  test('deletes a topic: gone from ListTopics and Metadata, its folders removed', async () => {
    await create([spec('del-happy', { partitions: 2 })]);
    await produceTo('del-happy', 1, ['x']);
    const res = await conn.request(ApiKey.DeleteTopics, { topics: ['del-happy'], timeoutMs: 5_000 });
    expect(res.topics.map((t) => [t.name, codeOf(t.error)])).toEqual([['del-happy', null]]);
    expect(await topicNames()).not.toContain('del-happy');
    const md = await conn.request(ApiKey.Metadata, { topics: ['del-happy'] });
    expect(codeOf(md.topics[0]!.error)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    const leftovers = existsSync(b.dataDir)
      ? findPaths(b.dataDir).filter((p) => p.includes('del-happy'))
      : [];
    expect(leftovers).toEqual([]);
  });

  test('deleting an unknown topic answers UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const res = await conn.request(ApiKey.DeleteTopics, { topics: ['del-missing'], timeoutMs: 5_000 });
    expect(res.topics.map((t) => [t.name, codeOf(t.error)])).toEqual([
      ['del-missing', 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]);
  });

  test('data is gone after delete: a re-created topic starts empty at offset 0', async () => {
    await create([spec('del-recreate')]);
    expect(await produceTo('del-recreate', 0, ['old-1', 'old-2', 'old-3'])).toBe(0);
    await conn.request(ApiKey.DeleteTopics, { topics: ['del-recreate'], timeoutMs: 5_000 });
    expect(await create([spec('del-recreate')])).toEqual([{ name: 'del-recreate', code: null }]);
    const [d] = (await conn.request(ApiKey.DescribeTopics, { topics: ['del-recreate'] })).topics;
    expect(d!.partitions[0]).toMatchObject({ logStartOffset: 0, highWatermark: 0 });
    expect(await produceTo('del-recreate', 0, ['new'])).toBe(0);
    const fetched = await conn.request(ApiKey.Fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      partitions: [{ topic: 'del-recreate', partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
    });
    const records = fetched.partitions[0]!.records;
    expect(records.includes(Buffer.from('new'))).toBe(true);
    expect(records.includes(Buffer.from('old-1'))).toBe(false);
  });
});

describe('Metadata', () => {
  test('null topics lists every topic with the one broker leading every partition', async () => {
    await create([spec('md-all', { partitions: 3 })]);
    const md = await conn.request(ApiKey.Metadata, { topics: null });
    expect(md.topics.map((t) => t.name).sort()).toEqual((await topicNames()).sort());
    const t = md.topics.find((x) => x.name === 'md-all')!;
    expect(codeOf(t.error)).toBeNull();
    expect(t.partitions.map((p) => [p.partition, p.leaderId, p.replicas, p.isr])).toEqual([
      [0, 1, [1], [1]],
      [1, 1, [1], [1]],
      [2, 1, [1], [1]],
    ]);
    expect(md.controllerId).toBe(1);
    expect(md.clusterId.length).toBeGreaterThan(0);
  });

  test('the broker list carries the port the broker actually listens on (configured as :0)', async () => {
    const md = await conn.request(ApiKey.Metadata, { topics: [] });
    expect(md.brokers).toHaveLength(1);
    expect(md.brokers[0]).toMatchObject({ id: 1, port: b.port });
    expect(md.brokers[0]!.port).not.toBe(0);
    expect(md.topics).toEqual([]);
  });

  test('named topics: known ones described, an unknown one gets an UNKNOWN_TOPIC_OR_PARTITION entry', async () => {
    await create([spec('md-named', { partitions: 2 })]);
    const md = await conn.request(ApiKey.Metadata, { topics: ['md-named', 'md-missing'] });
    expect(md.topics.map((t) => [t.name, codeOf(t.error), t.partitions.length])).toEqual([
      ['md-named', null, 2],
      ['md-missing', 'UNKNOWN_TOPIC_OR_PARTITION', 0],
    ]);
  });

  test('the cluster id is stable across a restart on the same data dir', async () => {
    const other = await startInProcessBroker();
    try {
      const c1 = await connectTo(other);
      const before = (await c1.request(ApiKey.Metadata, { topics: [] })).clusterId;
      await c1.close();
      await other.stop();
      const again = await startInProcessBroker({}, other.dataDir);
      const c2 = await connectTo(again);
      expect((await c2.request(ApiKey.Metadata, { topics: [] })).clusterId).toBe(before);
      await c2.close();
      await again.destroy();
    } finally {
      await other.destroy();
    }
  });
});

describe('ApiVersions', () => {
  test('lists every API in the registry with its version range and the broker version', async () => {
    const res = await conn.request(ApiKey.ApiVersions, {});
    const expected = Object.values(API_REGISTRY).map((e) => ({
      apiKey: e.apiKey,
      minVersion: e.minVersion,
      maxVersion: e.maxVersion,
    }));
    expect([...res.apis].sort((x, y) => x.apiKey - y.apiKey)).toEqual(expected);
    expect(res.apis.map((a) => a.apiKey).sort()).toEqual(Object.values(ApiKey).sort());
    expect(res.brokerVersion).toMatch(/^\d+\.\d+\.\d+/);
  });
});

function findPaths(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    out.push(path);
    if (entry.isDirectory()) out.push(...findPaths(path));
  }
  return out;
}
