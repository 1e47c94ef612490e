/**
 * The log cleaner (Kafka's, for `cleanup_policy` compact): one pass over one partition log. It maps the keys
 * of the dirty part (records written since the last pass) to their latest offsets, then rewrites the
 * cleanable segments from the log start up to where the map ends, dropping each record a later record of its
 * key supersedes and each tombstone past its delete horizon (batch-compaction.ts), and swaps the copies in
 * crash-safely (segment-swap.ts). Adjacent segments that fit in segment_bytes together become one copy
 * (cleaning-plan.ts `groupForCleaning`); a lone segment with nothing to remove is not rewritten. Offsets
 * never change; every batch stays. Only closed segments below the
 * committed end are touched (the log decides which: `cleanableSegments`), never the active one.
 *
 * Each replica cleans its own copy independently, as in Kafka: the bytes of a replicated partition's closed
 * segments may differ between replicas, their batches (offsets, Raft terms) never do.
 */
import {
  type CleanerCheckpoint,
  readCleanerCheckpoint,
  writeCleanerCheckpoint,
} from './cleaner-checkpoint.js';
import { groupForCleaning, planCleaning } from './cleaning-plan.js';
import { compacts, type LogConfig } from './config.js';
import { type IoBudget, UNLIMITED_IO } from './io-throttle.js';
import { KeyOffsetMap } from './key-offset-map.js';
import type { Segment } from './segment.js';
import type { SegmentContext } from './segment-recovery.js';
import { type CleanedSegment, discardCleaned, mapSegmentKeys, rewriteSegments } from './segment-rewrite.js';

/** What a log exposes to the cleaner (PartitionLog, ReplicatedLog). */
export interface CleanableLog {
  readonly dir: string;
  readonly config: LogConfig;
  /** The closed segments whose every batch is committed, oldest first; never the active one; none once closing. */
  cleanableSegments(): readonly Segment[];
  /** File system, folder and config for the copies. */
  cleanerContext(): SegmentContext;
  /**
   * Makes `cleaned` the log's copy of `olds`, adjacent segments oldest first (segment-swap.ts, then its
   * indexes, then in memory), between the log's writes; false, changing nothing, when one of them is gone
   * (retention, truncation) or the log closed.
   */
  swapCleaned(olds: readonly Segment[], cleaned: CleanedSegment): Promise<boolean>;
}

export function isCleanableLog(store: object): store is CleanableLog {
  return typeof (store as Partial<CleanableLog>).swapCleaned === 'function';
}

/** A partition's log, named for logs and metrics. */
export interface NamedCleanableLog {
  readonly topic: string;
  readonly partition: number;
  readonly log: CleanableLog;
}

export interface CleanerOptions {
  nowMs: number;
  /** storage.cleaner_keys_max: the offset map's bound. */
  keysMax: number;
  /** storage.cleaner_io_bytes_per_sec: what every read and write of the pass spends (io-throttle.ts). */
  io?: IoBudget;
}

export interface CleanResult {
  /** Segments replaced by a compacted copy (each segment of a merged run counts). */
  cleanedSegments: number;
  /** Segments fewer in the log: a run of n segments merged into one copy counts n - 1. */
  mergedSegments: number;
  /** Segments with nothing to remove, left as they were without writing a copy. */
  skippedSegments: number;
  removedRecords: number;
  /** Bytes of the rewritten range before and after. */
  bytesBefore: number;
  bytesAfter: number;
  dirtyRatio: number;
}

/** One cleaning pass over `log`; null when its policy does not compact or it is not due. */
export async function cleanLog(log: CleanableLog, options: CleanerOptions): Promise<CleanResult | null> {
  const config = log.config;
  if (!compacts(config.cleanupPolicy)) return null;
  const ctx = log.cleanerContext();
  const checkpoint = await readCleanerCheckpoint(ctx.fs, log.dir);
  const segments = [...log.cleanableSegments()];
  const plan = planCleaning(segments, checkpoint, config, options.nowMs);
  if (!plan.due) return null;
  const cleanable = segments.slice(0, plan.segmentCount);

  const io = options.io ?? UNLIMITED_IO;
  const map = new KeyOffsetMap(options.keysMax);
  let mapEnd = cleanable[cleanable.length - 1]!.nextOffset;
  for (const s of cleanable) {
    if (s.nextOffset <= plan.firstDirtyOffset) continue;
    const stoppedAt = await mapSegmentKeys(s, map, plan.firstDirtyOffset, config.decompressedBytesMax, io);
    if (stoppedAt >= 0) {
      mapEnd = stoppedAt;
      break;
    }
  }

  const rule = {
    nowMs: options.nowMs,
    deleteRetentionMs: config.deleteRetentionMs,
    decompressedBytesMax: config.decompressedBytesMax,
  };
  const result: CleanResult = {
    cleanedSegments: 0,
    mergedSegments: 0,
    skippedSegments: 0,
    removedRecords: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    dirtyRatio: plan.dirtyRatio,
  };
  let tombstoneHorizonMs = -1;
  const rewritten = cleanable.filter((s) => s.baseOffset < mapEnd);
  for (const run of groupForCleaning(rewritten, config.segmentBytes)) {
    // Retention may have deleted one, or the log closed, while the pass awaited: the pass ends without
    // moving the checkpoint (below).
    const current = log.cleanableSegments();
    if (!run.every((s) => current.includes(s))) return result;
    const rewrite = await rewriteSegments(ctx, run, map, rule, io);
    const { cleaned } = rewrite;
    const runBytes = run.reduce((n, s) => n + s.sizeBytes, 0);
    if (cleaned === null) {
      result.skippedSegments++;
    } else if (!(await log.swapCleaned(run, cleaned))) {
      // A copy the log refused (a segment went, the log is closing) ends the pass too.
      await discardCleaned(ctx, cleaned.segment);
      return result;
    } else {
      result.cleanedSegments += run.length;
      result.mergedSegments += run.length - 1;
      result.removedRecords += cleaned.removedRecords;
    }
    result.bytesBefore += runBytes;
    result.bytesAfter += cleaned === null ? runBytes : cleaned.segment.sizeBytes;
    const h = rewrite.tombstoneHorizonMs;
    if (h >= 0 && (tombstoneHorizonMs < 0 || h < tombstoneHorizonMs)) tombstoneHorizonMs = h;
  }
  // Only a pass that cleaned everything below the map's end moves the checkpoint: records left there by a
  // pass cut short must still meet the map of a later one. Otherwise a record superseded by a tombstone in
  // a later segment could outlive that tombstone (which goes at its horizon) and come back to life.
  const next: CleanerCheckpoint = { firstDirtyOffset: mapEnd, tombstoneHorizonMs };
  await writeCleanerCheckpoint(ctx.fs, log.dir, next);
  return result;
}
