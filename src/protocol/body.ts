/**
 * The one msgpack configuration every body uses. Output is plain standard msgpack: no records/structures
 * extension, no msgpackr-specific types, maps sized by their key count (fixmap/map16/map32), strings as str,
 * Buffers as bin. Integers beyond 32 bits are written as float64 (exact for safe integers); uint64/int64 on
 * input decode to numbers. On decode, bin becomes a zero-copy Buffer view of the frame.
 */
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { StreamBusError } from '../errors/index.js';

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
