/**
 * DeleteRecords in storage: a log start floor raised inside a segment hides the offsets below it at once
 * (reads, ListOffsets earliest and by time), frees every segment wholly below it, and, on a single-node log,
 * restarts the log empty at a floor its durable catalog remembers past a log end a crash cut back.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import type { ReplicatedLog } from '../../src/storage/replicated-log.js';
import { batchOf, ManualClock, openLog, readAll, tempDir, valuesOf } from './helpers.js';
import { EntryMaker, openReplicated, readValues } from './replicated-log-helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const open: { close(): Promise<void> }[] = [];
const T0 = 1_700_000_000_000;

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((l) => l.close()));
  await dir.cleanup();
});

const segmentFiles = async () => (await readdir(dir.path)).filter((f) => f.endsWith('.log')).sort();

/** 30 one-record batches at offsets 0..29, timestamps T0 + offset, in segments of about 5 batches. */
async function filledLog(): Promise<PartitionLog> {
  const log = await openLog(dir.path, { segmentBytes: 400 }, { clock: new ManualClock(T0) });
  open.push(log);
  for (let i = 0; i < 30; i++) await log.append(batchOf([`v${i}`], T0 + i));
  return log;
}

describe('PartitionLog.advanceLogStart', () => {
  it('hides the offsets below the floor at once and deletes the segments wholly below it', async () => {
    const log = await filledLog();
    const before = await segmentFiles();
    expect(before.length).toBeGreaterThan(3);
    const floor = 17;
    expect(await log.advanceLogStart(floor)).toBe(floor);
    expect(log.logStartOffset()).toBe(floor);
    expect(log.stats().logStartOffset).toBe(floor);
    await expect(log.read(floor - 1, 1024)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect((await readAll(log)).map((v) => v.offset)).toEqual(Array.from({ length: 13 }, (_, i) => 17 + i));
    // The batch holding the floor is read whole; the segment holding it stays, every older one is gone.
    const { records } = await log.read(floor, 1);
    expect(valuesOf(records)[0]!.offset).toBe(floor);
    const after = await segmentFiles();
    const firstBase = Number(after[0]!.slice(0, 20));
    expect(firstBase).toBeLessThanOrEqual(floor);
    expect(after.length).toBeLessThan(before.length);
    expect(before.filter((f) => Number(f.slice(0, 20)) > firstBase)).toEqual(after.slice(1));
  });

  it('never lowers the floor: a request below the log start answers the current start', async () => {
    const log = await filledLog();
    await log.advanceLogStart(12);
    expect(await log.advanceLogStart(5)).toBe(12);
    expect(log.logStartOffset()).toBe(12);
  });

  it('finds offsets by time only at or above the floor', async () => {
    const log = await filledLog();
    await log.advanceLogStart(17);
    expect(await log.offsetForTimestamp(T0)).toEqual({ offset: 17, timestamp: T0 + 17 });
    expect(await log.offsetForTimestamp(T0 + 20)).toEqual({ offset: 20, timestamp: T0 + 20 });
  });

  it('up to the high watermark: every segment goes and the log continues empty at its end', async () => {
    const log = await filledLog();
    expect(await log.advanceLogStart(30)).toBe(30);
    expect(await segmentFiles()).toEqual(['00000000000000000030.log']);
    expect((await log.append(batchOf(['next']))).baseOffset).toBe(30);
    expect((await readAll(log)).map((v) => v.value)).toEqual(['next']);
  });

  it('a floor past the log end (its tail lost in a crash) restarts the log empty there', async () => {
    const log = await filledLog();
    expect(await log.advanceLogStart(45)).toBe(45);
    expect(log.logEndOffset()).toBe(45);
    expect(log.highWatermark()).toBe(45);
    expect(await segmentFiles()).toEqual(['00000000000000000045.log']);
    expect((await log.append(batchOf(['after']))).baseOffset).toBe(45);
  });
});

describe('ReplicatedLog.advanceLogStart', () => {
  async function filledReplicated(): Promise<ReplicatedLog> {
    const log = await openReplicated(dir.path, { segmentBytes: 400 });
    open.push(log);
    const make = new EntryMaker();
    for (let i = 0; i < 30; i++) {
      await log.save({ entries: [make.data(1, [`v${i}`], T0 + i)] }, true);
    }
    await log.save({ entries: [], hardState: { term: 1, vote: 0, commit: 30 } }, true);
    return log;
  }

  it('hides the offsets below the floor; retention deletes the segments wholly below it, within its Raft floor', async () => {
    const log = await filledReplicated();
    const before = log.stats().segments;
    expect(before).toBeGreaterThan(3);
    expect(log.advanceLogStart(17)).toBe(17);
    await expect(log.read(16, 1024, 30)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect((await readValues(log, 30)).map((v) => v.offset)).toEqual(
      Array.from({ length: 13 }, (_, i) => 17 + i),
    );
    expect(await log.offsetForTimestamp(T0, 30)).toEqual({ offset: 17, timestamp: T0 + 17 });

    // Nothing committed and snapshotted: retention keeps every entry.
    expect((await log.applyRetention({ floorIndex: 0, nowMs: T0 })).deletedSegments).toBe(0);
    const r = await log.applyRetention({ floorIndex: 30, nowMs: T0 });
    expect(r.deletedSegments).toBeGreaterThan(0);
    expect(r.logStartOffset).toBe(17);
    expect(log.stats().segments).toBe(before - r.deletedSegments);
    expect((await readValues(log, 30))[0]!.offset).toBe(17);
    // The segment holding the floor stays: a segment that starts above it would have lost offsets 17...
    expect(log.firstIndex()).toBeLessThanOrEqual(18);
  });
});
