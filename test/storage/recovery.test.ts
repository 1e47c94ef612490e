import { appendFile, open as openFile, readdir, rename, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStreamBusError, type StreamBusError } from '../../src/errors/index.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { batchOf, openLog, readAll, tempDir } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const logs: PartitionLog[] = [];
const FIRST = '00000000000000000000.log';

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

/** Appends n single-record batches and closes; returns each batch's byte size. */
async function fill(n: number, overrides: Parameters<typeof openLog>[1] = {}): Promise<number[]> {
  const log = await openLog(dir.path, overrides);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = batchOf([`value-${i}`]);
    sizes.push(b.length);
    await log.append(b);
  }
  await log.close();
  return sizes;
}

async function flipByte(file: string, position: number) {
  const handle = await openFile(file, 'r+');
  const buf = Buffer.alloc(1);
  await handle.read(buf, 0, 1, position);
  buf[0] = buf[0]! ^ 0x5a;
  await handle.write(buf, 0, 1, position);
  await handle.close();
}

/** `count` batches stamped from `baseOffset` on, as one write appends them (values padded to `valueBytes`). */
function unsyncedWrite(baseOffset: number, count: number, valueBytes = 0): Buffer {
  return Buffer.concat(
    Array.from({ length: count }, (_, k) => {
      const b = batchOf([`lost-${k}`.padEnd(valueBytes, '.')]);
      b.writeBigInt64BE(BigInt(baseOffset + k), 0);
      return b;
    }),
  );
}

async function openError(overrides: Parameters<typeof openLog>[1] = {}): Promise<StreamBusError> {
  const err = await openLog(dir.path, overrides).then(
    (log) => {
      logs.push(log);
      return undefined;
    },
    (e: unknown) => e,
  );
  if (!isStreamBusError(err)) throw new Error(`expected a StreamBusError, got ${String(err)}`);
  return err;
}

describe('PartitionLog recovery', () => {
  it('truncates a torn tail (half a batch at the end of the active segment) and keeps the valid prefix', async () => {
    await fill(5);
    const file = join(dir.path, FIRST);
    const sizeBefore = (await stat(file)).size;
    const half = batchOf(['torn-away']);
    half.writeInt32BE(0, 0);
    half.writeInt32BE(5, 4);
    await appendFile(file, half.subarray(0, Math.floor(half.length / 2)));
    const log = await open();
    expect(log.logEndOffset()).toBe(5);
    expect((await readAll(log)).map((r) => r.value)).toEqual([0, 1, 2, 3, 4].map((i) => `value-${i}`));
    expect((await stat(file)).size).toBe(sizeBefore);
    expect((await log.append(batchOf(['after']))).baseOffset).toBe(5);
  });

  it('truncates a final batch with a bad CRC when nothing valid follows it', async () => {
    const sizes = await fill(4);
    const file = join(dir.path, FIRST);
    const lastStart = sizes.slice(0, 3).reduce((a, b) => a + b, 0);
    await flipByte(file, lastStart + 70);
    const log = await open();
    expect(log.logEndOffset()).toBe(3);
    expect((await stat(file)).size).toBe(lastStart);
  });

  it('truncates a zero-filled tail (file extended but never written)', async () => {
    await fill(3);
    const file = join(dir.path, FIRST);
    const size = (await stat(file)).size;
    await truncate(file, size + 4096);
    const log = await open();
    expect(log.logEndOffset()).toBe(3);
    expect((await stat(file)).size).toBe(size);
  });

  it('refuses mid-log corruption with CORRUPT_LOG naming the file and position, and changes nothing', async () => {
    const sizes = await fill(6);
    const file = join(dir.path, FIRST);
    const secondStart = sizes[0]!;
    await flipByte(file, secondStart + 65);
    const sizeBefore = (await stat(file)).size;
    const err = await openError();
    expect(err.code).toBe('CORRUPT_LOG');
    expect(err.metadata).toMatchObject({ file, position: secondStart });
    expect((await stat(file)).size).toBe(sizeBefore);
  });

  // Power loss in the middle of an unsynced write: its 512-byte sectors land in any order, and one that did
  // not land reads as zeros when a later one extended the file.
  it('truncates a torn write whose first sector did not land while a later one did (zeros, then valid data)', async () => {
    const sizes = await fill(2);
    const file = join(dir.path, FIRST);
    const syncedEnd = sizes[0]! + sizes[1]!;
    expect(syncedEnd).toBeLessThan(512 - 12);
    // The lost write: batches 2.. from the synced end; of its sectors only those from byte 1024 on landed.
    const lost = unsyncedWrite(2, 20);
    const handle = await openFile(file, 'r+');
    await handle.write(lost.subarray(1024 - syncedEnd), 0, lost.length - (1024 - syncedEnd), 1024);
    await handle.close();
    const log = await open();
    expect(log.logEndOffset()).toBe(2);
    expect((await stat(file)).size).toBe(syncedEnd);
    expect((await log.append(batchOf(['after']))).baseOffset).toBe(2);
  });

  it('truncates a torn write whose lost first sector held only the base offset of its first batch', async () => {
    // Synced batches end 8 bytes before a sector boundary: the lost sector holds just the next batch's base
    // offset (zeros), and that batch's CRC, which starts after the offset, still holds.
    const log = await openLog(dir.path);
    const first = batchOf(['value-0']);
    await log.append(first);
    let valueBytes = 0;
    while (batchOf(['x'.repeat(valueBytes)]).length < 1016 - first.length) valueBytes++;
    expect(first.length + batchOf(['x'.repeat(valueBytes)]).length).toBe(1016);
    await log.append(batchOf(['x'.repeat(valueBytes)]));
    await log.close();
    const file = join(dir.path, FIRST);
    const lost = unsyncedWrite(2, 3);
    const handle = await openFile(file, 'r+');
    await handle.write(lost.subarray(8), 0, lost.length - 8, 1024);
    await handle.close();
    const reopened = await open();
    expect(reopened.logEndOffset()).toBe(2);
    expect((await stat(file)).size).toBe(1016);
    expect((await reopened.append(batchOf(['after']))).baseOffset).toBe(2);
  });

  it('truncates a torn write one of whose middle sectors did not land (a whole sector of zeros)', async () => {
    const sizes = await fill(2);
    const file = join(dir.path, FIRST);
    const syncedEnd = sizes[0]! + sizes[1]!;
    const lost = unsyncedWrite(2, 20, 300);
    lost.fill(0, 1024 - syncedEnd, 1536 - syncedEnd); // the sector [1024, 1536) did not land
    await appendFile(file, lost);
    // Kept: the lost write's batches that end before the sector; the one across it and all after go.
    const batchBytes = lost.length / 20;
    const whole = Math.floor((1024 - syncedEnd) / batchBytes);
    const log = await open();
    expect(log.logEndOffset()).toBe(2 + whole);
    expect((await stat(file)).size).toBe(syncedEnd + whole * batchBytes);
    expect((await readAll(log)).map((r) => String(r.value)).slice(0, 2)).toEqual(['value-0', 'value-1']);
  });

  it('still refuses bad bytes followed by valid data when no sector of them is zeros (corruption, not a torn write)', async () => {
    const sizes = await fill(12);
    const file = join(dir.path, FIRST);
    const at = sizes.slice(0, 8).reduce((a, b) => a + b, 0);
    await flipByte(file, at + 70);
    const err = await openError();
    expect(err.code).toBe('CORRUPT_LOG');
    expect(err.metadata).toMatchObject({ file, position: at });
  });

  it('refuses a corrupted length field in the middle (the rest of the log would look torn)', async () => {
    const sizes = await fill(6);
    const file = join(dir.path, FIRST);
    await flipByte(file, sizes[0]! + 9);
    const err = await openError();
    expect(err.code).toBe('CORRUPT_LOG');
    expect(err.metadata).toMatchObject({ file, position: sizes[0]! });
  });

  it('refuses batches whose offsets are not contiguous', async () => {
    const sizes = await fill(3);
    const file = join(dir.path, FIRST);
    // The base offset is not covered by the CRC: only the contiguity check catches this.
    await flipByte(file, sizes[0]! + 7);
    const err = await openError();
    expect(err.code).toBe('CORRUPT_LOG');
    expect(err.metadata).toMatchObject({ position: sizes[0]!, expectedOffset: 1 });
  });

  it('refuses corruption inside a closed (non-active) segment', async () => {
    await fill(40, { segmentBytes: 1024 });
    const files = (await readdir(dir.path)).filter((f) => f.endsWith('.log')).sort();
    expect(files.length).toBeGreaterThan(2);
    const victim = join(dir.path, files[1]!);
    await flipByte(victim, 65);
    // Without its persisted index the segment is fully rescanned, so the flip is seen wherever it is.
    await unlink(victim.replace(/\.log$/, '.index'));
    const err = await openError({ segmentBytes: 1024 });
    expect(err.code).toBe('CORRUPT_LOG');
    expect(err.metadata).toMatchObject({ file: victim, position: 0 });
  });

  it('refuses a gap between segments', async () => {
    await fill(40, { segmentBytes: 1024 });
    const files = (await readdir(dir.path)).filter((f) => f.endsWith('.log')).sort();
    await unlink(join(dir.path, files[1]!));
    const err = await openError({ segmentBytes: 1024 });
    expect(err.code).toBe('CORRUPT_LOG');
    expect(err.metadata).toMatchObject({ file: join(dir.path, files[2]!) });
  });

  it('rebuilds missing or damaged indexes of closed segments and still serves every offset', async () => {
    await fill(60, { segmentBytes: 1024, indexIntervalBytes: 100 });
    const names = await readdir(dir.path);
    const indexes = names.filter((f) => f.endsWith('.index') || f.endsWith('.timeindex'));
    expect(indexes.length).toBeGreaterThan(2);
    await unlink(join(dir.path, indexes[0]!));
    await appendFile(join(dir.path, indexes[1]!), Buffer.from([1, 2, 3]));
    const log = await open({ segmentBytes: 1024, indexIntervalBytes: 100 });
    const all = await readAll(log);
    expect(all.map((r) => r.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    for (const offset of [0, 17, 31, 59]) {
      expect((await log.read(offset, 1)).records.readInt32BE(4)).toBe(offset);
    }
  });

  it('opens closed segments from their persisted indexes without rescanning them', async () => {
    // Constant timestamps: the closing time-index entry must still record where each segment ends.
    await fill(60, { segmentBytes: 1024, indexIntervalBytes: 100 });
    const messages: string[] = [];
    const record = (_: Record<string, unknown>, msg: string) => messages.push(msg);
    const log = await openLog(
      dir.path,
      { segmentBytes: 1024, indexIntervalBytes: 100 },
      { logger: { info: record, warn: record, error: record } },
    );
    logs.push(log);
    expect(log.stats().segments).toBeGreaterThan(3);
    expect(messages).not.toContain('rebuilding segment indexes');
    expect(log.logEndOffset()).toBe(60);
  });

  it('ignores a stray index with no log and a leftover temp file', async () => {
    await fill(2);
    await rename(join(dir.path, FIRST), join(dir.path, 'keep'));
    await rename(join(dir.path, 'keep'), join(dir.path, FIRST));
    await appendFile(join(dir.path, '00000000000000000099.index'), Buffer.alloc(8));
    await appendFile(join(dir.path, '00000000000000000000.index.tmp'), Buffer.alloc(3));
    const log = await open();
    expect(log.logEndOffset()).toBe(2);
    const names = await readdir(dir.path);
    expect(names).not.toContain('00000000000000000099.index');
    expect(names).not.toContain('00000000000000000000.index.tmp');
  });
});
