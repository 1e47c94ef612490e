import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { DEFAULT_STORAGE_CONFIG, type StorageConfig } from '../../src/storage/config.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { batchOf, ManualClock, readAll, TestFs, tempDir } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const managers: LogManager[] = [];

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await Promise.allSettled(managers.splice(0).map((m) => m.close()));
  await dir.cleanup();
});

function storageConfig(overrides: Partial<StorageConfig> = {}): StorageConfig {
  return { ...DEFAULT_STORAGE_CONFIG, dataDir: dir.path, ...overrides };
}

async function open(overrides: Partial<StorageConfig> = {}, fs?: TestFs) {
  const m = await LogManager.open(storageConfig(overrides), {
    clock: new ManualClock(),
    randomId: () => 'cluster-1',
    ...(fs ? { fs } : {}),
  });
  managers.push(m);
  return m;
}

async function codeOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    return isStreamBusError(err) ? err.code : err;
  }
}

describe('LogManager', () => {
  it("names only entries it does not know as stray: a single node's client quota file and its reserve are known", async () => {
    const warnings: Record<string, unknown>[] = [];
    const logger = { info() {}, error() {}, warn: (obj: Record<string, unknown>) => warnings.push(obj) };
    for (const name of ['client-quotas.json', 'client-quotas.json.reserve', 'leftover']) {
      await writeFile(join(dir.path, name), '');
    }
    managers.push(
      await LogManager.open(storageConfig(), { clock: new ManualClock(), randomId: () => 'c', logger }),
    );
    expect(warnings.map((w) => w.stray)).toEqual([['leftover']]);
  });

  it('creates, lists, serves, deletes topics and keeps them across reopen', async () => {
    const m = await open();
    expect(m.clusterId).toBe('cluster-1');
    await m.createTopic('orders', 3, { retention_ms: '60000' });
    await m.createTopic('audit.log_v2', 1);
    expect(m.listTopics().map((t) => [t.name, t.partitions])).toEqual([
      ['audit.log_v2', 1],
      ['orders', 3],
    ]);
    expect(m.topic('orders')?.configs).toEqual({ retention_ms: '60000' });
    expect(m.partition('orders', 2).config.retentionMs).toBe(60000);
    expect(m.partition('orders', 2).config.segmentBytes).toBe(DEFAULT_STORAGE_CONFIG.segmentBytes);
    await m.partition('orders', 1).append(batchOf(['hello']));
    expect((await readdir(dir.path)).sort()).toEqual(
      [
        '.lock',
        'audit.log_v2-0',
        'orders-0',
        'orders-1',
        'orders-2',
        'topics.json',
        'topics.json.reserve',
      ].sort(),
    );
    await m.close();

    const again = await open();
    expect(again.clusterId).toBe('cluster-1');
    expect(again.listTopics().map((t) => t.name)).toEqual(['audit.log_v2', 'orders']);
    expect((await readAll(again.partition('orders', 1))).map((r) => r.value)).toEqual(['hello']);
    await again.deleteTopic('orders');
    expect(again.topic('orders')).toBeUndefined();
    expect(await readdir(dir.path)).not.toContain('orders-1');
    await again.close();
    const third = await open();
    expect(third.listTopics().map((t) => t.name)).toEqual(['audit.log_v2']);
  });

  it('rejects bad names, partition counts, configs, duplicates and unknown topics with their own codes', async () => {
    const m = await open();
    await m.createTopic('t', 1);
    expect(await codeOf(() => m.createTopic('t', 1))).toBe('TOPIC_ALREADY_EXISTS');
    for (const bad of ['', '.', '..', 'a/b', 'spaces here', 'x'.repeat(250), 'é']) {
      expect(await codeOf(() => m.createTopic(bad, 1))).toBe('INVALID_TOPIC_NAME');
    }
    expect(await codeOf(() => m.createTopic('x'.repeat(249), 1))).toBeUndefined();
    for (const bad of [0, -1, 1.5, Number.NaN, 100_000]) {
      expect(await codeOf(() => m.createTopic('p', bad))).toBe('INVALID_PARTITIONS');
    }
    expect(await codeOf(() => m.createTopic('c', 1, { retention_ms: 'soon' }))).toBe('INVALID_TOPIC_CONFIG');
    expect(await codeOf(() => m.createTopic('c', 1, { no_such_key: '1' }))).toBe('INVALID_TOPIC_CONFIG');
    expect(await codeOf(() => m.createTopic('c', 1, { flush_policy: 'sometimes' }))).toBe(
      'INVALID_TOPIC_CONFIG',
    );
    expect(await codeOf(() => m.deleteTopic('missing'))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await codeOf(() => m.partition('t', 1))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await codeOf(() => m.partition('missing', 0))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(m.listTopics().map((t) => t.name)).toEqual(['t', 'x'.repeat(249)]);
  });

  it('layers topic overrides over broker defaults', async () => {
    const m = await open({ segmentBytes: 4096, flushPolicy: 'never' });
    await m.createTopic('a', 1, { segment_bytes: 2048, flush_policy: 'always', max_message_bytes: '500' });
    await m.createTopic('b', 1);
    expect(m.partition('a', 0).config).toMatchObject({
      segmentBytes: 2048,
      flushPolicy: 'always',
      batchBytesMax: 500,
    });
    expect(m.partition('b', 0).config).toMatchObject({ segmentBytes: 4096, flushPolicy: 'never' });
    expect(m.topic('a')?.configs).toEqual({
      segment_bytes: '2048',
      flush_policy: 'always',
      max_message_bytes: '500',
    });
  });

  it('locks the data dir against a second manager until closed', async () => {
    const m = await open();
    expect(await codeOf(() => open())).toBe('STORAGE_ERROR');
    await m.close();
    const second = await open();
    expect(second.listTopics()).toEqual([]);
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    await mkdir(dir.path, { recursive: true });
    await writeFile(join(dir.path, '.lock'), '999999999\n');
    const m = await open();
    expect((await readFile(join(dir.path, '.lock'), 'utf8')).trim()).toBe(String(process.pid));
    await m.close();
  });

  it('writes topics.json atomically: a failed write leaves the previous file and no topic', async () => {
    const fs = new TestFs();
    const m = await open({}, fs);
    await m.createTopic('kept', 1);
    const before = await readFile(join(dir.path, 'topics.json'), 'utf8');
    const original = fs.writeFileAtomic;
    fs.writeFileAtomic = async () => {
      throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
    };
    expect(await codeOf(() => m.createTopic('lost', 2))).toBeInstanceOf(Error);
    expect(m.topic('lost')).toBeUndefined();
    expect(await readdir(dir.path)).not.toContain('lost-0');
    expect(await codeOf(() => m.deleteTopic('kept'))).toBeInstanceOf(Error);
    expect(m.topic('kept')).toBeDefined();
    fs.writeFileAtomic = original;
    expect(await readFile(join(dir.path, 'topics.json'), 'utf8')).toBe(before);
    expect((await readdir(dir.path)).filter((f) => f.includes('.tmp'))).toEqual([]);
    const doc = JSON.parse(before) as { topics: { name: string }[] };
    expect(doc.topics.map((t) => t.name)).toEqual(['kept']);
  });

  it('ignores a half-written topics.json.tmp left by a crash before the rename', async () => {
    const m = await open();
    await m.createTopic('durable', 2);
    await m.close();
    await writeFile(join(dir.path, 'topics.json.tmp'), '{"version":1,"clusterId":"c","topics":[{"na');
    const again = await open();
    expect(again.listTopics().map((t) => [t.name, t.partitions])).toEqual([['durable', 2]]);
    await again.createTopic('next', 1);
    expect((await readdir(dir.path)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a corrupt topics.json with CORRUPT_LOG and releases the lock', async () => {
    await mkdir(dir.path, { recursive: true });
    await writeFile(
      join(dir.path, 'topics.json'),
      '{"version":1,"clusterId":"c","topics":[{"name":"../x"}]}',
    );
    expect(await codeOf(() => open())).toBe('CORRUPT_LOG');
    await writeFile(join(dir.path, 'topics.json'), '{"version":1,"clusterId":"c","topics":[]}');
    expect((await open()).listTopics()).toEqual([]);
  });

  it('serialises concurrent creates of one name: exactly one wins', async () => {
    const m = await open();
    const results = await Promise.allSettled([m.createTopic('race', 2), m.createTopic('race', 3)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(isStreamBusError(rejected.reason, 'TOPIC_ALREADY_EXISTS')).toBe(true);
    expect(m.topic('race')?.partitions).toBe(2);
  });

  it('recreating a deleted topic starts empty', async () => {
    const m = await open();
    await m.createTopic('t', 1);
    await m.partition('t', 0).append(batchOf(['old']));
    await m.deleteTopic('t');
    await m.createTopic('t', 1);
    expect(m.partition('t', 0).logEndOffset()).toBe(0);
  });

  it('applies retention to every partition, flushes all and reports disk space', async () => {
    const m = await open({ segmentBytes: 300, retentionBytes: 300 });
    await m.createTopic('r', 2);
    for (let i = 0; i < 20; i++) await m.partition('r', i % 2).append(batchOf([`v${i}`]));
    const results = await m.applyRetention(Date.now());
    expect(results.map((r) => r.partition).sort()).toEqual([0, 1]);
    await m.flushAll();
    const { freeBytes, totalBytes } = await m.diskFree();
    expect(totalBytes).toBeGreaterThan(0);
    expect(freeBytes).toBeGreaterThanOrEqual(0);
    expect(freeBytes).toBeLessThanOrEqual(totalBytes);
  });
});
