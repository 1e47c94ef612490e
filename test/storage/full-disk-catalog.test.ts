import { mkdirSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_STORAGE_CONFIG } from '../../src/storage/config.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { nodeStorageFs } from '../../src/storage/storage-fs.js';
import { fillDisk, tryMountTmpfs, unmountTmpfs } from '../helpers/test-tmpfs.js';
import { batchOf, ManualClock, readAll } from './helpers.js';

const TMPFS_BYTES = 4 * 1024 * 1024;
/** Records written at T0; the clock reads T0 + 1 h, so retention_ms=1000 expires them all. */
const T0 = 1_700_000_000_000;

const mountDir = tryMountTmpfs('full-disk-catalog', TMPFS_BYTES);

describe.skipIf(mountDir === null)('freeing a full disk (tmpfs filled to the last byte)', () => {
  const mount = mountDir as string;
  const dataDir = join(mount, 'data');
  let manager: LogManager;
  let filler = 0;

  const open = () =>
    LogManager.open(
      { ...DEFAULT_STORAGE_CONFIG, dataDir, preallocateBytes: 64 * 1024 },
      { clock: new ManualClock(T0 + 3_600_000), randomId: () => 'cluster-1' },
    );

  beforeEach(async () => {
    mkdirSync(dataDir);
    manager = await open();
    for (const topic of ['kept', 'doomed']) {
      await manager.createTopic(topic, 1);
      const log = manager.partition(topic, 0);
      for (let i = 0; i < 20; i++) await log.append(batchOf([`${topic}-${i}-${'x'.repeat(8000)}`], T0));
    }
    await fillDisk(mount, `filler-${filler++}`);
    // Bigger than the zeros preallocated ahead of the segment's data, which a small append would land in.
    const big = batchOf([`one more ${'y'.repeat(256 * 1024)}`], T0);
    await expect(manager.partition('kept', 0).append(big)).rejects.toMatchObject({
      code: 'DISK_FULL',
    });
  });
  afterEach(async () => {
    await manager.close();
    for (const name of await readdir(mount)) rmSync(join(mount, name), { recursive: true, force: true });
  });
  afterAll(() => {
    unmountTmpfs(mount);
  });

  const topicsInCatalog = async () =>
    (
      JSON.parse(await readFile(join(dataDir, 'topics.json'), 'utf8')) as { topics: { name: string }[] }
    ).topics
      .map((t) => t.name)
      .sort();

  it('deletes a topic, and the freed space takes produce again', async () => {
    await manager.deleteTopic('doomed');
    expect(await topicsInCatalog()).toEqual(['kept']);
    expect(await readdir(dataDir)).not.toContain('topics.json.tmp');
    expect(await readdir(dataDir)).not.toContain('doomed-0');
    expect((await manager.partition('kept', 0).append(batchOf(['after'], T0))).baseOffset).toBe(20);
    // The reserve was made again from the freed space: a restart finds the topic gone.
    expect(await readdir(dataDir)).toContain('topics.json.reserve');
    await manager.close();
    manager = await open();
    expect(manager.listTopics().map((t) => t.name)).toEqual(['kept']);
  });

  it('lowers a topic retention, and retention frees its one active segment', async () => {
    await manager.alterTopicConfigs('kept', { set: { retention_ms: 1000 }, delete: [] });
    expect(await readdir(dataDir)).not.toContain('topics.json.tmp');
    const freed = await manager.applyRetention(T0 + 3_600_000);
    expect(freed.map((f) => f.topic).sort()).toEqual(['kept']);
    const log = manager.partition('kept', 0);
    expect(log.logStartOffset()).toBe(20);
    expect((await log.append(batchOf(['after'], T0 + 3_600_000))).baseOffset).toBe(20);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['after']);
  });

  it('deletes records up to the high watermark, freeing the one active segment; the reserve is made again', async () => {
    expect(await manager.advanceLogStart('doomed', 0, 20)).toBe(20);
    expect(await readdir(join(dataDir, 'doomed-0'))).not.toContain('00000000000000000000.log');
    expect(await readdir(dataDir)).toContain('topics.json.reserve');
    expect((await manager.partition('kept', 0).append(batchOf(['after'], T0))).baseOffset).toBe(20);
    await manager.close();
    manager = await open();
    expect(manager.partition('doomed', 0).logStartOffset()).toBe(20);
  });

  it('restarts on the full disk and can still free it', async () => {
    await manager.close();
    manager = await open();
    await manager.alterTopicConfigs('doomed', { set: { segment_bytes: 1_048_576 }, delete: [] });
    await manager.deleteTopic('doomed');
    expect(await topicsInCatalog()).toEqual(['kept']);
  });

  it('an atomic write refused for space leaves no temp file behind', async () => {
    const path = join(dataDir, 'other.json');
    await expect(nodeStorageFs.writeFileAtomic(path, Buffer.alloc(64 * 1024, 1))).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    expect(await readdir(dataDir)).not.toContain('other.json.tmp');
  });
});
