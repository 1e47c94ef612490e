/**
 * Segment writes that can bypass the OS page cache (O_DIRECT | O_DSYNC).
 *
 * A buffered write copies every byte into page-cache pages the kernel must first find memory for; on the
 * benchmark VM that copy is the largest single cost of a replicated write (docs/benchmarks.md: a third of all
 * CPU samples in an RF 3 publish, three replicas each copying every byte), and a follower's copy is almost
 * never read back: consumers read from the leader. A direct write hands the device the process's own buffer
 * instead: measured 1.2-1.5 GB/s and 15x less kernel CPU against 320 MB/s buffered for 1 MiB O_DSYNC writes.
 * So a follower writes direct and a leader buffered (its consumers then read from the page cache); the replica
 * switches with `bypassPageCache` when its role changes. Writes under 64 KiB and the zeros written ahead of
 * them stay cached either way (latency-bound; see DIRECT_WRITE_MIN_BYTES and writevCached). Reads, truncation
 * and size use the ordinary descriptor, which the kernel keeps coherent with direct writes; the O_DIRECT one
 * is opened at the first direct write, so closed segments hold none.
 *
 * Direct I/O moves whole aligned blocks from aligned memory, so a write at `position` rewrites the block it
 * starts in: the block's bytes before `position` (kept from the previous write, or read back) go first, and
 * the last block is padded with zeros. The file therefore ends up to one block past the data; those zeros are
 * what a crash leaves after the data of an active segment anyway (recovery drops a zero tail, and rolls and
 * clean closes cut the file to its data). Rewriting a block that already holds acknowledged bytes is what
 * the kernel's own writeback of a partly written page does too: a block is the unit the device writes whole.
 * Aligned memory comes from WebAssembly memories, whose storage starts on a page boundary.
 */
import type { StorageFile } from './storage-fs.js';

/** Alignment of direct writes: the file system block (ext4: 4 KiB), a multiple of any device's sector. */
export const DIRECT_BLOCK_BYTES = 4096;
/**
 * Smaller writes go through the page cache even while bypassing: they are latency-bound, the copy they would
 * save is small, and rewriting their whole block measured slightly slower (acks=all p50 +5% on RF 3).
 */
export const DIRECT_WRITE_MIN_BYTES = 64 * 1024;
/** One direct write moves at most this much (a larger write is several, in order). */
export const STAGING_BYTES = 2 * 1024 * 1024;
/** Staging buffers kept for reuse (each is its own WebAssembly memory). */
const STAGING_KEPT = 8;
const WASM_PAGE_BYTES = 65536;

/** The one WebAssembly API used (the project's TypeScript lib does not declare WebAssembly). */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer } };

/** The descriptor direct writes go through (node's FileHandle opened with O_DIRECT | O_DSYNC). */
export interface DirectHandle {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  close(): Promise<void>;
}

const freeStaging: Buffer[] = [];

function takeStaging(): Buffer {
  const kept = freeStaging.pop();
  if (kept !== undefined) return kept;
  const memory = new WebAssembly.Memory({ initial: STAGING_BYTES / WASM_PAGE_BYTES });
  return Buffer.from(memory.buffer, 0, STAGING_BYTES);
}

function returnStaging(buffer: Buffer): void {
  if (freeStaging.length < STAGING_KEPT) freeStaging.push(buffer);
}

function alignDown(n: number): number {
  return n - (n % DIRECT_BLOCK_BYTES);
}

/** Copies `length` bytes of the concatenation of `buffers`, from byte `skip` on, into `target[at..]`. */
function copyFrom(
  buffers: readonly Buffer[],
  skip: number,
  target: Buffer,
  at: number,
  length: number,
): void {
  for (const b of buffers) {
    if (length === 0) return;
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    const n = Math.min(b.length - skip, length);
    b.copy(target, at, skip, skip + n);
    at += n;
    length -= n;
    skip = 0;
  }
}

/** Direct I/O could not be opened or was refused: the write goes through the page cache instead. */
class DirectUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super(`direct I/O unavailable: ${String(cause)}`);
  }
}

export class DirectWriteFile implements StorageFile {
  readonly durableWrites = true;
  /** Writes go around the page cache while true, through it (the ordinary descriptor) while false. */
  private direct = false;
  /** Set once the file system refused a direct write (EINVAL: alignment it wants larger than a block). */
  private directRefused = false;
  /**
   * The data bytes of the block at `tailStart` (the block the last write ended in), so the next append into
   * that block need not read them back from the device; null when unknown.
   */
  private tail: Buffer | null = null;
  private tailStart = 0;
  /** The O_DIRECT descriptor, opened at the first direct write (closed segments never need one). */
  private directHandle: Promise<DirectHandle> | null = null;

  constructor(
    /** The ordinary descriptor, opened O_DSYNC: reads, truncation, size, and writes while not direct. */
    private readonly file: StorageFile,
    private readonly openDirect: () => Promise<DirectHandle>,
    private readonly options: {
      /** Writes smaller than this go through the page cache anyway (tests and the simulator lower it). */
      minBytes?: number;
      /** Told once if direct I/O fails to open or is refused (the file writes through the cache from then). */
      onRefused?: (err: unknown) => void;
    } = {},
  ) {}

  bypassPageCache(on: boolean): void {
    this.direct = on && !this.directRefused;
  }

  writev(buffers: readonly Buffer[], position: number): Promise<void> {
    return this.write(buffers, position, this.direct);
  }

  /**
   * Through the page cache whatever the mode: the zeros written ahead of small appends (preallocated-file.ts),
   * which those appends then overwrite in the cache; zeros written around it would have to be read back
   * from the device before a partial page could be written.
   */
  writevCached(buffers: readonly Buffer[], position: number): Promise<void> {
    return this.write(buffers, position, false);
  }

  private async write(buffers: readonly Buffer[], position: number, bypass: boolean): Promise<void> {
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    if (bytes === 0) return;
    const start = alignDown(position);
    const direct = bypass && bytes >= (this.options.minBytes ?? DIRECT_WRITE_MIN_BYTES);
    // The block's bytes before `position`: a direct write rewrites them; a buffered one only keeps them.
    let head: Buffer | null = null;
    if (position > start) {
      head = direct ? await this.headBytes(start, position - start) : this.rememberedHead(start, position);
    }
    if (direct) {
      try {
        await this.writeDirect(buffers, bytes, start, head);
      } catch (err) {
        if (!(err instanceof DirectUnavailable)) throw err;
        // Whatever part landed is rewritten, now through the page cache, which takes any alignment.
        this.directRefused = true;
        this.direct = false;
        this.options.onRefused?.(err.cause);
        await this.file.writev(buffers, position);
      }
    } else {
      await this.file.writev(buffers, position);
    }
    // Only a bypassing file rewrites blocks; a leader's (cached) appends skip the bookkeeping, and its first
    // direct write after becoming a follower reads its block back once.
    if (this.direct) this.rememberTail(buffers, bytes, position, head);
    else this.tail = null;
  }

  private async writeDirect(
    buffers: readonly Buffer[],
    bytes: number,
    start: number,
    head: Buffer | null,
  ): Promise<void> {
    const headLength = head?.length ?? 0;
    const total = headLength + bytes;
    const staging = takeStaging();
    try {
      // Piece by piece: [start + done, ...) of (head bytes, then the data).
      for (let done = 0; done < total; ) {
        const length = Math.min(STAGING_BYTES, total - done);
        const fromHead = head !== null && done < headLength ? head.copy(staging, 0, done, headLength) : 0;
        copyFrom(buffers, done + fromHead - headLength, staging, fromHead, length - fromHead);
        const padded = Math.ceil(length / DIRECT_BLOCK_BYTES) * DIRECT_BLOCK_BYTES;
        staging.fill(0, length, padded);
        await this.writeAll(staging, padded, start + done);
        done += length;
      }
    } finally {
      returnStaging(staging);
    }
  }

  private async writeAll(staging: Buffer, length: number, position: number): Promise<void> {
    let handle: DirectHandle;
    try {
      this.directHandle ??= this.openDirect();
      handle = await this.directHandle;
    } catch (err) {
      throw new DirectUnavailable(err);
    }
    let written = 0;
    while (written < length) {
      let bytesWritten: number;
      try {
        ({ bytesWritten } = await handle.write(staging, written, length - written, position + written));
      } catch (err) {
        // EINVAL: this file system wants a larger alignment than a block, or no direct I/O at all.
        if ((err as { code?: unknown } | null)?.code === 'EINVAL') throw new DirectUnavailable(err);
        throw err;
      }
      // Direct writes move whole blocks or fail; anything else cannot be continued aligned.
      if (bytesWritten <= 0 || bytesWritten % DIRECT_BLOCK_BYTES !== 0) {
        throw Object.assign(new Error(`direct write moved ${bytesWritten} of ${length - written} bytes`), {
          code: 'EIO',
        });
      }
      written += bytesWritten;
    }
  }

  /** The file's bytes [start, position) of one block: remembered from the last write, else null. */
  private rememberedHead(start: number, position: number): Buffer | null {
    const length = position - start;
    if (this.tail === null || this.tailStart !== start || this.tail.length < length) return null;
    return this.tail.subarray(0, length);
  }

  /** The file's `length` bytes at `start` (a block start): remembered, else read back. */
  private async headBytes(start: number, length: number): Promise<Buffer> {
    const remembered = this.rememberedHead(start, start + length);
    if (remembered !== null) return remembered;
    const head = Buffer.alloc(length);
    const read = await this.file.read(head, 0, length, start);
    // Past the end of the file a block reads as zeros, as the device returns it.
    head.fill(0, read);
    return head;
  }

  /**
   * After a write of [position, position + bytes) (with `head`, the block's bytes before `position`, when
   * known): remembers the data of the block it ended in, or forgets a remembered block it overwrote.
   */
  private rememberTail(
    buffers: readonly Buffer[],
    bytes: number,
    position: number,
    head: Buffer | null,
  ): void {
    const end = position + bytes;
    const endBlock = alignDown(end);
    if (end > endBlock) {
      const tail = Buffer.alloc(end - endBlock);
      if (position > endBlock) {
        // The write began inside that block: its bytes before the write are `head`.
        if (head === null) {
          this.tail = null;
          return;
        }
        head.copy(tail, 0);
        copyFrom(buffers, 0, tail, head.length, bytes);
      } else {
        copyFrom(buffers, bytes - tail.length, tail, 0, tail.length);
      }
      this.tail = tail;
      this.tailStart = endBlock;
    } else if (this.tail !== null && this.tailStart >= alignDown(position) && this.tailStart < end) {
      // Ended on a block boundary after overwriting the remembered block (a fill ahead of the data never does).
      this.tail = null;
    }
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.file.read(buffer, offset, length, position);
  }

  datasync(): Promise<void> {
    return this.file.datasync();
  }

  async truncate(length: number): Promise<void> {
    // Rare (a rollback, a follower's conflicting suffix): the next write reads its block back instead.
    this.tail = null;
    await this.file.truncate(length);
  }

  size(): Promise<number> {
    return this.file.size();
  }

  async close(): Promise<void> {
    try {
      const direct = await this.directHandle?.catch(() => null);
      await direct?.close();
    } finally {
      await this.file.close();
    }
  }
}
