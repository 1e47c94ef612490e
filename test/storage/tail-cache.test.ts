import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeStorageFs, type StorageFile, type StorageFs } from '../../src/storage/storage-fs.js';
import { TailCache } from '../../src/storage/tail-cache.js';
import { batchOf, openLog, readAll, tempDir, valuesOf } from './helpers.js';

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('TailCache', () => {
  it('answers from the batch holding the offset, whole batches up to maxBytes, only below the high watermark', () => {
    const c = new TailCache(1600);
    c.add(bytes(100, 1), 0, 4);
    c.add(bytes(100, 2), 5, 9);
    c.add(bytes(100, 3), 10, 14);
    expect(c.read(7, 1000, 15)).toEqual(Buffer.concat([bytes(100, 2), bytes(100, 3)]));
    // At least one batch even past maxBytes; then only what fits.
    expect(c.read(0, 1, 15)).toEqual(bytes(100, 1));
    expect(c.read(0, 250, 15)?.length).toBe(200);
    // The batch [10, 14] is not wholly below a high watermark of 12.
    expect(c.read(7, 1000, 12)).toEqual(bytes(100, 2));
    expect(c.read(10, 1000, 12)).toBeNull();
    expect(c.read(15, 1000, 20)).toBeNull();
  });

  it('evicts the oldest batches beyond its budget and answers null below what it holds', () => {
    const c = new TailCache(1600);
    for (let i = 0; i < 20; i++) c.add(bytes(100, i), i * 10, i * 10 + 9);
    // 16 batches of 100 bytes fit: offsets 40..199 are held, 0..39 are gone.
    expect(c.read(0, 1000, 200)).toBeNull();
    expect(c.read(39, 100, 200)).toBeNull();
    expect(c.read(45, 100, 200)?.[0]).toBe(4);
    expect(c.read(199, 100, 200)?.[0]).toBe(19);
  });

  it('does not cache large batches, and a gap or a truncation breaks the run', () => {
    const c = new TailCache(1600);
    c.add(bytes(100, 1), 0, 4);
    c.add(bytes(101, 9), 5, 9); // 1600 / 16 = 100 bytes at most
    expect(c.read(0, 1000, 100)).toBeNull();
    c.add(bytes(50, 2), 10, 10);
    c.add(bytes(50, 3), 12, 12); // gap at 11
    expect(c.read(10, 1000, 100)).toBeNull();
    c.add(bytes(50, 4), 13, 14);
    c.truncateFrom(14);
    expect(c.read(13, 1000, 100)).toBeNull();
    expect(c.read(12, 1000, 100)).toEqual(bytes(50, 3));
  });

  it('keeps copies: changing the appended buffer later does not change what it answers', () => {
    const c = new TailCache(1600);
    const b = bytes(10, 7);
    c.add(b, 0, 0);
    b.fill(0);
    expect(c.read(0, 100, 1)).toEqual(bytes(10, 7));
  });

  it('a budget of 0 caches nothing', () => {
    const c = new TailCache(0);
    c.add(bytes(1, 1), 0, 0);
    expect(c.read(0, 100, 1)).toBeNull();
  });
});

describe('partition log reads at the tail', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await dir.cleanup();
  });

  function readCountingFs(): StorageFs & { reads: () => number } {
    let reads = 0;
    const wrap = (file: StorageFile): StorageFile => ({
      durableWrites: file.durableWrites,
      writev: (b, p) => file.writev(b, p),
      read: (b, o, l, p) => {
        reads++;
        return file.read(b, o, l, p);
      },
      datasync: () => file.datasync(),
      truncate: (l) => file.truncate(l),
      size: () => file.size(),
      close: () => file.close(),
    });
    return {
      ...nodeStorageFs,
      openFile: async (path, mode, options) => wrap(await nodeStorageFs.openFile(path, mode, options)),
      reads: () => reads,
    };
  }

  it('are answered from memory; older offsets and the cache turned off read the file', async () => {
    const fs = readCountingFs();
    const log = await openLog(dir.path, { tailCacheBytes: 8 * 1024 }, { fs });
    try {
      for (let i = 0; i < 40; i++) await log.append(batchOf([`v${i}`.padEnd(200, '.')]));
      const before = fs.reads();
      const tail = await log.read(39, 1 << 20);
      expect(valuesOf(tail.records).map((r) => r.value.slice(0, 3))).toEqual(['v39']);
      expect(fs.reads()).toBe(before);
      // Offset 0 fell out of the 8 KiB budget: read from the file.
      const old = await log.read(0, 300);
      expect(fs.reads()).toBeGreaterThan(before);
      expect(valuesOf(old.records)[0]?.value.slice(0, 2)).toBe('v0');
      expect((await readAll(log)).length).toBe(40);
    } finally {
      await log.close();
    }
    const off = await openLog(dir.path, { tailCacheBytes: 0 }, { fs });
    try {
      await off.append(batchOf(['x']));
      const before = fs.reads();
      await off.read(40, 1 << 20);
      expect(fs.reads()).toBeGreaterThan(before);
    } finally {
      await off.close();
    }
  });

  it('never answers truncated batches from memory', async () => {
    const log = await openLog(dir.path, { tailCacheBytes: 16 * 1024 });
    try {
      for (let i = 0; i < 5; i++) await log.append(batchOf([`a${i}`]));
      await log.truncateTo(3);
      await log.append(batchOf(['b3']));
      expect((await readAll(log)).map((r) => r.value)).toEqual(['a0', 'a1', 'a2', 'b3']);
      expect(valuesOf((await log.read(3, 1 << 20)).records).map((r) => r.value)).toEqual(['b3']);
    } finally {
      await log.close();
    }
  });
});

describe('TailCache with Raft control batches (no offsets)', () => {
  it('keeps control batches between data batches and drops trailing ones, as reads from disk do', () => {
    const c = new TailCache(1600);
    c.add(bytes(10, 1), 0, 1);
    c.add(bytes(10, 8), 2, 1); // control batch at offset 2
    c.add(bytes(10, 2), 2, 3);
    c.add(bytes(10, 9), 4, 3); // trailing control batch
    expect(c.read(0, 1000, 4)).toEqual(Buffer.concat([bytes(10, 1), bytes(10, 8), bytes(10, 2)]));
    expect(c.read(2, 1000, 4)).toEqual(bytes(10, 2));
    expect(c.read(0, 1000, 2)).toEqual(bytes(10, 1));
  });
});
