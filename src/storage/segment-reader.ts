/**
 * Reading whole batches out of one segment: the sparse index gives a position at or before the wanted batch,
 * one read fetches from there (usually covering the answer too), headers are walked to the batch containing
 * the fetch offset, and the answer is a subarray of that one buffer (no per-batch allocation).
 */
import { StreamBusError } from '../errors/index.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  OFF_LAST_OFFSET_DELTA,
  readInt64,
} from '../protocol/record-batch.js';
import { type ScannedBatch, scanBatches } from './batch-scan.js';
import { FRESH_READ_BUFFERS, type ReadBufferSource } from './read-buffers.js';
import type { Segment } from './segment.js';

/** Most bytes one read returns (beyond a single larger batch): bounds the buffer a fetch allocates. */
export const READ_BYTES_MAX = 64 * 1024 * 1024;
const HEADER_PREFIX_BYTES = OFF_LAST_OFFSET_DELTA + 4;

/** Length of the longest run of whole batches at the start of buf[0..length). */
export function wholeBatchesLength(buf: Buffer, length: number): number {
  let at = 0;
  while (at + BATCH_LENGTH_PREFIX_BYTES <= length) {
    const size = buf.readInt32BE(at + 8) + BATCH_LENGTH_PREFIX_BYTES;
    if (size < BATCH_HEADER_BYTES || at + size > length) break;
    at += size;
  }
  return at;
}

/**
 * Whole batches of `segment` from the one containing `fetchOffset`, within [0, endPosition), up to maxBytes
 * (capped at READ_BYTES_MAX) but at least one batch. Empty when no batch in range contains the offset.
 */
export async function readSegment(
  segment: Segment,
  fetchOffset: number,
  maxBytes: number,
  endPosition: number,
  indexIntervalBytes: number,
  buffers: ReadBufferSource = FRESH_READ_BUFFERS,
): Promise<Buffer> {
  const want = Math.min(Math.max(0, maxBytes), READ_BYTES_MAX);
  let pos = segment.offsetIndex.floorPosition(fetchOffset - segment.baseOffset);
  while (pos < endPosition) {
    const len = Math.min(endPosition - pos, indexIntervalBytes + want + BATCH_HEADER_BYTES);
    const buf = buffers.take(len);
    const n = await segment.file.read(buf, 0, len, pos);
    let at = 0;
    let found = false;
    let firstSize = 0;
    while (at + HEADER_PREFIX_BYTES <= n) {
      const size = buf.readInt32BE(at + 8) + BATCH_LENGTH_PREFIX_BYTES;
      if (size < BATCH_HEADER_BYTES) {
        throw new StreamBusError('CORRUPT_LOG', {
          operation: 'log.read',
          metadata: { file: segment.logPath, position: pos + at, reason: `batch length ${size}` },
        });
      }
      const lastOffset = readInt64(buf, at) + buf.readInt32BE(at + OFF_LAST_OFFSET_DELTA);
      if (lastOffset >= fetchOffset) {
        found = true;
        firstSize = size;
        break;
      }
      at += size;
    }
    if (!found) {
      if (at === 0) break;
      pos += at;
      continue;
    }
    const start = pos + at;
    const answerLength = Math.min(endPosition - start, Math.max(want, firstSize));
    if (at + answerLength <= n) {
      const slice = buf.subarray(at, at + answerLength);
      return slice.subarray(0, wholeBatchesLength(slice, answerLength));
    }
    const out = buffers.take(answerLength);
    const got = await segment.file.read(out, 0, answerLength, start);
    return out.subarray(0, wholeBatchesLength(out, got));
  }
  return Buffer.alloc(0);
}

/** The batch of `segment` (within [0, endPosition)) that contains `offset`, or undefined. */
export async function locateBatch(
  segment: Segment,
  offset: number,
  endPosition: number,
): Promise<ScannedBatch | undefined> {
  let found: ScannedBatch | undefined;
  const from = segment.offsetIndex.floorPosition(offset - segment.baseOffset);
  await scanBatches(segment.file, from, endPosition, false, (b) => {
    if (b.lastOffset < offset) return true;
    found = b;
    return false;
  });
  return found;
}

/** The first batch in [from, endPosition) whose maxTimestamp >= timestampMs, or undefined. */
export async function findByTimestamp(
  segment: Segment,
  timestampMs: number,
  endPosition: number,
  /** Batches that end below this (the log start) are skipped. */
  fromOffset = 0,
): Promise<ScannedBatch | undefined> {
  const entry = segment.timeIndex.lastBefore(timestampMs);
  let from = 0;
  if (entry !== undefined) {
    const exact = segment.offsetIndex.exactPosition(entry.relativeOffset);
    if (exact >= 0) from = exact;
    else if (entry.relativeOffset + segment.baseOffset >= segment.nextOffset) return undefined;
  }
  let found: ScannedBatch | undefined;
  await scanBatches(segment.file, from, endPosition, false, (b) => {
    if (b.maxTimestamp < timestampMs || b.lastOffset < fromOffset) return true;
    found = b;
    return false;
  });
  return found;
}

/**
 * OFFSET_OUT_OF_RANGE unless `fetchOffset` is a readable offset: from the log start up to the limit
 * (the high watermark), which itself reads as nothing yet.
 */
export function assertFetchOffset(fetchOffset: number, logStartOffset: number, highWatermark: number): void {
  if (Number.isSafeInteger(fetchOffset) && fetchOffset >= logStartOffset && fetchOffset <= highWatermark)
    return;
  throw new StreamBusError('OFFSET_OUT_OF_RANGE', {
    operation: 'log.read',
    message: `offset ${fetchOffset} is outside [${logStartOffset}, ${highWatermark}]`,
    metadata: { fetchOffset, logStartOffset, highWatermark },
  });
}
