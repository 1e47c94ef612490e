/**
 * Whether a compacted log is due for cleaning, and how much of it may be cleaned (pure). Cleanable: the
 * oldest closed, committed segments (the caller's list; never the active one) whose newest record is at
 * least min_compaction_lag_ms old. Due: the dirty part (written since the last clean, from the checkpoint's
 * first dirty offset) is at least min_cleanable_dirty_ratio of the cleanable bytes, or a kept tombstone's
 * delete horizon has passed.
 */
import type { CleanerCheckpoint } from './cleaner-checkpoint.js';
import type { SegmentSummary } from './retention.js';
import { RELATIVE_OFFSET_MAX } from './segment.js';

export interface CleaningPolicy {
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
}

export interface CleaningPlan {
  /** How many of the oldest given segments may be cleaned. */
  segmentCount: number;
  /** Where the dirty part starts: the cleaner maps keys from here. */
  firstDirtyOffset: number;
  dirtyRatio: number;
  due: boolean;
}

export function planCleaning(
  segments: readonly SegmentSummary[],
  checkpoint: CleanerCheckpoint,
  policy: CleaningPolicy,
  nowMs: number,
): CleaningPlan {
  let segmentCount = 0;
  while (
    segmentCount < segments.length &&
    nowMs - segments[segmentCount]!.maxTimestamp >= policy.minCompactionLagMs
  )
    segmentCount++;
  const cleanable = segments.slice(0, segmentCount);
  const start = cleanable[0]?.baseOffset ?? 0;
  const end = cleanable[cleanable.length - 1]?.nextOffset ?? start;
  const firstDirtyOffset = Math.min(Math.max(checkpoint.firstDirtyOffset, start), end);
  let totalBytes = 0;
  let dirtyBytes = 0;
  for (const s of cleanable) {
    totalBytes += s.sizeBytes;
    if (s.nextOffset > firstDirtyOffset) dirtyBytes += s.sizeBytes;
  }
  const dirtyRatio = totalBytes === 0 ? 0 : dirtyBytes / totalBytes;
  const tombstonesDue = checkpoint.tombstoneHorizonMs >= 0 && nowMs >= checkpoint.tombstoneHorizonMs;
  const due =
    segmentCount > 0 && ((dirtyBytes > 0 && dirtyRatio >= policy.minCleanableDirtyRatio) || tombstonesDue);
  return { segmentCount, firstDirtyOffset, dirtyRatio, due };
}

/**
 * Splits the segments a pass rewrites (adjacent, oldest first) into runs that each become one segment, as
 * Kafka's cleaner groups them: a run grows while its segments' bytes (before cleaning) stay within
 * segment_bytes and its offsets within what a segment's index can hold, so a compacted log does not keep
 * every small segment it ever rolled, and no merged segment is bigger than a rolled one could be.
 */
export function groupForCleaning<S extends SegmentSummary>(
  segments: readonly S[],
  segmentBytes: number,
): S[][] {
  const runs: S[][] = [];
  let run: S[] = [];
  let runBytes = 0;
  for (const s of segments) {
    const first = run[0];
    const fits =
      first !== undefined &&
      runBytes + s.sizeBytes <= segmentBytes &&
      s.nextOffset - 1 - first.baseOffset <= RELATIVE_OFFSET_MAX;
    if (!fits) {
      if (run.length > 0) runs.push(run);
      run = [];
      runBytes = 0;
    }
    run.push(s);
    runBytes += s.sizeBytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
