/**
 * Which segments retention deletes: a pure plan over segment summaries, applied by PartitionLog.
 * Only whole segments go, oldest first, never one holding data above the high watermark, and the active
 * (last) one only when the caller can roll first (`activeDeletable`, Kafka's rule: a log whose every segment
 * is past retention rolls and deletes them all). Without that, a log that never filled a segment (the default
 * segment_bytes is 1 GiB) could never free anything, however low its retention. By time: while the oldest
 * segment's largest timestamp is more than retentionMs before now. By size: while the log without the oldest
 * segment is still at least retentionBytes. A `compact`-only topic (cleanup_policy) has no retention: every
 * key's latest record stays. Before either, and whatever the policy: every segment wholly below the log start
 * floor an operator set (DeleteRecords, `logStartFloor`): its records are gone for readers already.
 */
import { type CleanupPolicy, deletes } from './config.js';

export interface SegmentSummary {
  baseOffset: number;
  nextOffset: number;
  sizeBytes: number;
  /** Largest batch timestamp in the segment; -1 when empty. */
  maxTimestamp: number;
}

export type RetentionReason = 'log_start_floor' | 'retention_ms' | 'retention_bytes';

export interface RetentionOptions {
  /** The active segment may go too, when it holds data; the caller then rolls before deleting. */
  activeDeletable?: boolean;
  /** Offsets below this are deleted records (DeleteRecords): a segment that ends at or below it goes. */
  logStartFloor?: number;
}

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
  options: RetentionOptions = {},
): RetentionReason[] {
  const reasons: RetentionReason[] = [];
  let total = 0;
  for (const s of segments) total += s.sizeBytes;
  const deletable = (i: number): SegmentSummary | undefined => {
    const s = segments[i];
    if (s === undefined || s.nextOffset > highWatermark) return undefined;
    const active = i === segments.length - 1;
    return !active || (options.activeDeletable === true && s.sizeBytes > 0) ? s : undefined;
  };
  let i = 0;
  const floor = options.logStartFloor ?? 0;
  for (let s = deletable(i); s !== undefined && s.nextOffset <= floor; s = deletable(i)) {
    reasons.push('log_start_floor');
    total -= s.sizeBytes;
    i++;
  }
  if (!deletes(policy.cleanupPolicy)) return reasons;
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
