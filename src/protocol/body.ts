/**
 * The one msgpack configuration every body uses. Output is plain standard msgpack: no records/structures
 * extension, no msgpackr-specific types, maps sized by their key count (fixmap/map16/map32), strings as str,
 * Buffers as bin. Integers beyond 32 bits are written as float64 (exact for safe integers); uint64/int64 on
 * input decode to numbers. On decode, bin becomes a zero-copy Buffer view of the frame.
 */
import { randomBytes } from 'node:crypto';
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { StreamBusError } from '../errors/index.js';
import { asBuffer } from './bytes.js';

export const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  variableMapSize: true,
  mapsAsObjects: true,
  int64AsType: 'number',
  bundleStrings: false,
  structuredClone: false,
  encodeUndefinedAsNil: true,
});

/** Most bytes msgpackr can reserve in front of a body (its RESERVE_START_SPACE takes a u8). */
export const RESERVE_BYTES_MAX = 255;

export function packBody(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * Packs `value` with `reserveBytes` of uninitialised space in front, so a frame's length prefix and header
 * can be written into the same allocation as the body. The returned Buffer is owned by the caller.
 */
export function packWithReserve(value: unknown, reserveBytes: number): Buffer {
  return packr.pack(value, RESERVE_START_SPACE | reserveBytes);
}

/** Byte arrays at least this large are sent by reference, in a chunk of their own, instead of copied. */
export const BIN_BY_REFERENCE_BYTES_MIN = 64 * 1024;
/** Placeholders are this tag (random per process, so no payload can forge one) and a u32 index. */
const PLACEHOLDER_TAG = randomBytes(12);
const PLACEHOLDER_BYTES = PLACEHOLDER_TAG.length + 4;
/** msgpack bin8 header of a placeholder: 0xc4, length 16. */
const PLACEHOLDER_HEAD = [0xc4, PLACEHOLDER_BYTES] as const;

/**
 * packWithReserve, but byte arrays of BIN_BY_REFERENCE_BYTES_MIN or more (fetched or produced record
 * batches, a megabyte each) are not copied into the packed body: the result is a list of chunks whose
 * concatenation is exactly packWithReserve's output, with those arrays as chunks of their own, for a socket
 * to write with one writev. Copying them into msgpackr's buffer was one memcpy and one large allocation per
 * request; the collector's work on those allocations cost more than the copy.
 */
export function packChunksWithReserve(value: unknown, reserveBytes: number): Buffer[] {
  const large: Uint8Array[] = [];
  const substituted = withPlaceholders(value, large, 0);
  if (large.length === 0) return [packWithReserve(value, reserveBytes)];
  const packed = packWithReserve(substituted, reserveBytes);
  // Searched after the reserved space only: msgpackr reuses its buffer, so those bytes are left over from
  // earlier bodies and may hold an earlier placeholder (same tag, same index).
  const found = large.map((bytes, index) => ({
    bytes,
    at: packed.indexOf(placeholder(index), reserveBytes),
  }));
  found.sort((a, b) => a.at - b.at);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const { bytes, at } of found) {
    if (at < 2 || packed[at - 2] !== PLACEHOLDER_HEAD[0] || packed[at - 1] !== PLACEHOLDER_HEAD[1]) {
      // Cannot happen with msgpackr's bin encoding; copying everything is always correct.
      return [packWithReserve(value, reserveBytes)];
    }
    chunks.push(packed.subarray(from, at - 2), asBuffer(binHeader(bytes.byteLength)), asBuffer(bytes));
    from = at + PLACEHOLDER_BYTES;
  }
  chunks.push(packed.subarray(from));
  return chunks;
}

/** `value` with every large byte array replaced by a placeholder (copies only the objects on the way). */
function withPlaceholders(value: unknown, large: Uint8Array[], depth: number): unknown {
  if (value instanceof Uint8Array) {
    if (value.byteLength < BIN_BY_REFERENCE_BYTES_MIN) return value;
    large.push(value);
    return placeholder(large.length - 1);
  }
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  const before = large.length;
  if (Array.isArray(value)) {
    const out = value.map((v) => withPlaceholders(v, large, depth + 1));
    return large.length === before ? value : out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = withPlaceholders(v, large, depth + 1);
  return large.length === before ? value : out;
}

function placeholder(index: number): Buffer {
  const b = Buffer.allocUnsafe(PLACEHOLDER_BYTES);
  PLACEHOLDER_TAG.copy(b, 0);
  b.writeUInt32BE(index, PLACEHOLDER_TAG.length);
  return b;
}

/** The msgpack bin header msgpackr writes before `n` bytes (bin8, bin16 or bin32). */
export function binHeader(n: number): Uint8Array {
  if (n < 0x100) return Uint8Array.of(0xc4, n);
  const b = Buffer.allocUnsafe(n < 0x10000 ? 3 : 5);
  if (n < 0x10000) {
    b[0] = 0xc5;
    b.writeUInt16BE(n, 1);
  } else {
    b[0] = 0xc6;
    b.writeUInt32BE(n, 1);
  }
  return b;
}

/** Unpacks one msgpack value that must span the whole buffer; any failure is a StreamBusError. */
export function unpackBody(body: Buffer, what: string, code: 'INVALID_REQUEST' | 'MALFORMED_FRAME'): unknown {
  if (body.length === 0) {
    throw new StreamBusError(code, { operation: 'protocol.decode', message: `${what} body is empty` });
  }
  try {
    return packr.unpack(body);
  } catch (err) {
    throw new StreamBusError(code, {
      operation: 'protocol.decode',
      message: `${what} body is not valid msgpack: ${err instanceof Error ? err.message : String(err)}`,
      cause: err,
    });
  }
}
