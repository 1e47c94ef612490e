/**
 * Zero-filled space kept ahead of a durable segment's end.
 *
 * A synchronous (O_DSYNC) append that extends its file also has to make the file's new size and newly
 * allocated blocks durable: on ext4 a journal commit on top of the data write, for every acknowledged group.
 * Overwriting blocks that already exist needs only the data write. So while a segment takes small writes
 * (the latency-bound case: a few messages per group commit), this file writes zeros ahead of the data end in
 * the background, one chunk at a time, and the appends land in them. Measured on the benchmark VM (5.5 KiB
 * O_DSYNC writes every ~1 ms): append p50 379-418 us, overwrite 220-264 us. Large writes (a busy partition)
 * amortise that cost already, so they start no fills.
 *
 * Safety does not depend on the zeros: a data write into space not yet filled simply extends the file as
 * before. The one rule is that a fill never writes where data is or will be written: a fill covers
 * [from, to) with `from` at or past every data write issued so far, and a data write reaching into a fill
 * still running waits for it first. Whatever zeros a crash leaves after the data are the active segment's
 * unwritten tail, which recovery cuts off (segment-recovery.ts, cutTornTail); a rolled segment is trimmed to
 * its data before it is synced and closed (Segment.seal), so closed segments hold batches only.
 */
import { DIRECT_BLOCK_BYTES } from './direct-write-file.js';
import type { StorageFile } from './storage-fs.js';

/** A write smaller than this is latency-bound: its per-write metadata commit is worth saving. */
export const SMALL_WRITE_BYTES = 64 * 1024;

/**
 * After a fill fails (a full disk refuses the zeros first) the next is tried no sooner than this: fills are
 * an optimisation, so a disk that stays full costs one refused fill per segment per interval, and one that
 * got space back has its small appends land in zeros again without a reopen.
 */
export const FILL_RETRY_AFTER_MS = 10_000;

/**
 * A file's first fill, doubled by each later one up to the configured chunk: a segment that takes a few Raft
 * entries and then idles (most partitions of a broker with thousands) costs this much zeros, not a whole
 * chunk; with a 1 MiB chunk, creating 1,000 partitions wrote 1 GiB of synchronous zeros per broker.
 */
export const FIRST_FILL_BYTES = 64 * 1024;

/** One shared all-zero buffer (only ever written to files, never into); a fill repeats it as needed. */
const ZEROS = Buffer.alloc(1024 * 1024);

/** `bytes` of zeros as buffers for one writev. */
function zeros(bytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let left = bytes; left > 0; left -= ZEROS.length)
    out.push(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  return out;
}

function alignUp(n: number): number {
  return Math.ceil(n / DIRECT_BLOCK_BYTES) * DIRECT_BLOCK_BYTES;
}

interface Fill {
  from: number;
  to: number;
  done: Promise<void>;
}

export class PreallocatedFile implements StorageFile {
  /** Bytes [0, preparedEnd) exist in the file: data or zeros a fill has made durable. */
  private preparedEnd = 0;
  /** End of the furthest data write issued (the segment's data end once writes complete). */
  private writtenEnd = 0;
  private filling: Fill | null = null;
  /** Set by close. */
  private stopped = false;
  /** No fill starts before this time (set by a failed fill). */
  private fillsPausedUntilMs = 0;
  /** The last fill failed: onFillError was told once; told again only after a fill succeeded meanwhile. */
  private fillFailing = false;
  /** Fills that completed (for tests and stats). */
  fills = 0;

  /** Largest fill: whole blocks. */
  private readonly chunkBytes: number;
  /** Size of the next fill (FIRST_FILL_BYTES, doubling up to chunkBytes); half of it is the headroom below
   * which that fill starts. */
  private fillBytes: number;

  constructor(
    private readonly inner: StorageFile,
    chunkBytes: number,
    /** Told of the first failed fill of a streak (fills pause for FILL_RETRY_AFTER_MS each time). */
    private readonly onFillError: (err: unknown) => void,
    private readonly nowMs: () => number = Date.now,
  ) {
    // A fill then starts and ends on block boundaries, so it never shares a block with data.
    this.chunkBytes = alignUp(chunkBytes);
    this.fillBytes = Math.min(this.chunkBytes, alignUp(FIRST_FILL_BYTES));
  }

  get durableWrites(): boolean | undefined {
    return this.inner.durableWrites;
  }

  bypassPageCache(on: boolean): void {
    this.inner.bypassPageCache?.(on);
  }

  /** Zeros go through the page cache even on a file bypassing it: the small appends they serve do too. */
  private writeZeros(buffers: Buffer[], position: number): Promise<void> {
    return this.inner.writevCached === undefined
      ? this.inner.writev(buffers, position)
      : this.inner.writevCached(buffers, position);
  }

  async writev(buffers: readonly Buffer[], position: number): Promise<void> {
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    const end = position + bytes;
    // First, so that any fill starting from now on begins past this write.
    if (end > this.writtenEnd) this.writtenEnd = end;
    while (this.filling !== null && end > this.filling.from) await this.filling.done;
    await this.inner.writev(buffers, position);
    if (bytes < SMALL_WRITE_BYTES) this.fillAheadIfLow();
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.inner.read(buffer, offset, length, position);
  }

  datasync(): Promise<void> {
    return this.inner.datasync();
  }

  /** Cuts the file at `length`, zeros ahead included. */
  async truncate(length: number): Promise<void> {
    await this.settled();
    await this.inner.truncate(length);
    this.preparedEnd = length;
    this.writtenEnd = length;
  }

  /** The file's size on disk, zero-filled space included. */
  size(): Promise<number> {
    return this.inner.size();
  }

  /** Drops the zeros past the data, durably (best effort: recovery also cuts them), and closes the file. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.settled();
    // Asks the file rather than preparedEnd: a failed fill may have left some zeros it never recorded.
    if (this.writtenEnd > 0) {
      await this.inner
        .size()
        .then(async (size) => {
          if (size <= this.writtenEnd) return;
          await this.inner.truncate(this.writtenEnd);
          await this.inner.datasync();
        })
        .catch(this.onFillError);
    }
    await this.inner.close();
  }

  private async settled(): Promise<void> {
    while (this.filling !== null) await this.filling.done;
  }

  private fillAheadIfLow(): void {
    if (this.filling !== null || this.stopped || this.nowMs() < this.fillsPausedUntilMs) return;
    const prepared = Math.max(this.preparedEnd, this.writtenEnd);
    const bytes = this.fillBytes;
    if (prepared - this.writtenEnd >= bytes / 2) return;
    // From a block boundary: a direct write (direct-write-file.ts) rewrites the whole block the data ends in.
    const from = alignUp(prepared);
    const to = from + bytes;
    const fill: Fill = {
      from,
      to,
      done: this.writeZeros(zeros(bytes), from).then(
        () => {
          // A truncate waits for this fill, so nothing moved the file's end meanwhile.
          this.preparedEnd = to;
          this.fills++;
          this.fillBytes = Math.min(this.chunkBytes, bytes * 2);
          this.fillFailing = false;
        },
        // A full disk refuses the zeros first: data writes then extend the file and report it themselves.
        // Zeros a failed fill left past the data are overwritten by the next fill or cut by recovery.
        (err: unknown) => {
          this.fillsPausedUntilMs = this.nowMs() + FILL_RETRY_AFTER_MS;
          if (!this.fillFailing) this.onFillError(err);
          this.fillFailing = true;
        },
      ),
    };
    this.filling = fill;
    void fill.done.finally(() => {
      if (this.filling === fill) this.filling = null;
    });
  }
}
