/**
 * The newest small batches of a partition log, kept in memory so a consumer tailing the log is answered
 * without a file read (Redpanda's batch cache, in small): a fetch at the tail is then served on the event
 * loop instead of a thread-pool round trip, which was a visible share of end-to-end latency.
 *
 * Holds a contiguous run of batches (offsets without gaps) within `budgetBytes`, evicting the oldest. Batches
 * larger than a sixteenth of the budget are not cached (throughput workloads read them from the page cache
 * anyway) and break the run, as does truncation. Each cached batch is a copy: a view would keep its whole
 * produce request alive. Only batches wholly below the high watermark the caller passes are returned.
 */

interface CachedBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
}

export class TailCache {
  private batches: CachedBatch[] = [];
  /** Index of the oldest live batch in `batches` (evicted ones are dropped in bulk). */
  private head = 0;
  private sizeBytes = 0;
  private readonly batchBytesMax: number;

  constructor(private readonly budgetBytes: number) {
    this.batchBytesMax = Math.floor(budgetBytes / 16);
  }

  /**
   * Records a batch just written (stamped with its offsets), right after the previous one. A Raft control
   * batch takes no offsets: lastOffset = baseOffset - 1.
   */
  add(batch: Buffer, baseOffset: number, lastOffset: number): void {
    const newest = this.batches[this.batches.length - 1];
    if (batch.length > this.batchBytesMax || (newest !== undefined && newest.lastOffset + 1 !== baseOffset)) {
      this.clear();
      if (batch.length > this.batchBytesMax) return;
    }
    this.batches.push({ baseOffset, lastOffset, bytes: Buffer.from(batch) });
    this.sizeBytes += batch.length;
    while (this.sizeBytes > this.budgetBytes) {
      this.sizeBytes -= this.batches[this.head]!.bytes.length;
      this.head++;
    }
    if (this.head >= 1024 && this.head * 2 >= this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Whole batches from the one containing `fetchOffset`, up to `maxBytes` (at least one), all below
   * `highWatermark`; null when the cache does not hold `fetchOffset` or nothing there is visible yet.
   */
  read(fetchOffset: number, maxBytes: number, highWatermark: number): Buffer | null {
    if (this.head >= this.batches.length || fetchOffset < this.batches[this.head]!.baseOffset) return null;
    let i = this.find(fetchOffset);
    if (i < 0) return null;
    const parts: Buffer[] = [];
    let total = 0;
    // Up to the last data batch: trailing Raft control batches (no offsets) may belong to uncommitted
    // entries, as in cutBeforeOffset.
    let keep = 0;
    let keepBytes = 0;
    for (; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (b.lastOffset >= highWatermark) break;
      if (parts.length > 0 && total + b.bytes.length > maxBytes) break;
      parts.push(b.bytes);
      total += b.bytes.length;
      if (b.lastOffset >= b.baseOffset) {
        keep = parts.length;
        keepBytes = total;
      }
    }
    if (keep === 0) return null;
    return keep === 1 ? parts[0]! : Buffer.concat(parts.slice(0, keep), keepBytes);
  }

  /** Forgets every batch at or after `offset` (the log was truncated there). */
  truncateFrom(offset: number): void {
    while (this.batches.length > this.head && this.batches[this.batches.length - 1]!.lastOffset >= offset) {
      this.sizeBytes -= this.batches.pop()!.bytes.length;
    }
  }

  clear(): void {
    this.batches = [];
    this.head = 0;
    this.sizeBytes = 0;
  }

  /** Position of the live batch containing `offset`, or -1. */
  private find(offset: number): number {
    let lo = this.head;
    let hi = this.batches.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.batches[mid]!;
      if (offset < b.baseOffset) hi = mid - 1;
      else if (offset > b.lastOffset) lo = mid + 1;
      else return mid;
    }
    return -1;
  }
}
