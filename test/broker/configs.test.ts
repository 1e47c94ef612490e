/**
 * DescribeConfigs and AlterConfigs on a standalone broker, through the SDK's Admin: effective values with
 * their source, incremental set and delete persisted in topics.json across a restart, validation errors per
 * resource, validateOnly, the refused cluster level, and a change that reaches the running partition (a
 * lowered retention deletes old segments at the next retention run).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { type ConfigEntry, createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { DEFAULT_LOG_CONFIG } from '../../src/storage/config.js';
import { tempDir } from '../helpers/broker-process.js';
import { until } from '../helpers/cluster-processes.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { batchOf, codeOf, connectTo } from '../helpers/wire.js';

let b: InProcessBroker | undefined;
let client: StreamBusClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await b?.destroy();
  b = undefined;
});

async function start(overrides: Record<string, unknown> = {}, dataDir = tempDir()) {
  b = await startInProcessBroker(overrides, dataDir);
  client = createClient({ bootstrap: b.bootstrap });
  return client.admin();
}

const entry = (entries: ConfigEntry[], key: string) => entries.find((e) => e.key === key);

describe('DescribeConfigs / AlterConfigs on a standalone broker', () => {
  test('describe reports every topic-level key with its value and source; alter sets and deletes incrementally and survives a restart', async () => {
    const dataDir = tempDir();
    let admin = await start({ 'storage.retention_ms': 3_600_000 }, dataDir);
    await admin.createTopic({ name: 'cfg', partitions: 2, configs: { segment_ms: '60000' } });

    const before = await admin.describeConfig({ type: 'topic', name: 'cfg' });
    expect(before.map((e) => e.key)).toEqual([...before.map((e) => e.key)].sort());
    expect(entry(before, 'segment_ms')).toEqual({ key: 'segment_ms', value: '60000', source: 'topic' });
    expect(entry(before, 'retention_ms')).toEqual({
      key: 'retention_ms',
      value: '3600000',
      source: 'default',
    });
    expect(entry(before, 'flush_policy')).toEqual({
      key: 'flush_policy',
      value: DEFAULT_LOG_CONFIG.flushPolicy,
      source: 'default',
    });
    expect(entry(before, 'min_insync_replicas')).toEqual({
      key: 'min_insync_replicas',
      value: '1',
      source: 'default',
    });

    await admin.alterConfig(
      { type: 'topic', name: 'cfg' },
      { set: { retention_ms: '120000' }, delete: ['segment_ms'] },
    );
    const after = await admin.describeConfig({ type: 'topic', name: 'cfg' });
    expect(entry(after, 'retention_ms')).toEqual({ key: 'retention_ms', value: '120000', source: 'topic' });
    expect(entry(after, 'segment_ms')?.source).toBe('default');
    expect((await admin.describeTopics(['cfg']))[0]?.configs).toEqual({ retention_ms: '120000' });

    await client?.close();
    await b?.stop();
    admin = await start({ 'storage.retention_ms': 3_600_000 }, dataDir);
    const restarted = await admin.describeConfig({ type: 'topic', name: 'cfg' });
    expect(entry(restarted, 'retention_ms')).toEqual({
      key: 'retention_ms',
      value: '120000',
      source: 'topic',
    });
  });

  test('unknown keys, bad values, unknown and internal topics fail per resource; validateOnly changes nothing', async () => {
    const admin = await start();
    await admin.createTopic({ name: 'cfg' });
    const outcomes = await admin.alterConfigs([
      { type: 'topic', name: 'cfg', set: { retention_msec: '1' } },
      { type: 'topic', name: 'cfg', set: { retention_ms: 'forever' } },
      { type: 'topic', name: 'cfg', delete: ['nope'] },
      { type: 'topic', name: 'missing', set: { retention_ms: '1000' } },
      { type: 'topic', name: '__consumer_offsets', set: { retention_ms: '1000' } },
      { type: 'topic', name: 'cfg', set: { segment_bytes: '4096' } },
    ]);
    expect(outcomes.map((o) => o.error?.code ?? null)).toEqual([
      'INVALID_TOPIC_CONFIG',
      'INVALID_TOPIC_CONFIG',
      'INVALID_TOPIC_CONFIG',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'INTERNAL_TOPIC',
      null,
    ]);
    expect(outcomes[0]?.error?.message).toContain('retention_msec');
    expect(outcomes[1]?.error?.message).toContain('retention_ms');

    await admin.alterConfig(
      { type: 'topic', name: 'cfg' },
      { set: { retention_ms: '1000' } },
      { validateOnly: true },
    );
    expect(entry(await admin.describeConfig({ type: 'topic', name: 'cfg' }), 'retention_ms')?.source).toBe(
      'default',
    );
    const [missing] = await admin.describeConfigs([{ type: 'topic', name: 'missing' }]);
    expect(missing?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(missing?.entries).toEqual([]);
  });

  test('the cluster level: described as the broker defaults, altering it is refused (no cluster mode)', async () => {
    const admin = await start({ 'storage.segment_bytes': 2_097_152 });
    const cluster = await admin.describeConfig({ type: 'cluster', name: '' });
    expect(entry(cluster, 'segment_bytes')).toEqual({
      key: 'segment_bytes',
      value: '2097152',
      source: 'default',
    });
    expect(cluster.every((e) => e.source === 'default')).toBe(true);
    const [outcome] = await admin.alterConfigs([
      { type: 'cluster', name: '', set: { retention_ms: '1000' } },
    ]);
    expect(outcome?.error?.code).toBe('INVALID_REQUEST');
    expect(outcome?.error?.message).toContain('cluster mode');
  });

  test('a lowered retention_ms reaches the running partition: the next retention run deletes its old segments', async () => {
    const admin = await start({ 'storage.retention_check_interval_ms': 100 });
    await admin.createTopic({ name: 'ret', configs: { segment_bytes: '1024' } });
    const conn = await connectTo(b!);
    for (let i = 0; i < 20; i++) {
      const res = await conn.request(ApiKey.Produce, {
        acks: -1,
        timeoutMs: 5_000,
        partitions: [{ topic: 'ret', partition: 0, records: batchOf([`${i}`.padEnd(200, 'x')]) }],
      });
      expect(codeOf(res.partitions[0]!.error)).toBeNull();
    }
    const logStart = async () => (await admin.describeTopics(['ret']))[0]!.partitions[0]!.logStartOffset;
    // Several retention runs with the default (7 days) keep everything.
    await new Promise((r) => setTimeout(r, 400));
    expect(await logStart()).toBe(0);

    await admin.alterConfig({ type: 'topic', name: 'ret' }, { set: { retention_ms: '1' } });
    const newStart = await until('retention to delete old segments', async () => {
      const s = await logStart();
      return s > 0 ? s : undefined;
    });
    expect(newStart).toBeGreaterThan(0);
    await conn.close();
  });
});
