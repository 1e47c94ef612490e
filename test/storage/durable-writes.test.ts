/**
 * Under flush_policy 'always' segment files are opened O_DSYNC, so a group commit is one durable write
 * instead of a write and an fdatasync. These tests read the open flags the kernel reports for the log's
 * file descriptors (/proc/self/fdinfo), so they fail if the flag is dropped, and check that no separate
 * fdatasync is made per group while every group is still counted as a sync.
 */
import { constants } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeStorageFs, type StorageFile, type StorageFs } from '../../src/storage/storage-fs.js';
import { batchOf, openLog, readAll, tempDir } from './helpers.js';
import { EntryMaker, openReplicated } from './replicated-log-helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

/** Open flags of this process's file descriptors whose path is in `folder` and ends with `.log`. */
async function segmentOpenFlags(folder: string): Promise<number[]> {
  const flags: number[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (!target.startsWith(folder) || !target.endsWith('.log')) continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    const m = /^flags:\s+([0-7]+)/m.exec(info);
    if (m) flags.push(Number.parseInt(m[1]!, 8));
  }
  return flags;
}

/** The real file system, counting fdatasync calls on the files it opens. */
function countingFs(): StorageFs & { datasyncs: () => number } {
  let datasyncs = 0;
  const wrap = (file: StorageFile): StorageFile => ({
    durableWrites: file.durableWrites,
    writev: (b, p) => file.writev(b, p),
    read: (b, o, l, p) => file.read(b, o, l, p),
    datasync: () => {
      datasyncs++;
      return file.datasync();
    },
    truncate: (l) => file.truncate(l),
    size: () => file.size(),
    close: () => file.close(),
  });
  return {
    ...nodeStorageFs,
    openFile: async (path, mode, options) => wrap(await nodeStorageFs.openFile(path, mode, options)),
    datasyncs: () => datasyncs,
  };
}

describe("segment files under flush_policy 'always'", () => {
  it('are opened O_DSYNC, and each group commit is a durable write with no separate fdatasync', async () => {
    const fs = countingFs();
    const log = await openLog(dir.path, { flushPolicy: 'always' }, { fs });
    try {
      const flags = await segmentOpenFlags(dir.path);
      expect(flags.length).toBeGreaterThan(0);
      for (const f of flags) expect(f & constants.O_DSYNC).toBe(constants.O_DSYNC);

      const before = { datasyncs: fs.datasyncs(), syncs: log.stats().fsyncs };
      for (let i = 0; i < 5; i++) await log.append(batchOf([`m${i}`]));
      expect(fs.datasyncs()).toBe(before.datasyncs);
      // Every group is still counted (and timed) as a sync, and visible only after it.
      expect(log.stats().fsyncs).toBe(before.syncs + 5);
      expect(log.highWatermark()).toBe(5);
    } finally {
      await log.close();
    }
    const reopened = await openLog(dir.path, { flushPolicy: 'always' });
    try {
      expect((await readAll(reopened)).map((r) => r.value)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    } finally {
      await reopened.close();
    }
  });

  it("are not O_DSYNC under 'interval' (the background flush does the syncing)", async () => {
    const log = await openLog(dir.path, { flushPolicy: 'interval', flushIntervalMs: 60_000 });
    try {
      await log.append(batchOf(['x']));
      const flags = await segmentOpenFlags(dir.path);
      expect(flags.length).toBeGreaterThan(0);
      for (const f of flags) expect(f & constants.O_DSYNC).toBe(0);
    } finally {
      await log.close();
    }
  });

  it('replicated partition logs open their segments O_DSYNC too and save without a separate fdatasync', async () => {
    const fs = countingFs();
    const log = await openReplicated(dir.path, { flushPolicy: 'always' }, { fs });
    try {
      const m = new EntryMaker();
      await log.save({ entries: [m.data(1, ['a'])] }, true);
      const flags = await segmentOpenFlags(dir.path);
      expect(flags.length).toBeGreaterThan(0);
      for (const f of flags) expect(f & constants.O_DSYNC).toBe(constants.O_DSYNC);
      const before = { datasyncs: fs.datasyncs(), syncs: log.stats().fsyncs };
      await log.save({ entries: [m.data(1, ['b']), m.data(1, ['c'])] }, true);
      expect(fs.datasyncs()).toBe(before.datasyncs);
      expect(log.stats().fsyncs).toBe(before.syncs + 1);
    } finally {
      await log.close();
    }
  });
});
