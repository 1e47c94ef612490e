/**
 * The in-memory tail of a log (src/storage/recent-batches.ts) and PartitionLog reads through it: a read at
 * the tail returns what was written without touching the segment file, and after a truncation nothing
 * truncated is served.
 */
import { cp, rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stampBatch } from '../../src/protocol/record-batch.js';
import { mulberry32 } from '../../src/raft/core/rand.js';
import { RecentBatches } from '../../src/storage/recent-batches.js';
import type { ReplicatedLog } from '../../src/storage/replicated-log.js';
import { nodeStorageFs, type StorageFile, type StorageFs } from '../../src/storage/storage-fs.js';
import { batchOf, openLog, readAll, tempDir, valuesOf } from './helpers.js';
import { EntryMaker, openReplicated } from './replicated-log-helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

/** A stamped batch of `values` at `base`. */
function stamped(values: string[], base: number): Buffer {
  const batch = batchOf(values);
  stampBatch(batch, base, 0);
  return batch;
}

describe('RecentBatches', () => {
  it('answers from the batch holding the offset, whole batches up to maxBytes but at least one', () => {
    const recent = new RecentBatches(64 * 1024);
    const a = stamped(['a0', 'a1'], 10);
    const b = stamped(['b0'], 12);
    const c = stamped(['c0', 'c1', 'c2'], 13);
    recent.add(a, 0);
    recent.add(b, 0);
    recent.add(c, 0);
    expect(valuesOf(recent.read(11, 1 << 20, 16)!).map((r) => r.value)).toEqual([
      'a0',
      'a1',
      'b0',
      'c0',
      'c1',
      'c2',
    ]);
    expect(recent.read(12, 1, 16)).toBe(b); // one batch, by reference
    expect(valuesOf(recent.read(12, b.length + c.length, 16)!).map((r) => r.offset)).toEqual([
      12, 13, 14, 15,
    ]);
    // Not kept: below the oldest, at or past the end, or a batch reaching the limit (high watermark).
    expect(recent.read(9, 1 << 20, 16)).toBeUndefined();
    expect(recent.read(16, 1 << 20, 16)).toBeUndefined();
    expect(valuesOf(recent.read(10, 1 << 20, 13)!).map((r) => r.offset)).toEqual([10, 11, 12]);
    expect(recent.read(13, 1 << 20, 14)).toBeUndefined();
  });

  it('keeps the newest batches within its budget, forgets everything on a gap or clear', () => {
    const one = stamped(['x'.repeat(100)], 0);
    // Room for four (a batch over a quarter of the budget is not kept at all).
    const recent = new RecentBatches(Math.floor(one.length * 4.5));
    for (let i = 0; i < 6; i++) recent.add(stamped(['x'.repeat(100)], i), 0);
    expect(recent.read(1, 1 << 20, 6)).toBeUndefined();
    expect(valuesOf(recent.read(2, 1 << 20, 6)!).map((r) => r.offset)).toEqual([2, 3, 4, 5]);
    recent.add(stamped(['gap'], 7), 0);
    expect(recent.read(5, 1 << 20, 8)).toBeUndefined();
    expect(valuesOf(recent.read(7, 1 << 20, 8)!).map((r) => r.value)).toEqual(['gap']);
    recent.clear();
    expect(recent.read(7, 1 << 20, 8)).toBeUndefined();
  });

  it('keeps no large batch, and copies a small one that would pin a much larger buffer', () => {
    const recent = new RecentBatches(64 * 1024);
    recent.add(stamped(['y'.repeat(20 * 1024)], 0), 0);
    expect(recent.read(0, 1 << 20, 1)).toBeUndefined();
    const big = Buffer.alloc(1 << 20);
    const small = stamped(['z'], 1);
    small.copy(big, 100);
    const view = big.subarray(100, 100 + small.length);
    recent.add(view, 0);
    const kept = recent.read(1, 1 << 20, 2)!;
    expect(kept.equals(small)).toBe(true);
    expect(kept.buffer).not.toBe(big.buffer);
  });
});

/** The real file system, counting reads of segment files. */
function readCountingFs(): StorageFs & { segmentReads: () => number } {
  let reads = 0;
  const wrap = (file: StorageFile, path: string): StorageFile => ({
    durableWrites: file.durableWrites,
    writev: (b, p) => file.writev(b, p),
    read: (b, o, l, p) => {
      if (path.endsWith('.log')) reads++;
      return file.read(b, o, l, p);
    },
    datasync: () => file.datasync(),
    truncate: (l) => file.truncate(l),
    size: () => file.size(),
    close: () => file.close(),
  });
  return {
    ...nodeStorageFs,
    openFile: async (path, mode, options) => wrap(await nodeStorageFs.openFile(path, mode, options), path),
    segmentReads: () => reads,
  };
}

describe('PartitionLog reads at the tail', () => {
  it('are answered from memory, and a truncation drops what it cut from there too', async () => {
    const fs = readCountingFs();
    const log = await openLog(dir.path, {}, { fs });
    for (let i = 0; i < 10; i++) await log.append(batchOf([`m${i}`]));
    const before = fs.segmentReads();
    const { records } = await log.read(7, 1 << 20);
    expect(valuesOf(records).map((r) => r.value)).toEqual(['m7', 'm8', 'm9']);
    expect(fs.segmentReads()).toBe(before);

    expect(await log.truncateTo(8)).toBe(8);
    await log.append(batchOf(['n8']));
    expect((await readAll(log, 6)).map((r) => r.value)).toEqual(['m6', 'm7', 'n8']);
    // Read from the file after the truncation, then from memory again once appends resume.
    const again = fs.segmentReads();
    await log.append(batchOf(['n9']));
    expect(valuesOf((await log.read(9, 1 << 20)).records).map((r) => r.value)).toEqual(['n9']);
    expect(fs.segmentReads()).toBe(again);
    await log.close();
  });
});

const seed = Number(process.env.RECENT_BATCHES_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`reads served from memory equal reads of the files (seed ${seed}, rerun with RECENT_BATCHES_SEED)`, () => {
  it('for a replicated log with control batches and rolls', async () => {
    console.log(`recent-batches seed: ${seed}`);
    const random = mulberry32(seed);
    const log = await openReplicated(dir.path, { segmentBytes: 2048 });
    const maker = new EntryMaker();
    for (let round = 0; round < 30; round++) {
      const entries = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, k) => {
        const kind = random();
        if (kind < 0.15) return maker.noop(1);
        if (kind < 0.25) return maker.conf(1, `conf-${round}-${k}`);
        const values = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, v) => `r${round}-${k}-${v}`);
        return maker.data(1, values);
      });
      await log.save({ entries }, true);
    }
    const end = log.logEndOffset();
    const fromFiles = await openReplicatedCopy(log);
    for (let probe = 0; probe < 300; probe++) {
      const limit = Math.max(1, Math.floor(random() * (end + 1)));
      const offset = Math.floor(random() * limit);
      const maxBytes = Math.floor(random() * 600);
      const served = await log.read(offset, maxBytes, limit);
      const read = await fromFiles.read(offset, maxBytes, limit);
      expect({ offset, maxBytes, limit, bytes: served.toString('hex') }).toEqual({
        offset,
        maxBytes,
        limit,
        bytes: read.toString('hex'),
      });
    }
    await fromFiles.close();
    await log.close();
  });

  it('for a single-node log with rolls', async () => {
    const random = mulberry32(seed + 1);
    const log = await openLog(dir.path, { segmentBytes: 2048 });
    for (let round = 0; round < 60; round++) {
      const values = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, v) => `s${round}-${v}`);
      await log.append(batchOf(values));
    }
    const copy = `${dir.path}-files`;
    await cp(dir.path, copy, { recursive: true });
    const fromFiles = await openLog(copy, { segmentBytes: 2048 });
    try {
      for (let probe = 0; probe < 300; probe++) {
        const offset = Math.floor(random() * log.highWatermark());
        const maxBytes = Math.floor(random() * 600);
        const served = (await log.read(offset, maxBytes)).records;
        const read = (await fromFiles.read(offset, maxBytes)).records;
        expect({ offset, maxBytes, bytes: served.toString('hex') }).toEqual({
          offset,
          maxBytes,
          bytes: read.toString('hex'),
        });
      }
    } finally {
      await fromFiles.close();
      await rm(copy, { recursive: true, force: true });
    }
    await log.close();
  });
});

/** The same replicated log opened again from a copy of its folder: nothing in memory, every read from files. */
async function openReplicatedCopy(log: { dir: string }): Promise<ReplicatedLog> {
  const copy = `${log.dir}-files-${Math.floor(Math.random() * 1e9)}`;
  await cp(log.dir, copy, { recursive: true });
  const opened = await openReplicated(copy, { segmentBytes: 2048 });
  const close = opened.close.bind(opened);
  opened.close = async () => {
    await close();
    await rm(copy, { recursive: true, force: true });
  };
  return opened;
}
