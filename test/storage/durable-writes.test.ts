/**
 * Under flush_policy 'always' segment files are opened O_DSYNC, so a group commit is one durable write
 * instead of a write and an fdatasync. These tests read the open flags the kernel reports for the log's
 * file descriptors (/proc/self/fdinfo), so they fail if the flag is dropped, and check that no separate
 * fdatasync is made per group while every group is still counted as a sync.
 */
import { constants } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIRECT_WRITE_MIN_BYTES } from '../../src/storage/direct-write-file.js';
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

  it('a replicated log writes around the page cache until it leads; single-node logs never do', async () => {
    const bypass: { file: string; on: boolean }[] = [];
    const fs: StorageFs = {
      ...nodeStorageFs,
      openFile: async (path, mode, options) => {
        const file = await nodeStorageFs.openFile(path, mode, options);
        const set = file.bypassPageCache?.bind(file);
        if (set !== undefined) {
          file.bypassPageCache = (on) => {
            bypass.push({ file: basename(path), on });
            set(on);
          };
        }
        return file;
      },
    };
    const lastFor = (file: string) => bypass.filter((b) => b.file === file).at(-1)?.on;
    const log = await openReplicated(dir.path, { flushPolicy: 'always', segmentBytes: 200_000 }, { fs });
    try {
      const m = new EntryMaker();
      await log.save({ entries: [m.data(1, ['a'])] }, true);
      const first = '00000000000000000000.log';
      expect(await directFlagsCount(dir.path)).toBe(0); // small writes go through the cache
      await log.save({ entries: [m.data(1, ['b'.repeat(DIRECT_WRITE_MIN_BYTES)])] }, true);
      expect(await directFlagsCount(dir.path)).toBe(1);
      expect(lastFor(first)).toBe(true); // opened as a follower
      log.cacheWrites(true);
      expect(lastFor(first)).toBe(false);
      // A segment rolled while leading starts cached; following again turns every segment around the cache.
      while ((await readdir(dir.path)).filter((n) => n.endsWith('.log')).length < 2) {
        await log.save({ entries: [m.data(1, ['x'.repeat(20_000)])] }, true);
      }
      const rolled = (await readdir(dir.path)).filter((n) => n.endsWith('.log')).sort()[1]!;
      expect(bypass.filter((b) => b.file === rolled).map((b) => b.on)).toEqual([false]);
      log.cacheWrites(false);
      expect(lastFor(rolled)).toBe(true);
    } finally {
      await log.close();
    }
    expect(await directFlagsCount(dir.path)).toBe(0);

    const plain = await openReplicated(join(dir.path, 'off'), { followerDirectWrites: false }, {});
    const single = await openLog(join(dir.path, 'single'), { flushPolicy: 'always' });
    try {
      await single.append(batchOf(['s']));
      expect(await segmentOpenFlags(join(dir.path, 'off'))).not.toEqual([]);
      expect(await directFlagsCount(join(dir.path, 'off'))).toBe(0);
      expect(await directFlagsCount(join(dir.path, 'single'))).toBe(0);
    } finally {
      await plain.close();
      await single.close();
    }
  });
});

/** How many of the folder's open segment descriptors are O_DIRECT. */
async function directFlagsCount(folder: string): Promise<number> {
  return (await segmentOpenFlags(folder)).filter((f) => (f & constants.O_DIRECT) !== 0).length;
}
