/**
 * Walks the batches stored in a byte range of a segment file, reading in large chunks (one buffer per chunk,
 * not per batch). Used by recovery (with CRC checks), index rebuilds and position lookups.
 */
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  batchCrcMatches,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  RECORD_BATCH_MAGIC,
  readInt64,
} from '../protocol/record-batch.js';
import type { StorageFile } from './storage-fs.js';

/** No stored batch is larger than this; a bigger length field is corruption, not a reason to allocate. */
export const STORED_BATCH_BYTES_MAX = 256 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

export interface ScannedBatch {
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  /** The batch's partitionLeaderEpoch (a replicated log stores the Raft term there). */
  leaderEpoch: number;
}

export interface ScanResult {
  /** Position just after the last batch that was visited and accepted. */
  endPosition: number;
  /** Set when the scan met bytes that are not a valid batch (torn tail or corruption). */
  invalid?: { position: number; reason: string };
  /** True when the visitor asked to stop. */
  stopped: boolean;
}

/** Why the bytes at `at` (`bytesToEnd` before the end of the range) are not a plausible batch header. */
function headerProblem(buf: Buffer, at: number, bytesToEnd: number): string | undefined {
  if (bytesToEnd < BATCH_LENGTH_PREFIX_BYTES)
    return `only ${bytesToEnd} bytes left, a batch needs at least 61`;
  const size = buf.readInt32BE(at + 8) + BATCH_LENGTH_PREFIX_BYTES;
  if (size < BATCH_HEADER_BYTES || size > STORED_BATCH_BYTES_MAX) return `implausible batch length ${size}`;
  if (size > bytesToEnd) return `batch of ${size} bytes runs past the end (${bytesToEnd} bytes left)`;
  if (buf[at + OFF_MAGIC] !== RECORD_BATCH_MAGIC) {
    return `magic byte ${buf[at + OFF_MAGIC]}`;
  }
  return undefined;
}

/**
 * Visits each batch in [from, to). With `verifyCrc`, a batch whose CRC does not match ends the scan as invalid.
 * The visitor may return false to stop (the stopped batch's position becomes `endPosition`). It also gets the
 * chunk the batch was read from: its header starts at `bytes[at]` (the whole batch is there with `verifyCrc`).
 */
export async function scanBatches(
  file: StorageFile,
  from: number,
  to: number,
  verifyCrc: boolean,
  visit: (batch: ScannedBatch, bytes: Buffer, at: number) => boolean | undefined,
): Promise<ScanResult> {
  let pos = from;
  let buf = Buffer.alloc(0);
  let bufStart = from;
  while (pos < to) {
    let at = pos - bufStart;
    // Make sure the header (and, for CRC checks, the whole batch) is in the buffer.
    if (buf.length - at < BATCH_HEADER_BYTES) {
      const len = Math.min(CHUNK_BYTES, to - pos);
      buf = Buffer.allocUnsafe(len);
      const n = await file.read(buf, 0, len, pos);
      buf = buf.subarray(0, n);
      bufStart = pos;
      at = 0;
    }
    if (buf.length - at < Math.min(BATCH_HEADER_BYTES, to - pos)) {
      return {
        endPosition: pos,
        invalid: { position: pos, reason: 'file shorter than expected' },
        stopped: false,
      };
    }
    const problem = headerProblem(buf, at, to - pos);
    if (problem !== undefined)
      return { endPosition: pos, invalid: { position: pos, reason: problem }, stopped: false };
    const size = buf.readInt32BE(at + 8) + BATCH_LENGTH_PREFIX_BYTES;
    if (verifyCrc) {
      if (buf.length - at < size) {
        const len = Math.min(Math.max(size, CHUNK_BYTES), to - pos);
        buf = Buffer.allocUnsafe(len);
        const n = await file.read(buf, 0, len, pos);
        buf = buf.subarray(0, n);
        bufStart = pos;
        at = 0;
        if (n < size) {
          return {
            endPosition: pos,
            invalid: { position: pos, reason: 'batch truncated by end of file' },
            stopped: false,
          };
        }
      }
      if (!batchCrcMatches(buf, at, size)) {
        return { endPosition: pos, invalid: { position: pos, reason: 'CRC mismatch' }, stopped: false };
      }
    }
    const baseOffset = readInt64(buf, at);
    const batch: ScannedBatch = {
      position: pos,
      sizeBytes: size,
      baseOffset,
      lastOffset: baseOffset + buf.readInt32BE(at + OFF_LAST_OFFSET_DELTA),
      maxTimestamp: readInt64(buf, at + OFF_MAX_TIMESTAMP),
      leaderEpoch: buf.readInt32BE(at + OFF_LEADER_EPOCH),
    };
    if (visit(batch, buf, at) === false) return { endPosition: pos, stopped: true };
    pos += size;
  }
  return { endPosition: pos, stopped: false };
}

/**
 * Whether a valid batch (plausible header and matching CRC) starts anywhere in [from, to). Recovery uses it to
 * tell a torn tail (nothing valid after the bad bytes) from corruption in the middle of the log.
 */
export async function findValidBatch(
  file: StorageFile,
  from: number,
  to: number,
  minBaseOffset: number,
): Promise<number> {
  const overlap = BATCH_HEADER_BYTES;
  for (let chunkStart = from; chunkStart < to; chunkStart += CHUNK_BYTES) {
    const len = Math.min(CHUNK_BYTES + overlap, to - chunkStart);
    const buf = Buffer.allocUnsafe(len);
    const n = await file.read(buf, 0, len, chunkStart);
    const limit = Math.min(n, CHUNK_BYTES);
    for (let at = 0; at < limit; at++) {
      if (at + BATCH_HEADER_BYTES > n) break;
      if (buf[at + OFF_MAGIC] !== RECORD_BATCH_MAGIC) continue;
      const size = buf.readInt32BE(at + 8) + BATCH_LENGTH_PREFIX_BYTES;
      if (size < BATCH_HEADER_BYTES || size > STORED_BATCH_BYTES_MAX || chunkStart + at + size > to) continue;
      // A later batch of this log has a higher offset; this also skips batches embedded in record values.
      if (readInt64(buf, at) < minBaseOffset) continue;
      if (at + size <= n) {
        if (batchCrcMatches(buf, at, size)) return chunkStart + at;
        continue;
      }
      const whole = Buffer.allocUnsafe(size);
      const got = await file.read(whole, 0, size, chunkStart + at);
      if (got === size && batchCrcMatches(whole, 0, size)) return chunkStart + at;
    }
  }
  return -1;
}
