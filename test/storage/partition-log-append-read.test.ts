import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { crc32c } from '../../src/protocol/crc32c.js';
import { readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { batchOf, openLog, readAll, tempDir, valuesOf } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const logs: PartitionLog[] = [];

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await Promise.allSettled(logs.splice(0).map((l) => l.close()));
  await dir.cleanup();
});

async function open(overrides: Parameters<typeof openLog>[1] = {}) {
  const log = await openLog(dir.path, overrides);
  logs.push(log);
  return log;
}

async function expectCode(promise: Promise<unknown>, code: string) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStreamBusError(err) ? err.code : err).toBe(code);
}

describe('PartitionLog append and read', () => {
  it('returns what was appended, with offsets assigned contiguously in call order', async () => {
    const log = await open();
    const a = await log.append(batchOf(['a0', 'a1', 'a2']));
    const b = await log.append(batchOf(['b0']));
    expect(a).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    expect(b).toMatchObject({ baseOffset: 3, lastOffset: 3 });
    expect(log.highWatermark()).toBe(4);
    expect(log.logEndOffset()).toBe(4);
    const { records, highWatermark, logStartOffset } = await log.read(0, 1 << 20);
    expect({ highWatermark, logStartOffset }).toEqual({ highWatermark: 4, logStartOffset: 0 });
    expect(valuesOf(records)).toEqual([
      { offset: 0, value: 'a0' },
      { offset: 1, value: 'a1' },
      { offset: 2, value: 'a2' },
      { offset: 3, value: 'b0' },
    ]);
  });

  it('stores several concatenated batches of one append as separate stamped batches', async () => {
    const log = await open();
    const result = await log.append(Buffer.concat([batchOf(['x', 'y']), batchOf(['z'])]));
    expect(result).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    const batches = [...splitBatches((await log.read(0, 1 << 20)).records)];
    expect(batches.map((b) => readBatchHeader(b).baseOffset)).toEqual([0, 2]);
  });

  it('keeps offsets contiguous across segment rolls and reads across segments', async () => {
    const log = await open({ segmentBytes: 1024, indexIntervalBytes: 128 });
    const expected: { offset: number; value: string }[] = [];
    for (let i = 0; i < 60; i++) {
      const values = [`v${i}-0`, `v${i}-1`];
      const r = await log.append(batchOf(values));
      expect(r.baseOffset).toBe(i * 2);
      for (const [j, value] of values.entries()) expected.push({ offset: i * 2 + j, value });
    }
    expect(log.stats().segments).toBeGreaterThan(3);
    const files = (await readdir(dir.path)).filter((f) => f.endsWith('.log')).sort();
    expect(files[0]).toBe('00000000000000000000.log');
    expect(files.every((f) => /^\d{20}\.log$/.test(f))).toBe(true);
    expect(await readAll(log)).toEqual(expected);
    // Reading from every offset starts with the batch that contains it.
    for (let offset = 0; offset < 120; offset++) {
      const first = valuesOf((await log.read(offset, 1)).records)[0]!;
      expect(first.offset).toBe(offset - (offset % 2));
    }
  });

  it('returns at least one whole batch even when it is larger than maxBytes, and only whole batches', async () => {
    const log = await open();
    const big = batchOf(['x'.repeat(5000)]);
    await log.append(big);
    await log.append(batchOf(['small']));
    const one = await log.read(0, 10);
    expect(one.records.length).toBe(big.length);
    const cut = await log.read(0, big.length + 20);
    expect(cut.records.length).toBe(big.length);
    const both = await log.read(0, 1 << 20);
    expect(valuesOf(both.records).map((v) => v.value)).toEqual(['x'.repeat(5000), 'small']);
  });

  it('answers fetchOffset == high watermark with no records and out-of-range offsets with OFFSET_OUT_OF_RANGE', async () => {
    const log = await open();
    await log.append(batchOf(['a']));
    expect((await log.read(1, 100)).records.length).toBe(0);
    await expectCode(log.read(2, 100), 'OFFSET_OUT_OF_RANGE');
    await expectCode(log.read(-1, 100), 'OFFSET_OUT_OF_RANGE');
  });

  it('rejects invalid input without appending anything', async () => {
    const log = await open({ batchBytesMax: 2000 });
    const corrupt = batchOf(['a']);
    corrupt[corrupt.length - 1]! ^= 0xff;
    await expectCode(log.append(corrupt), 'CORRUPT_BATCH');
    await expectCode(log.append(batchOf(['a']).subarray(0, 40)), 'INVALID_BATCH');
    await expectCode(log.append(Buffer.concat([batchOf(['ok']), Buffer.from([1, 2, 3])])), 'INVALID_BATCH');
    await expectCode(log.append(Buffer.alloc(0)), 'INVALID_BATCH');
    await expectCode(log.append(batchOf(['y'.repeat(3000)])), 'BATCH_TOO_LARGE');
    const badMagic = batchOf(['a']);
    badMagic[16] = 1;
    await expectCode(log.append(badMagic), 'INVALID_BATCH');
    // A 70-byte batch claiming two billion records would burn two billion offsets.
    const greedy = batchOf(['a']);
    greedy.writeInt32BE(2_000_000_000 - 1, 23);
    greedy.writeInt32BE(2_000_000_000, 57);
    greedy.writeUInt32BE(crc32c(greedy.subarray(21)), 17);
    await expectCode(log.append(greedy), 'INVALID_BATCH');
    expect(log.logEndOffset()).toBe(0);
    expect((await log.append(batchOf(['fine']))).baseOffset).toBe(0);
  });

  it('rejects appends and reads after close with LOG_CLOSED', async () => {
    const log = await open();
    await log.close();
    await expectCode(log.append(batchOf(['a'])), 'LOG_CLOSED');
    await expectCode(log.read(0, 10), 'LOG_CLOSED');
  });

  it('keeps everything across close and reopen, and continues the offsets', async () => {
    const log = await open({ segmentBytes: 2048 });
    for (let i = 0; i < 40; i++) await log.append(batchOf([`m${i}`]));
    const before = await readAll(log);
    await log.close();
    const again = await open({ segmentBytes: 2048 });
    expect(again.highWatermark()).toBe(40);
    expect(await readAll(again)).toEqual(before);
    expect((await again.append(batchOf(['next']))).baseOffset).toBe(40);
  });
});
