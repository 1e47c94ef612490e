/**
 * Sparse time index of one segment. An entry (T, r) means: every batch before relative offset r has
 * maxTimestamp <= T. Entries are taken at offset-index points (so the position of r is an exact offset-index
 * lookup) whenever T grew, and a final entry (segment max timestamp, relative next offset) is added when the
 * segment rolls, so a closed segment's largest timestamp and end offset are known without a scan.
 * Persisted to `<base>.timeindex` as big-endian (int64 timestamp, uint32 relativeOffset).
 *
 * To find the first batch with maxTimestamp >= ts: take the last entry with T < ts; the answer is at or after
 * its r, so scanning starts at r's position.
 */
const ENTRY_BYTES = 12;

export interface TimeIndexEntry {
  timestampMs: number;
  relativeOffset: number;
}

export class TimeIndex {
  private readonly ts: number[] = [];
  private readonly rel: number[] = [];

  get length(): number {
    return this.ts.length;
  }

  last(): TimeIndexEntry | undefined {
    const n = this.ts.length;
    return n === 0 ? undefined : { timestampMs: this.ts[n - 1]!, relativeOffset: this.rel[n - 1]! };
  }

  append(timestampMs: number, relativeOffset: number): void {
    const n = this.ts.length;
    if (n > 0 && (timestampMs <= this.ts[n - 1]! || relativeOffset < this.rel[n - 1]!)) return;
    this.ts.push(timestampMs);
    this.rel.push(relativeOffset);
  }

  /**
   * The closing entry of a rolled segment: (segment max timestamp, relative next offset). Added even when the
   * max did not grow since the last entry, because it also records where the segment ends.
   */
  appendClosing(timestampMs: number, relativeOffset: number): void {
    const n = this.ts.length;
    if (n > 0 && (timestampMs < this.ts[n - 1]! || relativeOffset <= this.rel[n - 1]!)) return;
    this.ts.push(timestampMs);
    this.rel.push(relativeOffset);
  }

  /** The last entry with timestamp < `timestampMs`: the scan for the first batch >= it starts there. */
  lastBefore(timestampMs: number): TimeIndexEntry | undefined {
    let lo = 0;
    let hi = this.ts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! < timestampMs) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? undefined : { timestampMs: this.ts[found]!, relativeOffset: this.rel[found]! };
  }

  /** Drops entries whose relative offset is at or after `relativeOffset`. */
  truncateFromOffset(relativeOffset: number): void {
    let n = this.rel.length;
    while (n > 0 && this.rel[n - 1]! >= relativeOffset) n--;
    this.ts.length = n;
    this.rel.length = n;
  }

  truncateToLength(length: number): void {
    this.ts.length = Math.min(length, this.ts.length);
    this.rel.length = this.ts.length;
  }

  serialize(): Buffer {
    const buf = Buffer.allocUnsafe(this.ts.length * ENTRY_BYTES);
    for (let i = 0; i < this.ts.length; i++) {
      buf.writeBigInt64BE(BigInt(this.ts[i]!), i * ENTRY_BYTES);
      buf.writeUInt32BE(this.rel[i]!, i * ENTRY_BYTES + 8);
    }
    return buf;
  }

  static parse(buf: Buffer): TimeIndex | null {
    if (buf.length % ENTRY_BYTES !== 0) return null;
    const index = new TimeIndex();
    for (let at = 0; at < buf.length; at += ENTRY_BYTES) {
      const ts = Number(buf.readBigInt64BE(at));
      const rel = buf.readUInt32BE(at + 8);
      const n = index.ts.length;
      if (n > 0 && (ts < index.ts[n - 1]! || rel <= index.rel[n - 1]!)) return null;
      index.ts.push(ts);
      index.rel.push(rel);
    }
    return index;
  }
}
