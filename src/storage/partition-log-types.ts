/** The public option, result and stats types of PartitionLog (partition-log.ts). */
import type { LogStateKind } from './log-state.js';
import type { RetentionReason } from './retention.js';
import type { StorageFs } from './storage-fs.js';
import type { Clock, IntervalScheduler, StorageLogger } from './types.js';

export interface PartitionLogDeps {
  clock: Clock;
  logger?: StorageLogger;
  /** File system; tests inject failures (ENOSPC) and count fsyncs. Defaults to node's fs.promises. */
  fs?: StorageFs;
  /** Timer for flushPolicy 'interval'. Defaults to a real, unref'd setInterval. */
  scheduleInterval?: IntervalScheduler;
  /** Told how long each data fsync took (seconds): the streambus_log_fsync_duration_seconds histogram. */
  onFsync?: (durationSeconds: number) => void;
  /**
   * State derived from the batch headers, kept with the log across restarts (log-state.ts): the broker's
   * idempotent producers' state. Without it the log writes and reads no snapshot files.
   */
  producerState?: LogStateKind;
}

export interface ReadResult {
  /** Whole batches, possibly empty. */
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
}

export interface DeletedSegment {
  baseOffset: number;
  nextOffset: number;
  sizeBytes: number;
  reason: RetentionReason;
}

export interface RetentionResult {
  deleted: DeletedSegment[];
  logStartOffset: number;
}

export interface PartitionLogStats {
  sizeBytes: number;
  segments: number;
  /** Data syncs made by this log (group commits, rolls, flushes): fdatasyncs, or O_DSYNC group writes. */
  fsyncs: number;
  /** Append calls that succeeded. */
  appends: number;
  /** Write groups (one writev + at most one fsync each). */
  writeGroups: number;
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
}
