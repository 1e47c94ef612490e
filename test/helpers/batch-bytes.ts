/** Hand-made record batches for tests of what the codec and the broker refuse. */
import { crc32c } from '../../src/protocol/crc32c.js';
import {
  BATCH_HEADER_BYTES,
  OFF_ATTRIBUTES,
  OFF_BATCH_LENGTH,
  OFF_CRC,
} from '../../src/protocol/record-batch.js';

/**
 * `batch`'s header with `body` as its records region and `code` in its codec bits (default: unchanged),
 * its length and CRC made right: only the records region is wrong, so the CRC cannot be what refuses it.
 */
export function withBody(batch: Buffer, body: Buffer, code?: number): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), body]);
  out.writeInt32BE(out.length - 12, OFF_BATCH_LENGTH);
  if (code !== undefined) out.writeInt16BE((out.readInt16BE(OFF_ATTRIBUTES) & ~0x07) | code, OFF_ATTRIBUTES);
  out.writeUInt32BE(crc32c(out.subarray(OFF_ATTRIBUTES)), OFF_CRC);
  return out;
}

/** Deterministic incompressible bytes (xorshift32), so tests need no seed of their own. */
export function noiseBytes(length: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
