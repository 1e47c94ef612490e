/**
 * Which segments retention deletes: a pure plan over segment summaries, applied by PartitionLog.
 * Only whole segments go, oldest first, never the active (last) one and never one holding data above the
 * high watermark. By time: while the oldest segment's largest timestamp is more than retentionMs before now.
 * By size: while the log without the oldest segment is still at least retentionBytes. A `compact`-only topic
 * (cleanup_policy) has no retention: every key's latest record stays.
 */
import { type CleanupPolicy, deletes } from './config.js';

export interface SegmentSummary {
  baseOffset: number;
  nextOffset: number;
  sizeBytes: number;
  /** Largest batch timestamp in the segment; -1 when empty. */
  maxTimestamp: number;
}

export type RetentionReason = 'retention_ms' | 'retention_bytes';

export interface RetentionPolicy {
  retentionMs: number;
  retentionBytes: number;
  cleanupPolicy: CleanupPolicy;
}

/** How many of the oldest segments to delete, each with its reason. */
export function planRetention(
  segments: readonly SegmentSummary[],
  highWatermark: number,
  policy: RetentionPolicy,
  nowMs: number,
): RetentionReason[] {
  const reasons: RetentionReason[] = [];
  if (!deletes(policy.cleanupPolicy)) return reasons;
  let total = 0;
  for (const s of segments) total += s.sizeBytes;
  const deletable = (i: number): SegmentSummary | undefined => {
    const s = segments[i];
    return s !== undefined && i < segments.length - 1 && s.nextOffset <= highWatermark ? s : undefined;
  };
  let i = 0;
  for (let s = deletable(i); policy.retentionMs >= 0 && s !== undefined; s = deletable(i)) {
    if (nowMs - s.maxTimestamp <= policy.retentionMs) break;
    reasons.push('retention_ms');
    total -= s.sizeBytes;
    i++;
  }
  for (let s = deletable(i); policy.retentionBytes >= 0 && s !== undefined; s = deletable(i)) {
    if (total - s.sizeBytes < policy.retentionBytes) break;
    reasons.push('retention_bytes');
    total -= s.sizeBytes;
    i++;
  }
  return reasons;
}
