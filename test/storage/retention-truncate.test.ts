import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { batchOf, ManualClock, openLog, readAll, tempDir } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const logs: PartitionLog[] = [];
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await Promise.allSettled(logs.splice(0).map((l) => l.close()));
  await dir.cleanup();
});

async function open(overrides: Parameters<typeof openLog>[1] = {}, clock = new ManualClock(T0)) {
  const log = await openLog(dir.path, overrides, { clock });
  logs.push(log);
  return log;
}

const segmentFiles = async () => (await readdir(dir.path)).filter((f) => f.endsWith('.log')).sort();

describe('segment roll', () => {
  it('rolls the active segment by age on the injected clock', async () => {
    const clock = new ManualClock(T0);
    const log = await open({ segmentMs: HOUR }, clock);
    await log.append(batchOf(['a']));
    clock.advance(HOUR - 1);
    await log.append(batchOf(['b']));
    expect(log.stats().segments).toBe(1);
    clock.advance(1);
    await log.append(batchOf(['c']));
    expect(await segmentFiles()).toEqual(['00000000000000000000.log', '00000000000000000002.log']);
  });
});

describe('retention', () => {
  it('deletes whole segments whose newest timestamp is older than retentionMs, oldest first', async () => {
    const clock = new ManualClock(T0);
    const log = await open({ segmentBytes: 400, retentionMs: 10 * HOUR }, clock);
    for (let i = 0; i < 20; i++) await log.append(batchOf([`old-${i}`], T0 + i));
    const oldEnd = log.logEndOffset();
    clock.advance(5 * HOUR);
    for (let i = 0; i < 3; i++) await log.append(batchOf([`new-${i}`], T0 + 5 * HOUR));
    const segments = log.stats().segments;
    expect(segments).toBeGreaterThan(3);

    expect((await log.applyRetention(T0 + 10 * HOUR)).deleted).toEqual([]);
    const result = await log.applyRetention(T0 + 10 * HOUR + 100);
    expect(result.deleted.length).toBeGreaterThan(0);
    expect(result.deleted.every((d) => d.reason === 'retention_ms' && d.nextOffset <= oldEnd)).toBe(true);
    expect(result.logStartOffset).toBe(log.logStartOffset());
    expect(log.logStartOffset()).toBe(result.deleted[result.deleted.length - 1]!.nextOffset);
    await expect(log.read(0, 100)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });

    // Everything expired: the log rolls onto an empty segment at its end and every older one goes.
    const all = await log.applyRetention(T0 + 100 * HOUR);
    expect(log.stats().segments).toBe(1);
    expect(all.deleted.length + result.deleted.length).toBe(segments);
    expect(log.logEndOffset()).toBe(23);
    expect(log.logStartOffset()).toBe(23);
    expect(await segmentFiles()).toEqual(['00000000000000000023.log']);
  });

  it('frees a log that never filled a segment: lowering retention rolls the active segment away', async () => {
    // The default segment_bytes (1 GiB) keeps a small topic in one active segment; an operator on a full
    // disk lowers retention and needs that space back.
    const log = await open({ retentionMs: 7 * 24 * HOUR });
    for (let i = 0; i < 10; i++) await log.append(batchOf([`v${i}`], T0));
    expect((await log.applyRetention(T0 + HOUR)).deleted).toEqual([]);
    log.reconfigure({ ...log.config, retentionMs: 1000 });
    const result = await log.applyRetention(T0 + HOUR);
    expect(result.deleted).toEqual([
      { baseOffset: 0, nextOffset: 10, sizeBytes: expect.any(Number), reason: 'retention_ms' },
    ]);
    expect(log.sizeBytes()).toBe(0);
    expect(await segmentFiles()).toEqual(['00000000000000000010.log']);
    expect((await log.append(batchOf(['after'], T0 + HOUR))).baseOffset).toBe(10);
    await log.close();
    const reopened = await open();
    expect(reopened.logStartOffset()).toBe(10);
    expect((await readAll(reopened)).map((r) => r.value)).toEqual(['after']);
  });

  it('deletes the oldest segments while the log stays at least retentionBytes without them', async () => {
    const log = await open({ segmentBytes: 400, retentionBytes: 1000 });
    for (let i = 0; i < 40; i++) await log.append(batchOf([`v-${String(i).padStart(3, '0')}`]));
    const result = await log.applyRetention(T0);
    expect(result.deleted.length).toBeGreaterThan(0);
    expect(result.deleted.every((d) => d.reason === 'retention_bytes')).toBe(true);
    const size = log.sizeBytes();
    expect(size).toBeGreaterThanOrEqual(1000);
    const oldestBytes = (await readAll(log)).length; // still readable from the new start
    expect(oldestBytes).toBe(40 - log.logStartOffset());
    // Deleting one more segment would take it under the limit.
    expect((await log.applyRetention(T0)).deleted).toEqual([]);
    expect((await segmentFiles())[0]).toBe(`${String(log.logStartOffset()).padStart(20, '0')}.log`);
  });

  it('keeps everything with the defaults (7 days, unlimited size) and survives reopen with the new start', async () => {
    const log = await open({ segmentBytes: 400, retentionBytes: 500 });
    for (let i = 0; i < 30; i++) await log.append(batchOf([`v${i}`]));
    await log.applyRetention(T0);
    const start = log.logStartOffset();
    expect(start).toBeGreaterThan(0);
    await log.close();
    const again = await open({ segmentBytes: 400 });
    expect(again.logStartOffset()).toBe(start);
    expect((await again.applyRetention(T0)).deleted).toEqual([]);
  });
});

describe('truncateTo', () => {
  it('drops everything at and after the offset, including index entries, and reuses the offsets', async () => {
    const log = await open({ segmentBytes: 600, indexIntervalBytes: 100 });
    for (let i = 0; i < 30; i++) await log.append(batchOf([`v${i}`, `w${i}`]));
    expect(log.stats().segments).toBeGreaterThan(2);
    // Offset 25 is inside the batch [24, 25]: the whole batch goes.
    expect(await log.truncateTo(25)).toBe(24);
    expect(log.logEndOffset()).toBe(24);
    expect(log.highWatermark()).toBe(24);
    expect((await readAll(log)).map((r) => r.offset)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect((await log.append(batchOf(['again']))).baseOffset).toBe(24);
    expect((await log.read(24, 1)).records.readInt32BE(4)).toBe(24);
    await log.close();
    const reopened = await open({ segmentBytes: 600, indexIntervalBytes: 100 });
    expect((await readAll(reopened)).map((r) => r.value).slice(-2)).toEqual(['w11', 'again']);
  });

  it('truncating at a segment base empties that segment; truncating to the start empties the log', async () => {
    const log = await open({ segmentBytes: 400 });
    for (let i = 0; i < 20; i++) await log.append(batchOf([`v${i}`]));
    const second = Number((await segmentFiles())[1]!.slice(0, 20));
    await log.truncateTo(second);
    expect(log.logEndOffset()).toBe(second);
    expect((await readAll(log)).length).toBe(second);
    expect(await log.truncateTo(0)).toBe(0);
    expect(await segmentFiles()).toEqual(['00000000000000000000.log']);
    expect(log.highWatermark()).toBe(0);
    expect((await log.append(batchOf(['fresh']))).baseOffset).toBe(0);
  });

  it('is a no-op at or past the log end', async () => {
    const log = await open();
    await log.append(batchOf(['a']));
    expect(await log.truncateTo(5)).toBe(1);
    expect(await log.truncateTo(1)).toBe(1);
    expect((await readAll(log)).length).toBe(1);
  });
});

describe('offsetForTimestamp', () => {
  it('finds the first batch whose max timestamp is >= the target, across segments', async () => {
    const log = await open({ segmentBytes: 500, indexIntervalBytes: 100 });
    for (let i = 0; i < 50; i++) await log.append(batchOf([`v${i}`], T0 + i * 1000));
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: T0 });
    expect(await log.offsetForTimestamp(T0 + 20_000)).toEqual({ offset: 20, timestamp: T0 + 20_000 });
    expect(await log.offsetForTimestamp(T0 + 20_001)).toEqual({ offset: 21, timestamp: T0 + 21_000 });
    expect(await log.offsetForTimestamp(T0 + 49_000)).toEqual({ offset: 49, timestamp: T0 + 49_000 });
    expect(await log.offsetForTimestamp(T0 + 49_001)).toBeNull();
    for (let i = 0; i < 50; i += 7) {
      expect((await log.offsetForTimestamp(T0 + i * 1000 - 1))?.offset).toBe(i);
    }
    await log.close();
    const reopened = await open({ segmentBytes: 500, indexIntervalBytes: 100 });
    expect(await reopened.offsetForTimestamp(T0 + 33_500)).toEqual({ offset: 34, timestamp: T0 + 34_000 });
  });

  it('handles timestamps that go backwards (uses each batch max timestamp, first match wins)', async () => {
    const log = await open({ indexIntervalBytes: 50 });
    const stamps = [5000, 1000, 7000, 2000, 9000];
    for (const ts of stamps) await log.append(batchOf(['x'], T0 + ts));
    expect((await log.offsetForTimestamp(T0 + 6000))?.offset).toBe(2);
    expect((await log.offsetForTimestamp(T0 + 8000))?.offset).toBe(4);
    expect((await log.offsetForTimestamp(T0 + 1500))?.offset).toBe(0);
  });
});
