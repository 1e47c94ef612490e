/**
 * Sparse offset index of one segment: relative offset (batch base offset - segment base offset) -> byte
 * position of that batch. Kept in memory (a 1 GiB segment at one entry per 4 KiB is 256k entries) and written
 * to `<base>.index` when the segment rolls, as big-endian (uint32 relativeOffset, uint32 position) pairs.
 */
const ENTRY_BYTES = 8;

export class OffsetIndex {
  private readonly rel: number[] = [];
  private readonly pos: number[] = [];

  get length(): number {
    return this.rel.length;
  }

  append(relativeOffset: number, position: number): void {
    const n = this.rel.length;
    if (n > 0 && (relativeOffset <= this.rel[n - 1]! || position <= this.pos[n - 1]!)) return;
    this.rel.push(relativeOffset);
    this.pos.push(position);
  }

  /** Position of the last indexed batch whose relative offset is <= `relativeOffset` (0 when none). */
  floorPosition(relativeOffset: number): number {
    const i = this.floorIndex(relativeOffset);
    return i < 0 ? 0 : this.pos[i]!;
  }

  /** Position of the batch indexed exactly at `relativeOffset`, or -1. */
  exactPosition(relativeOffset: number): number {
    const i = this.floorIndex(relativeOffset);
    return i >= 0 && this.rel[i] === relativeOffset ? this.pos[i]! : -1;
  }

  lastPosition(): number {
    return this.pos.length === 0 ? 0 : this.pos[this.pos.length - 1]!;
  }

  /** Drops entries for batches at or after `relativeOffset`. */
  truncateFromOffset(relativeOffset: number): void {
    let n = this.rel.length;
    while (n > 0 && this.rel[n - 1]! >= relativeOffset) n--;
    this.rel.length = n;
    this.pos.length = n;
  }

  /** Drops the newest entries so that `length` remain. */
  truncateToLength(length: number): void {
    this.rel.length = Math.min(length, this.rel.length);
    this.pos.length = this.rel.length;
  }

  private floorIndex(relativeOffset: number): number {
    let lo = 0;
    let hi = this.rel.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= relativeOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  serialize(): Buffer {
    const buf = Buffer.allocUnsafe(this.rel.length * ENTRY_BYTES);
    for (let i = 0; i < this.rel.length; i++) {
      buf.writeUInt32BE(this.rel[i]!, i * ENTRY_BYTES);
      buf.writeUInt32BE(this.pos[i]!, i * ENTRY_BYTES + 4);
    }
    return buf;
  }

  /** Parses a persisted index; null when it is malformed or points past `fileSizeBytes` (then rebuild). */
  static parse(buf: Buffer, fileSizeBytes: number): OffsetIndex | null {
    if (buf.length % ENTRY_BYTES !== 0) return null;
    const index = new OffsetIndex();
    for (let at = 0; at < buf.length; at += ENTRY_BYTES) {
      const rel = buf.readUInt32BE(at);
      const pos = buf.readUInt32BE(at + 4);
      const n = index.rel.length;
      if (pos >= fileSizeBytes) return null;
      if (n > 0 && (rel <= index.rel[n - 1]! || pos <= index.pos[n - 1]!)) return null;
      index.rel.push(rel);
      index.pos.push(pos);
    }
    return index;
  }
}
