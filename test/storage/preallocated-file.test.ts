/**
 * Zero-filled space ahead of a durable segment's end (src/storage/preallocated-file.ts): small appends start
 * fills, a fill never lands on data, rolls and truncations cut the zeros away, and a crash that leaves them
 * in place loses nothing on reopen.
 */
import { cp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DIRECT_BLOCK_BYTES } from '../../src/storage/direct-write-file.js';
import {
  FILL_RETRY_AFTER_MS,
  FIRST_FILL_BYTES,
  PreallocatedFile,
  SMALL_WRITE_BYTES,
} from '../../src/storage/preallocated-file.js';
import { wholeBatchesLength } from '../../src/storage/segment-reader.js';
import type { StorageFile } from '../../src/storage/storage-fs.js';
import { batchOf, openLog, readAll, tempDir } from './helpers.js';
import { EntryMaker, openReplicated } from './replicated-log-helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

/** An in-memory file whose writes of all-zero buffers (fills) wait until the test releases them. */
class HeldFillFile implements StorageFile {
  readonly durableWrites = true;
  bytes = Buffer.alloc(0);
  /** Every write in the order it reached the file: position and whether it was zeros. */
  log: { position: number; length: number; zeros: boolean }[] = [];
  private heldFills: (() => void)[] = [];
  failFills = false;
  /** Fills write their zeros, then fail (a disk that filled up half-way through). */
  failFillsAfterWriting = false;

  async writev(buffers: readonly Buffer[], position: number): Promise<void> {
    const data = Buffer.concat(buffers);
    const zeros = data.every((b) => b === 0);
    if (zeros) {
      await new Promise<void>((resolve) => this.heldFills.push(resolve));
      if (this.failFills) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    }
    this.log.push({ position, length: data.length, zeros });
    if (this.bytes.length < position + data.length) {
      const grown = Buffer.alloc(position + data.length);
      this.bytes.copy(grown);
      this.bytes = grown;
    }
    data.copy(this.bytes, position);
    if (zeros && this.failFillsAfterWriting) {
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    }
  }

  releaseFills(): void {
    for (const release of this.heldFills.splice(0)) release();
  }

  get fillsWaiting(): number {
    return this.heldFills.length;
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.bytes.copy(buffer, offset, position, Math.min(this.bytes.length, position + length));
  }

  async datasync(): Promise<void> {}

  async truncate(length: number): Promise<void> {
    const cut = Buffer.alloc(length);
    this.bytes.copy(cut, 0, 0, Math.min(length, this.bytes.length));
    this.bytes = cut;
  }

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async close(): Promise<void> {}
}

const CHUNK = 4096;
const BLOCK = DIRECT_BLOCK_BYTES;

describe('PreallocatedFile', () => {
  it('starts one fill of a chunk at the block boundary after the data end once a small write completes', async () => {
    const inner = new HeldFillFile();
    const file = new PreallocatedFile(inner, CHUNK, () => {});
    await file.writev([Buffer.alloc(100, 1)], 0);
    expect(inner.fillsWaiting).toBe(1);
    inner.releaseFills();
    await vi.waitFor(() => expect(file.fills).toBe(1));
    // Never inside the block the data ends in: a direct write rewrites that whole block.
    expect(inner.log.filter((w) => w.zeros)).toEqual([{ position: BLOCK, length: CHUNK, zeros: true }]);
    expect(await file.size()).toBe(BLOCK + CHUNK);
    await file.writev([Buffer.alloc(100, 2)], 100);
    // Plenty of headroom now: the next small writes start no fill until less than half a chunk is left.
    await file.writev([Buffer.alloc(100, 3)], 200);
    expect(inner.fillsWaiting).toBe(0);
    await file.writev([Buffer.alloc(BLOCK + CHUNK / 2 + 1 - 300, 4)], 300);
    expect(inner.fillsWaiting).toBe(1);
    inner.releaseFills();
    await vi.waitFor(() => expect(file.fills).toBe(2));
    expect(inner.log.filter((w) => w.zeros).map((w) => w.position)).toEqual([BLOCK, BLOCK + CHUNK]);
  });

  it('fills little ahead of a file that took one small write, and doubles each fill up to the chunk', async () => {
    // An idle partition's segment gets a few Raft entries: a whole chunk of zeros for each of thousands of
    // partitions was most of what creating them wrote.
    const chunk = 16 * FIRST_FILL_BYTES;
    const inner = new HeldFillFile();
    const file = new PreallocatedFile(inner, chunk, () => {});
    let end = 0;
    for (let fills = 1; fills <= 6; fills++) {
      // Small writes until one leaves less than half the next fill's size ahead: that one starts it.
      while (inner.fillsWaiting === 0) {
        await file.writev([Buffer.alloc(SMALL_WRITE_BYTES - 1, 1)], end);
        end += SMALL_WRITE_BYTES - 1;
      }
      inner.releaseFills();
      await vi.waitFor(() => expect(file.fills).toBe(fills));
    }
    const sizes = inner.log.filter((w) => w.zeros).map((w) => w.length / FIRST_FILL_BYTES);
    expect(sizes).toEqual([1, 2, 4, 8, 16, 16]);
  });

  it('makes a data write that reaches into a running fill wait for it, so zeros never land on data', async () => {
    const inner = new HeldFillFile();
    const file = new PreallocatedFile(inner, CHUNK, () => {});
    await file.writev([Buffer.alloc(100, 1)], 0);
    expect(inner.fillsWaiting).toBe(1); // zeros for [BLOCK, BLOCK + CHUNK), held
    const data = Buffer.alloc(BLOCK, 7);
    const write = file.writev([data], 100);
    await new Promise((resolve) => setImmediate(resolve));
    expect(inner.log.map((w) => w.position)).toEqual([0]); // the data write has not been issued yet
    inner.releaseFills();
    await write;
    expect(inner.log.map((w) => [w.position, w.zeros])).toEqual([
      [0, false],
      [BLOCK, true],
      [100, false],
    ]);
    expect(inner.bytes.subarray(100, 100 + BLOCK).equals(data)).toBe(true);
  });

  it('starts no fill for large writes, which already amortise the cost of growing the file', async () => {
    const inner = new HeldFillFile();
    const file = new PreallocatedFile(inner, CHUNK, () => {});
    await file.writev([Buffer.alloc(SMALL_WRITE_BYTES, 1)], 0);
    expect(inner.fillsWaiting).toBe(0);
  });

  it('cuts the zeros on truncate (after a running fill ends) and on close', async () => {
    const inner = new HeldFillFile();
    const file = new PreallocatedFile(inner, CHUNK, () => {});
    await file.writev([Buffer.alloc(100, 1)], 0);
    const truncated = file.truncate(50);
    inner.releaseFills();
    await truncated;
    expect(await file.size()).toBe(50);
    await file.writev([Buffer.alloc(30, 2)], 50);
    inner.releaseFills();
    await vi.waitFor(() => expect(file.fills).toBe(2));
    expect(await file.size()).toBe(BLOCK + CHUNK);
    await file.close();
    expect(inner.bytes.length).toBe(80);
  });

  it('pauses fills after one fails, reports it once, and fills again once the pause is over', async () => {
    const inner = new HeldFillFile();
    const errors: unknown[] = [];
    let now = 1_000;
    const file = new PreallocatedFile(
      inner,
      CHUNK,
      (err) => errors.push(err),
      () => now,
    );
    inner.failFills = true;
    await file.writev([Buffer.alloc(100, 1)], 0);
    inner.releaseFills();
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    // Within the pause: data writes go on and start no fill.
    await file.writev([Buffer.alloc(100, 2)], 100);
    expect(inner.fillsWaiting).toBe(0);
    expect(inner.bytes.subarray(100, 200).every((b) => b === 2)).toBe(true);
    // After it, the next small write tries again; still refused, and not reported a second time.
    now += FILL_RETRY_AFTER_MS;
    await file.writev([Buffer.alloc(100, 3)], 200);
    expect(inner.fillsWaiting).toBe(1);
    inner.releaseFills();
    await vi.waitFor(() => expect(file.fills + errors.length).toBe(1));
    await file.writev([Buffer.alloc(100, 4)], 300);
    expect(inner.fillsWaiting).toBe(0);
    // The disk has space again: the next try succeeds and lays zeros ahead of the data.
    inner.failFills = false;
    now += FILL_RETRY_AFTER_MS;
    await file.writev([Buffer.alloc(100, 5)], 400);
    inner.releaseFills();
    await vi.waitFor(() => expect(file.fills).toBe(1));
    expect(errors).toHaveLength(1);
    expect(inner.bytes.length).toBeGreaterThan(500);
    expect(inner.bytes.subarray(400, 500).every((b) => b === 5)).toBe(true);
    expect(inner.bytes.subarray(500).every((b) => b === 0)).toBe(true);
    // A failure after that success is a new streak, reported again.
    inner.failFills = true;
    await file.writev([Buffer.alloc(6_000, 6)], 500);
    expect(inner.fillsWaiting).toBe(1);
    inner.releaseFills();
    await vi.waitFor(() => expect(errors).toHaveLength(2));
  });

  it('cuts zeros a failed fill left behind when it closes', async () => {
    const inner = new HeldFillFile();
    const file = new PreallocatedFile(inner, CHUNK, () => {});
    await file.writev([Buffer.alloc(100, 1)], 0);
    // The fill is refused after it wrote its zeros (a disk filling up half-way through).
    inner.failFillsAfterWriting = true;
    inner.releaseFills();
    await vi.waitFor(() => expect(inner.bytes.length).toBeGreaterThan(100));
    await file.close();
    expect(inner.bytes.length).toBe(100);
  });
});

async function segmentFiles(folder: string): Promise<string[]> {
  return (await readdir(folder))
    .filter((n) => n.endsWith('.log'))
    .sort()
    .map((n) => join(folder, n));
}

/** Sizes on disk of the folder's segment files, oldest first. */
async function segmentFileSizes(folder: string): Promise<number[]> {
  return Promise.all((await segmentFiles(folder)).map(async (f) => (await stat(f)).size));
}

/** Whether the file is batches back to back up to its very end. */
async function holdsOnlyBatches(file: string): Promise<boolean> {
  const bytes = await readFile(file);
  return wholeBatchesLength(bytes, bytes.length) === bytes.length;
}

describe("segments under flush_policy 'always'", () => {
  it('keep zeros ahead of the active segment end, and a rolled segment holds exactly its batches', async () => {
    const log = await openLog(dir.path, {
      flushPolicy: 'always',
      preallocateBytes: 64 * 1024,
      segmentBytes: 8192,
    });
    await log.append(batchOf(['a', 'b']));
    await vi.waitFor(async () =>
      expect((await segmentFileSizes(dir.path))[0]).toBeGreaterThan(log.sizeBytes()),
    );
    expect(await segmentFileSizes(dir.path)).toEqual([
      Math.ceil(log.sizeBytes() / BLOCK) * BLOCK + 64 * 1024,
    ]);
    for (let i = 0; (await segmentFileSizes(dir.path)).length < 3; i++) {
      await log.append(batchOf([`v${i}`.padEnd(500, '.')]));
    }
    // Closed segments are cut to their batches: recovery would call bytes after them corruption.
    const files = await segmentFiles(dir.path);
    for (const closed of files.slice(0, -1)) expect(await holdsOnlyBatches(closed)).toBe(true);
    expect(await holdsOnlyBatches(files.at(-1)!)).toBe(false); // the active one has zeros ahead
    await log.close();
    // Closing cuts the active segment's zeros too.
    expect(await holdsOnlyBatches(files.at(-1)!)).toBe(true);
    const reopened = await openLog(dir.path, { flushPolicy: 'always', segmentBytes: 8192 });
    expect((await readAll(reopened)).length).toBe(reopened.highWatermark());
    await reopened.close();
  });

  it('lose nothing acknowledged when a crash leaves the zeros in place', async () => {
    const logs: string[] = [];
    const logger = {
      debug: () => {},
      info: (_o: object, msg: string) => logs.push(`info ${msg}`),
      warn: (_o: object, msg: string) => logs.push(`warn ${msg}`),
      error: (_o: object, msg: string) => logs.push(`error ${msg}`),
    };
    const log = await openLog(dir.path, { flushPolicy: 'always', preallocateBytes: 64 * 1024 });
    for (let i = 0; i < 20; i++) await log.append(batchOf([`m${i}`]));
    await vi.waitFor(async () =>
      expect((await segmentFileSizes(dir.path))[0]).toBeGreaterThan(log.sizeBytes()),
    );
    // A copy taken while the log is open is what a crash (kill -9) leaves on disk: data, then zeros.
    const crashed = `${dir.path}-crashed`;
    await cp(dir.path, crashed, { recursive: true });
    await log.close();
    try {
      const recovered = await openLog(crashed, { flushPolicy: 'always' }, { logger });
      expect((await readAll(recovered)).map((r) => r.value)).toEqual(
        Array.from({ length: 20 }, (_, i) => `m${i}`),
      );
      expect(logs).toContain('info dropping zero-filled tail');
      expect(logs.filter((l) => l.startsWith('warn') || l.startsWith('error'))).toEqual([]);
      await recovered.append(batchOf(['after']));
      expect((await readAll(recovered)).at(-1)?.value).toBe('after');
      await recovered.close();
    } finally {
      await rm(crashed, { recursive: true, force: true });
    }
  });

  it('are not zero-filled when preallocate_bytes is 0 or the flush policy is not always', async () => {
    for (const overrides of [
      { flushPolicy: 'always' as const, preallocateBytes: 0 },
      { flushPolicy: 'never' as const, preallocateBytes: 64 * 1024 },
    ]) {
      const log = await openLog(dir.path, overrides);
      for (let i = 0; i < 5; i++) await log.append(batchOf([`x${i}`]));
      expect(await segmentFileSizes(dir.path)).toEqual([log.sizeBytes()]);
      await log.close();
      await dir.cleanup();
      dir = await tempDir();
    }
  });

  it('of a replicated log: a rolled segment holds exactly its batches', async () => {
    const log = await openReplicated(dir.path, {
      flushPolicy: 'always',
      preallocateBytes: 64 * 1024,
      segmentBytes: 300,
    });
    const m = new EntryMaker();
    for (let k = 0; k < 12; k++) await log.save({ entries: [m.data(1, [`v${k}`])] }, true);
    await vi.waitFor(async () => {
      const sizes = await segmentFileSizes(dir.path);
      expect(sizes.at(-1)).toBeGreaterThan(64 * 1024);
    });
    const files = await segmentFiles(dir.path);
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const closed of files.slice(0, -1)) expect(await holdsOnlyBatches(closed)).toBe(true);
    await log.close();
  });
});
