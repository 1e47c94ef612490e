import { readVarint } from './varint.js';

/** A cursor over a record section: varints without allocating a tuple per read. */
export class RecordReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(): number {
    const [value, next] = readVarint(this.buf, this.pos);
    this.pos = next;
    return value;
  }

  /** Fast path for the common one- and two-byte varints; falls back to the general reader. */
  smallVarint(): number {
    const buf = this.buf;
    const b0 = buf[this.pos];
    if (b0 !== undefined && b0 < 0x80) {
      this.pos++;
      return b0 & 1 ? -((b0 + 1) >>> 1) : b0 >>> 1;
    }
    const b1 = buf[this.pos + 1];
    if (b0 !== undefined && b1 !== undefined && b1 < 0x80) {
      this.pos += 2;
      const raw = (b0 & 0x7f) | (b1 << 7);
      return raw & 1 ? -((raw + 1) >>> 1) : raw >>> 1;
    }
    return this.varint();
  }

  bytes(): Buffer | null {
    const length = this.smallVarint();
    if (length < 0) return null;
    const start = this.pos;
    const end = start + length;
    if (end > this.buf.length) throw new RangeError('record field overruns the batch');
    this.pos = end;
    return this.buf.subarray(start, end);
  }
}
