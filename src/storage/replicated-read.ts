/**
 * Read helpers of a replicated log: segment lookup, entries read back from disk across segments, and the
 * high-watermark cut of a fetch answer.
 */

import { StreamBusError } from '../errors/index.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  OFF_LAST_OFFSET_DELTA,
  readInt64,
} from '../protocol/record-batch.js';
import type { Entry } from '../raft/core/types.js';
import type { LogConfig } from './config.js';
import { isRaftControlBatch } from './raft-batch.js';
import type { ReadBufferSource } from './read-buffers.js';
import { type ReplicatedSegment, readEntries } from './replicated-segments.js';
import { planRetention } from './retention.js';
import { findByTimestamp, readSegment } from './segment-reader.js';

/** The last position k whose element satisfies `atOrBefore` (a monotone predicate); 0 when none does. */
export function segmentAt<T>(items: readonly T[], atOrBefore: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (atOrBefore(items[mid]!)) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Entries [lo, hi) read from the segment files, stopping after maxBytes (at least one entry). */
export async function entriesFromDisk(
  segments: readonly ReplicatedSegment[],
  lo: number,
  hi: number,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<Entry[]> {
  const out: Entry[] = [];
  let bytes = 0;
  let i = lo;
  while (i < hi && (out.length === 0 || bytes < maxBytes)) {
    const s = segments[segmentAt(segments, (x) => x.raft.firstIndex <= i)]!;
    const got = await s.seg.withReader(() => readEntries(s, i, hi, maxBytes - bytes, s.seg.sizeBytes));
    if (got.length === 0) {
      throw new StreamBusError('CORRUPT_LOG', {
        operation: 'log.readEntries',
        message: `entry ${i} is missing from ${s.seg.logPath}`,
        metadata: { index: i, file: s.seg.logPath },
      });
    }
    for (const e of got) {
      out.push(e);
      bytes += e.data.byteLength;
    }
    i += got.length;
  }
  return out;
}

/**
 * The prefix of whole batches in `buf` that a reader below `endOffset` may see: up to the last data batch
 * whose last offset is below endOffset. Raft control batches between data batches stay; trailing ones go
 * (they may belong to uncommitted entries).
 */
export function cutBeforeOffset(buf: Buffer, endOffset: number): Buffer {
  let at = 0;
  let keep = 0;
  while (at + BATCH_HEADER_BYTES <= buf.length) {
    const size = buf.readInt32BE(at + 8) + BATCH_LENGTH_PREFIX_BYTES;
    if (size < BATCH_HEADER_BYTES || at + size > buf.length) break;
    const lastOffset = readInt64(buf, at) + buf.readInt32BE(at + OFF_LAST_OFFSET_DELTA);
    if (lastOffset >= endOffset) break;
    at += size;
    if (!isRaftControlBatch(buf, at - size)) keep = at;
  }
  return keep === buf.length ? buf : buf.subarray(0, keep);
}

/**
 * Whole batches from the one holding `fetchOffset` (< limit) within its segment, up to maxBytes but at least
 * one, cut before `limit` (the high watermark). The segment's size counts a write still running, but every
 * batch below the high watermark has landed (a leader counts itself towards a commit only once its write is
 * done), so the walk to `fetchOffset` stays in written bytes; what the read takes past it is cut.
 */
export async function readBatches(
  segments: readonly ReplicatedSegment[],
  fetchOffset: number,
  maxBytes: number,
  limit: number,
  indexIntervalBytes: number,
  buffers?: ReadBufferSource,
): Promise<Buffer> {
  const s = segments[segmentAt(segments, (x) => x.seg.baseOffset <= fetchOffset)]!;
  const raw = await s.seg.withReader(() =>
    readSegment(s.seg, fetchOffset, maxBytes, s.seg.sizeBytes, indexIntervalBytes, buffers),
  );
  return cutBeforeOffset(raw, limit);
}

/**
 * The first data batch in [startOffset, endOffset) whose max timestamp >= timestampMs: its base offset, or
 * `startOffset` (the log start) when that is inside it.
 */
export async function findTimestamp(
  segments: readonly ReplicatedSegment[],
  timestampMs: number,
  startOffset: number,
  endOffset: number,
): Promise<{ offset: number; timestamp: number } | null> {
  // Raft control batches carry timestamp -1: a non-negative target never matches them.
  const target = Math.max(0, timestampMs);
  for (const s of [...segments]) {
    if (s.seg.baseOffset >= endOffset) break;
    // Skip segments retention or truncation removed while this loop awaited.
    if (s.seg.maxTimestamp < target || s.seg.nextOffset <= startOffset || !segments.includes(s)) continue;
    const batch = await s.seg.withReader(() => findByTimestamp(s.seg, target, s.seg.sizeBytes, startOffset));
    if (batch === undefined) continue;
    if (batch.lastOffset >= endOffset) return null;
    return { offset: Math.max(batch.baseOffset, startOffset), timestamp: batch.maxTimestamp };
  }
  return null;
}

/**
 * How many of the oldest segments retention deletes: the LogConfig time/size plan and the segments wholly
 * below the log start floor (retention.ts), cut to closed segments whose entries are all at or below
 * `floorIndex`.
 */
export function retentionCount(
  segments: readonly ReplicatedSegment[],
  config: LogConfig,
  { floorIndex, nowMs }: { readonly floorIndex: number; readonly nowMs: number },
  logStartFloor: number,
): number {
  const plan = planRetention(
    segments.map((s) => s.seg),
    Number.POSITIVE_INFINITY,
    config,
    nowMs,
    { logStartFloor },
  );
  let eligible = 0;
  while (eligible < segments.length - 1 && segments[eligible]!.raft.endIndex - 1 <= floorIndex) eligible++;
  return Math.min(plan.length, eligible);
}
