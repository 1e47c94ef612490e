/**
 * Zig-zag varints as the Kafka record format uses them (protobuf style). Values stay within the safe integer
 * range: record-level deltas and lengths are 32-bit in practice, timestamps deltas fit in 53 bits.
 */
export function varintSize(value: number): number {
  let v = zigzag(value);
  let size = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

export function writeVarint(buf: Buffer, offset: number, value: number): number {
  let v = zigzag(value);
  while (v >= 0x80) {
    buf[offset++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[offset++] = v;
  return offset;
}

/** Reads a varint at `offset`; returns [value, nextOffset] or throws RangeError on truncation/overlong. */
export function readVarint(buf: Uint8Array, offset: number): [number, number] {
  let result = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (offset >= buf.length) throw new RangeError('varint truncated');
    const byte = buf[offset++]!;
    result += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) {
      const value = result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      return [value, offset];
    }
    multiplier *= 128;
    if (multiplier > 2 ** 63) break;
  }
  throw new RangeError('varint too long');
}
