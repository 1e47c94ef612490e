import { DECOMPRESSED_RECORDS_BYTES_MAX } from '../protocol/limits.js';
import { BATCH_HEADER_BYTES } from '../protocol/record-batch.js';

/**
 * When appended batches reach the disk: `always` fsyncs (group commit) before an append resolves and before
 * readers can see it; `interval` fsyncs every `flushIntervalMs` and exposes data once written; `never` leaves
 * it to the OS.
 */
export type FlushPolicy = 'always' | 'interval' | 'never';

export const FLUSH_POLICIES: readonly FlushPolicy[] = ['always', 'interval', 'never'];

/**
 * What happens to old data (Kafka's cleanup.policy): `delete` drops whole old segments by retention_ms /
 * retention_bytes; `compact` keeps, in closed segments, only the latest record of each key (log-cleaner.ts);
 * `compact,delete` does both.
 */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export const CLEANUP_POLICIES: readonly CleanupPolicy[] = ['delete', 'compact', 'compact,delete'];

export function compacts(policy: CleanupPolicy): boolean {
  return policy !== 'delete';
}

/** Whether retention by time and size applies: a `compact`-only topic keeps every key's latest record forever. */
export function deletes(policy: CleanupPolicy): boolean {
  return policy !== 'compact';
}

/** Settings of one partition log. Topic overrides are layered over the broker's defaults. */
export interface LogConfig {
  /** Roll the active segment before it grows past this size. */
  segmentBytes: number;
  /** Roll the active segment once it is this old (measured from its creation on this broker's clock). */
  segmentMs: number;
  /** One sparse offset-index entry per this many bytes of batches. */
  indexIntervalBytes: number;
  /** Delete whole segments whose largest timestamp is older than this; -1 keeps them forever. */
  retentionMs: number;
  /** Delete the oldest segments while the log is larger than this; -1 means unlimited. */
  retentionBytes: number;
  flushPolicy: FlushPolicy;
  /** Period of the background fsync under `flushPolicy: 'interval'`. */
  flushIntervalMs: number;
  /**
   * Under `flushPolicy: 'always'`, zeros written ahead of the active segment's end, so small synchronous
   * appends overwrite allocated blocks instead of extending the file (preallocated-file.ts); 0 turns it off.
   * Read when a segment file is opened.
   */
  preallocateBytes: number;
  /**
   * Under `flushPolicy: 'always'`, a replicated partition's follower writes around the page cache
   * (direct-write-file.ts): its data is rarely read, and the copy into the cache is most of a write's cost.
   * The leader's writes stay cached for the consumers reading them. Read when a segment file is opened.
   */
  followerDirectWrites: boolean;
  /** Largest single record batch accepted by append, header included (at most 256 MiB, STORED_BATCH_BYTES_MAX). */
  batchBytesMax: number;
  /**
   * What one appended batch's records may decompress to: the broker's, from limits.frame_bytes_max
   * (decompressedRecordsBytesMax); not a topic config.
   */
  decompressedBytesMax: number;
  cleanupPolicy: CleanupPolicy;
  /** A tombstone (null value) the cleaner kept stays this long after that first clean, then goes. */
  deleteRetentionMs: number;
  /** The cleaner cleans a log once this fraction of its cleanable bytes was written since its last clean. */
  minCleanableDirtyRatio: number;
  /** A segment is cleaned only once its newest record is at least this old. */
  minCompactionLagMs: number;
}

export interface StorageConfig extends LogConfig {
  /** Root folder: `topics.json`, the lock file and one folder per partition (`<topic>-<partition>`). */
  dataDir: string;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flushPolicy: 'always',
  flushIntervalMs: 1000,
  preallocateBytes: 1024 * 1024,
  followerDirectWrites: true,
  batchBytesMax: 1024 * 1024 + BATCH_HEADER_BYTES,
  decompressedBytesMax: DECOMPRESSED_RECORDS_BYTES_MAX,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
});

export const DEFAULT_STORAGE_CONFIG: Readonly<StorageConfig> = Object.freeze({
  ...DEFAULT_LOG_CONFIG,
  dataDir: './data',
});

/** Picks the per-log settings out of a storage config. */
export function logConfigOf(config: LogConfig): LogConfig {
  return {
    segmentBytes: config.segmentBytes,
    segmentMs: config.segmentMs,
    indexIntervalBytes: config.indexIntervalBytes,
    retentionMs: config.retentionMs,
    retentionBytes: config.retentionBytes,
    flushPolicy: config.flushPolicy,
    flushIntervalMs: config.flushIntervalMs,
    preallocateBytes: config.preallocateBytes,
    followerDirectWrites: config.followerDirectWrites,
    batchBytesMax: config.batchBytesMax,
    decompressedBytesMax: config.decompressedBytesMax,
    cleanupPolicy: config.cleanupPolicy,
    deleteRetentionMs: config.deleteRetentionMs,
    minCleanableDirtyRatio: config.minCleanableDirtyRatio,
    minCompactionLagMs: config.minCompactionLagMs,
  };
}

/**
 * A log's config after a live topic config change: retention, cleanup policy and cleaner settings, segment
 * roll and size, index interval (new segments) and batch size limit take effect at once. The flush policy and interval keep their values
 * until the log is next opened: under 'always' durability comes from how the segment files were opened.
 */
export function reconfiguredLog(current: LogConfig, next: LogConfig): LogConfig {
  return { ...next, flushPolicy: current.flushPolicy, flushIntervalMs: current.flushIntervalMs };
}
