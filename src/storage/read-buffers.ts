/**
 * Buffers that fetch reads borrow and give back once the answer is on the socket.
 *
 * Why: a fetch reads up to partitionMaxBytes (1 MiB by default) from a segment into a buffer that lives only
 * until its response has been written. Allocated afresh each time, those buffers are external memory to
 * V8, whose growth starts a full mark-compact: about one every 40 ms on a broker serving a 400k msgs/s
 * consumer, each pausing the event loop for 1-6 ms. Reused, they cost nothing after warm-up.
 *
 * Safety rule: a buffer is given back only when nothing can still write into it or read from it, i.e. after
 * the socket has taken every byte of the answer that borrowed it (the router's `onWritten`). An answer
 * that is never written (a closed connection, a request that outlived its deadline while its reads went
 * on) simply drops its loan: the buffers become garbage like any other, so a missed give-back costs
 * memory churn, never correctness. The pool keeps no count of what is lent.
 */

/** Where a read gets the buffer it reads into. */
export interface ReadBufferSource {
  /** A buffer of exactly `length` bytes, contents undefined. */
  take(length: number): Buffer;
}

/** Fresh buffers every time: every read except a fetch answer's. */
export const FRESH_READ_BUFFERS: ReadBufferSource = { take: (length) => Buffer.allocUnsafe(length) };

/** Below this a fresh allocation is cheap (and small reads are the common case at the log's tail). */
const POOLED_BYTES_MIN = 256 * 1024;

/** Buffer sizes the pool hands out: 2^k and 1.5 * 2^k, so at most a third of a borrowed buffer is unused. */
export function readBufferClassBytes(length: number): number {
  let size = POOLED_BYTES_MIN;
  while (size < length) size = size % 3 === 0 ? (size / 3) * 4 : (size / 2) * 3;
  return size;
}

/** Longer reads (rare: a fetch asking for more than 16 MiB of one partition) get fresh buffers. */
const POOLED_BYTES_MAX = 16 * 1024 * 1024;

export class ReadBufferPool {
  private readonly idle = new Map<number, Buffer[]>();
  private idleBytes = 0;
  private readonly pooledBytesMax: number;

  /** `idleBytesMax`: idle bytes kept for reuse across all sizes; buffers given back beyond it are dropped. */
  constructor(private readonly idleBytesMax: number) {
    this.pooledBytesMax = Math.min(POOLED_BYTES_MAX, idleBytesMax);
  }

  /** A loan for one answer: its reads borrow from the pool until `giveBack()`. */
  loan(): ReadBufferLoan {
    return new ReadBufferLoan(this);
  }

  /** Bytes held idle for reuse (for tests and the pool's own bound). */
  get idleByteCount(): number {
    return this.idleBytes;
  }

  /** A whole pooled buffer of the class that fits `length`, or null when `length` is not pooled. */
  borrow(length: number): Buffer | null {
    if (length < POOLED_BYTES_MIN || length > this.pooledBytesMax) return null;
    const size = readBufferClassBytes(length);
    const free = this.idle.get(size);
    const reused = free?.pop();
    if (reused !== undefined) {
      this.idleBytes -= size;
      return reused;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Takes back a buffer from borrow(); kept while the idle bound allows. */
  giveBack(buffer: Buffer): void {
    if (this.idleBytes + buffer.length > this.idleBytesMax) return;
    let free = this.idle.get(buffer.length);
    if (free === undefined) {
      free = [];
      this.idle.set(buffer.length, free);
    }
    free.push(buffer);
    this.idleBytes += buffer.length;
  }
}

/** The buffers one fetch answer borrowed. */
export class ReadBufferLoan implements ReadBufferSource {
  private borrowed: Buffer[] = [];

  constructor(private readonly pool: ReadBufferPool) {}

  take(length: number): Buffer {
    const whole = this.pool.borrow(length);
    if (whole === null) return Buffer.allocUnsafe(length);
    this.borrowed.push(whole);
    return whole.subarray(0, length);
  }

  /** Call only once the answer is written (see the module comment); later calls do nothing. */
  giveBack(): void {
    const borrowed = this.borrowed;
    this.borrowed = [];
    for (const b of borrowed) this.pool.giveBack(b);
  }
}
