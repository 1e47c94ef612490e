/**
 * The log cleaner on a single-node partition log, against the model "latest record per key": after a pass,
 * the cleaned range (closed segments) holds exactly each key's latest record there, the active segment is
 * untouched, offsets and every batch (base offset, offset range) stay, and a consumer reading from any offset
 * (one removed by compaction included) moves on across the gaps. Tombstones go once delete_retention_ms has
 * passed since the pass that first kept them.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCleanerCheckpoint } from '../../src/storage/cleaner-checkpoint.js';
import type { LogConfig } from '../../src/storage/config.js';
import { IoThrottle } from '../../src/storage/io-throttle.js';
import { type CleanableLog, cleanLog } from '../../src/storage/log-cleaner.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { nodeStorageFs, type StorageFs } from '../../src/storage/storage-fs.js';
import {
  consumeAll,
  FakeThrottleTime,
  type KeyedRecord,
  keyedBatch,
  seededRandom,
} from './compaction-helpers.js';
import { ManualClock, openLog, tempDir } from './helpers.js';

const DELETE_RETENTION_MS = 60_000;
const COMPACTED: Partial<LogConfig> = {
  cleanupPolicy: 'compact',
  segmentBytes: 2048,
  // Small, so reads from inside a cleaned segment go through its rebuilt sparse index.
  indexIntervalBytes: 256,
  minCleanableDirtyRatio: 0,
  deleteRetentionMs: DELETE_RETENTION_MS,
  preallocateBytes: 0,
};

let dir: Awaited<ReturnType<typeof tempDir>>;
const logs: PartitionLog[] = [];

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await Promise.allSettled(logs.splice(0).map((l) => l.close()));
  await dir.cleanup();
});

async function open(clock: ManualClock, overrides: Partial<LogConfig> = {}, fs: StorageFs = nodeStorageFs) {
  const log = await openLog(dir.path, { ...COMPACTED, ...overrides }, { clock, fs });
  logs.push(log);
  return log;
}

interface Written extends KeyedRecord {
  offset: number;
  /** When a pass first kept this record as a latest tombstone: then + delete_retention_ms. */
  horizonMs?: number;
}

/** The model: which written records a pass that cleaned [0, cleanedEnd) at `nowMs` keeps. */
function expectedAfterPass(written: Written[], cleanedEnd: number, nowMs: number): Written[] {
  const latest = new Map<string, number>();
  for (const r of written) if (r.offset < cleanedEnd) latest.set(r.key, r.offset);
  return written.filter((r) => {
    if (r.offset >= cleanedEnd) return true;
    if (latest.get(r.key) !== r.offset) return false;
    if (r.value !== null) return true;
    r.horizonMs ??= nowMs + DELETE_RETENTION_MS;
    return nowMs < r.horizonMs;
  });
}

function view(records: readonly { offset: number; key: string; value: string | null }[]) {
  return records.map((r) => `${r.offset}:${r.key}=${r.value ?? '<tombstone>'}`);
}

const seed = Number(process.env.CLEANER_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('log cleaner on a partition log', () => {
  it(`keeps exactly the latest record per key in closed segments, every batch and offset, across passes (seed ${seed})`, async () => {
    console.log(`log cleaner seed: ${seed} (rerun with CLEANER_SEED=${seed})`);
    const random = seededRandom(seed);
    const clock = new ManualClock();
    let log = await open(clock);
    let written: Written[] = [];
    let batchesBefore: string[] = [];
    let removed = 0;
    const keys = 3 + Math.floor(random() * 12);
    for (let round = 0; round < 6; round++) {
      const batches = 10 + Math.floor(random() * 40);
      for (let b = 0; b < batches; b++) {
        const records: KeyedRecord[] = [];
        const n = 1 + Math.floor(random() * 5);
        for (let i = 0; i < n; i++) {
          const key = `k${Math.floor(random() * keys)}`;
          const value =
            random() < 0.15 ? null : `v${round}.${b}.${i}.${'x'.repeat(Math.floor(random() * 40))}`;
          records.push({ key, value });
        }
        const compression = random() < 0.3 ? 'gzip' : 'none';
        const { baseOffset } = await log.append(keyedBatch(records, clock.nowMs(), compression));
        written.push(...records.map((r, i) => ({ ...r, offset: baseOffset + i })));
      }
      batchesBefore = (await consumeAll(log)).batches;
      clock.advance(Math.floor(random() * 2 * DELETE_RETENTION_MS));
      removed += (await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 1_000_000 }))?.removedRecords ?? 0;
      const cleanedEnd = log.cleanableSegments().at(-1)?.nextOffset ?? 0;
      written = expectedAfterPass(written, cleanedEnd, clock.nowMs());

      if (round % 2 === 1) {
        // The swapped-in segments and their persisted indexes are what a restart opens.
        await log.close();
        log = await open(clock);
      }
      const consumed = await consumeAll(log);
      expect(view(consumed.records)).toEqual(view(written));
      // Every batch stays, even one whose records all went: Raft indexes and producer state count on it.
      expect(consumed.batches).toEqual(batchesBefore);
      // A consumer at any offset, one compaction removed included, continues at the next record kept.
      const at = Math.floor(random() * log.highWatermark());
      const fromAt = await consumeAll(log, at);
      expect(view(fromAt.records)).toEqual(view(written.filter((r) => r.offset >= at)));
    }
    expect(removed).toBeGreaterThan(0);
    const files = await readdir(dir.path);
    expect(files.filter((f) => f.endsWith('.cleaned') || f.endsWith('.swap'))).toEqual([]);
  });

  it('removes a tombstone only once delete_retention_ms has passed since the pass that first kept it', async () => {
    const clock = new ManualClock();
    const log = await open(clock, { segmentBytes: 1024 });
    await log.append(
      keyedBatch(
        [
          { key: 'a', value: '1' },
          { key: 'b', value: '1' },
        ],
        clock.nowMs(),
      ),
    );
    await log.append(keyedBatch([{ key: 'a', value: null }], clock.nowMs()));
    // Too big for what is left of the segment: it rolls, and the batches above are in a closed segment.
    await log.append(keyedBatch([{ key: 'filler', value: 'x'.repeat(900) }], clock.nowMs()));
    expect(log.cleanableSegments().map((s) => [s.baseOffset, s.nextOffset])).toEqual([[0, 3]]);
    await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100 });
    const first = (await consumeAll(log)).records.filter((r) => r.key !== 'filler');
    expect(first.map((r) => `${r.key}=${r.value}`)).toEqual(['b=1', 'a=null']);

    clock.advance(DELETE_RETENTION_MS - 1);
    expect(await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100 })).toBeNull();
    clock.advance(1);
    const due = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100 });
    expect(due?.removedRecords).toBeGreaterThanOrEqual(1);
    const second = (await consumeAll(log)).records.filter((r) => r.key !== 'filler');
    expect(second.map((r) => `${r.key}=${r.value}`)).toEqual(['b=1']);
    // The record's timestamp survived the horizon being stamped in its batch's base timestamp.
    expect(first[1]!.timestamp).toBe(1_700_000_000_000);
    expect((await readCleanerCheckpoint(nodeStorageFs, dir.path)).tombstoneHorizonMs).toBe(-1);
  });

  it('with more keys than storage.cleaner_keys_max, cleans up to where the map filled and goes on next pass', async () => {
    const clock = new ManualClock();
    const log = await open(clock);
    const written: Written[] = [];
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 20; k++) {
        const record = { key: `k${k}`, value: `r${round}-${'z'.repeat(30)}` };
        const { baseOffset } = await log.append(keyedBatch([record], clock.nowMs()));
        written.push({ ...record, offset: baseOffset });
      }
    }
    const cleanedEnd = log.cleanableSegments().at(-1)!.nextOffset;
    const expected = view(expectedAfterPass(written, cleanedEnd, clock.nowMs()));
    const all = new Set(view(written));
    const dirtyStarts: number[] = [];
    for (let pass = 0; pass < 40; pass++) {
      await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 5 });
      dirtyStarts.push((await readCleanerCheckpoint(nodeStorageFs, dir.path)).firstDirtyOffset);
      const now = view((await consumeAll(log)).records);
      // Never more removed than the model allows, whatever pass it is.
      for (const r of now) expect(all.has(r)).toBe(true);
      for (const r of expected) expect(now).toContain(r);
      if (dirtyStarts.at(-1) === cleanedEnd) break;
    }
    // Five keys a pass: the dirty part's start moved in several steps to the end of the cleanable segments.
    expect(dirtyStarts.length).toBeGreaterThan(3);
    expect(dirtyStarts).toEqual([...dirtyStarts].sort((a, b) => a - b));
    await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 5 });
    expect(view((await consumeAll(log)).records)).toEqual(expected);
  });

  it('a pass cut short does not move the checkpoint, so no value outlives the tombstone that deleted it', async () => {
    const clock = new ManualClock();
    const log = await open(clock, { segmentBytes: 1024 });
    const filler = (n: number) =>
      keyedBatch([{ key: 'filler', value: `${n}`.padEnd(900, 'f') }], clock.nowMs());
    await log.append(keyedBatch([{ key: 'k', value: 'old' }], clock.nowMs()));
    await log.append(filler(1));
    await log.append(keyedBatch([{ key: 'k', value: null }], clock.nowMs()));
    await log.append(filler(3));
    expect(log.cleanableSegments().map((s) => s.baseOffset)).toEqual([0, 1, 2]);
    // The first segment's copy is refused, as when the log closes or retention takes it mid-pass.
    const refusing: CleanableLog = {
      dir: log.dir,
      get config() {
        return log.config;
      },
      cleanableSegments: () => log.cleanableSegments(),
      cleanerContext: () => log.cleanerContext(),
      swapCleaned: (olds, cleaned) =>
        olds[0]!.baseOffset === 0 ? Promise.resolve(false) : log.swapCleaned(olds, cleaned),
    };
    await cleanLog(refusing, { nowMs: clock.nowMs(), keysMax: 100 });
    const values = async () =>
      (await consumeAll(log)).records.filter((r) => r.key === 'k').map((r) => r.value);
    for (let pass = 0; pass < 3; pass++) {
      clock.advance(DELETE_RETENTION_MS);
      await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100 });
      expect(await values()).not.toContain('old');
    }
    expect(await values()).toEqual([]);
  });

  it('writes no copy of a segment with nothing to remove: only the segment holding a superseded record', async () => {
    const clock = new ManualClock();
    const copies: string[] = [];
    const fs: StorageFs = {
      ...nodeStorageFs,
      openFile: (path, mode, options) => {
        if (path.endsWith('.log.cleaned')) copies.push(path.slice(dir.path.length + 1));
        return nodeStorageFs.openFile(path, mode, options);
      },
    };
    // One batch a segment, too big for two to share one (so none merge either).
    const log = await open(clock, { segmentBytes: 1024 }, fs);
    for (const key of ['a', 'b', 'c', 'a', 'filler'])
      await log.append(keyedBatch([{ key, value: key.padEnd(600, '.') }], clock.nowMs()));
    expect(log.cleanableSegments().map((s) => s.baseOffset)).toEqual([0, 1, 2, 3]);
    const result = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100 });
    expect(result).toMatchObject({
      cleanedSegments: 1,
      skippedSegments: 3,
      mergedSegments: 0,
      removedRecords: 1,
    });
    expect(copies).toEqual(['00000000000000000000.log.cleaned']);
    expect((await consumeAll(log)).records.map((r) => `${r.offset}:${r.key}`)).toEqual([
      '1:b',
      '2:c',
      '3:a',
      '4:filler',
    ]);
  });

  it('merges adjacent small cleaned segments into one within segment_bytes, offsets and batches unchanged', async () => {
    const clock = new ManualClock();
    const segmentBytes = 2048;
    let log = await open(clock, { segmentBytes });
    const written: Written[] = [];
    // Four keys rewritten over and over: each closed segment shrinks to a few empty batches when cleaned.
    const write = async (count: number) => {
      for (let b = 0; b < count; b++) {
        const record = { key: `k${written.length % 4}`, value: `${written.length}`.padEnd(200, 'v') };
        const { baseOffset } = await log.append(keyedBatch([record], clock.nowMs()));
        written.push({ ...record, offset: baseOffset });
      }
    };
    await write(120);
    const first = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100 });
    // Grouped by their size before cleaning: full segments do not merge in the pass that shrinks them.
    expect(first?.mergedSegments).toBe(0);
    // The next pass, due once more is written, merges them.
    await write(40);
    const rolled = log.cleanableSegments().length;
    const batchesBefore = (await consumeAll(log)).batches;
    const second = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100 });
    expect(second?.mergedSegments).toBeGreaterThan(0);
    const cleanedEnd = log.cleanableSegments().at(-1)!.nextOffset;
    expect(log.cleanableSegments().length).toBe(rolled - second!.mergedSegments);
    expect(log.cleanableSegments().length).toBeLessThan(rolled / 2);
    for (const s of log.cleanableSegments()) expect(s.sizeBytes).toBeLessThanOrEqual(segmentBytes);

    const expected = view(expectedAfterPass(written, cleanedEnd, clock.nowMs()));
    for (let reopen = 0; reopen < 2; reopen++) {
      const consumed = await consumeAll(log);
      expect(view(consumed.records)).toEqual(expected);
      expect(consumed.batches).toEqual(batchesBefore);
      // A consumer starting inside a merged segment goes through its rebuilt sparse index.
      const at = Math.floor(cleanedEnd / 2);
      expect(view((await consumeAll(log, at)).records)).toEqual(
        expected.filter((r) => Number(r.split(':')[0]) >= at),
      );
      await log.close();
      log = await open(clock, { segmentBytes });
    }
    expect((await readdir(dir.path)).filter((f) => f.endsWith('.log')).length).toBe(
      log.cleanableSegments().length + 1,
    );
  });

  it('copies a segment whose first change comes after its first slice: the unchanged prefix is copied as it was', async () => {
    const clock = new ManualClock();
    // Segments roll by age: each phase below starts one. Too big to merge: 21 values pass segment_bytes.
    const log = await open(clock, {
      segmentBytes: 2_100_000,
      segmentMs: 1000,
      indexIntervalBytes: 4096,
    });
    const value = (i: number) => `${i}`.padEnd(100 * 1024, 'p');
    // Two megabytes of distinct keys (more than one slice of the cleaner's reads), then k15 again.
    for (let i = 0; i < 20; i++)
      await log.append(keyedBatch([{ key: `k${i}`, value: value(i) }], clock.nowMs()));
    clock.advance(1000);
    await log.append(keyedBatch([{ key: 'k15', value: value(99) }], clock.nowMs()));
    clock.advance(1000);
    await log.append(keyedBatch([{ key: 'active', value: 'x' }], clock.nowMs()));
    expect(log.cleanableSegments().map((s) => s.baseOffset)).toEqual([0, 20]);
    const result = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100 });
    expect(result).toMatchObject({ cleanedSegments: 1, skippedSegments: 1, removedRecords: 1 });
    const expected = [...Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 15)].map(
      (i) => `${i}:k${i}=${value(i)}`,
    );
    expected.push(`20:k15=${value(99)}`, '21:active=x');
    expect(view((await consumeAll(log, 0, 1 << 22)).records)).toEqual(expected);
  });

  it('spends every byte a pass reads and writes from storage.cleaner_io_bytes_per_sec, waiting when it runs out', async () => {
    const clock = new ManualClock();
    const segmentBytes = 2048;
    const log = await open(clock, { segmentBytes });
    for (let b = 0; b < 100; b++)
      await log.append(keyedBatch([{ key: `k${b % 3}`, value: `${b}`.padEnd(300, 'r') }], clock.nowMs()));
    const time = new FakeThrottleTime();
    const bytesPerSec = 4096;
    const throttle = new IoThrottle(bytesPerSec, time);
    const result = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 100, io: throttle });
    // Every rewritten segment is read at least once (its keys, then its copy), a slice (here: a segment) per
    // spend; the bucket starts with one second of bytes, and each wait pays for at most one spend.
    const readBytes = result!.bytesBefore;
    expect(readBytes).toBeGreaterThan(5 * bytesPerSec);
    expect(throttle.waits).toBeGreaterThanOrEqual(Math.floor((readBytes - bytesPerSec) / segmentBytes));
    expect(time.now).toBeGreaterThanOrEqual(((readBytes - bytesPerSec) / bytesPerSec) * 1000);
    expect(time.sleeps.length).toBe(throttle.waits);
  });
});
