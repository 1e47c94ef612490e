/** The public option and stats types of ReplicatedLog, and how its failures map to the error catalogue. */
import { InvariantViolation, toStreamBusError } from '../errors/index.js';
import type { NodeId } from '../raft/core/types.js';
import type { Bulkhead } from '../resilience/bulkhead.js';
import type { StorageFs } from './storage-fs.js';
import type { Clock, IntervalScheduler, StorageLogger } from './types.js';

export interface ReplicatedLogDeps {
  clock: Clock;
  logger?: StorageLogger;
  fs?: StorageFs;
  /** Told how long each data fsync took (seconds). */
  onFsync?: (durationSeconds: number) => void;
  /** A founding member of a new group: written as the first entries when the folder holds no log yet. */
  bootstrapVoters?: readonly NodeId[];
  /** Entries at or below the applied index stay cached while the cache is below this. Default 16 MiB. */
  cacheBytes?: number;
  /** cacheBytes while the replica follows (FOLLOWER_CACHE_BYTES by default). */
  followerCacheBytes?: number;
  /** Timer for flushPolicy 'interval'. Defaults to a real, unref'd setInterval. */
  scheduleInterval?: IntervalScheduler;
  /**
   * Bounds the background reads of old entries for lagging followers, shared by every log of a broker (see
   * replica-stores.ts). A read it turns away (BULKHEAD_FULL) reads as nothing loaded: the leader asks again
   * on the follower's next response. Absent: unbounded across logs (each log still loads 2 at a time).
   */
  catchUpReads?: Bulkhead;
}

export interface ReplicatedLogStats {
  segments: number;
  /** fdatasyncs of segment data (saves, rolls, truncations, flushes). */
  fsyncs: number;
  cacheBytes: number;
  cacheStart: number;
  backgroundLoads: number;
}

export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * A follower's cache budget. Its entries are read only to be applied (a leader's also to be sent to
 * followers that lag), and each cached entry is a view of the peer frame it arrived in, which it keeps
 * alive whole: 16 MiB of them per partition was 50-75 MB of frames on a broker following a few busy
 * partitions, whose external memory set off full garbage collections every few thousand messages
 * (docs/benchmarks.md). A follower that becomes leader reads older entries from disk for a lagging
 * follower (in the background, as for any entry out of the cache) until its new writes fill the cache.
 */
export const FOLLOWER_CACHE_BYTES = 1024 * 1024;

/** Operating errors map to the catalogue (ENOSPC -> DISK_FULL); a broken invariant stays loud as it is. */
export function storageError(err: unknown, operation: string): Error {
  return err instanceof InvariantViolation ? err : toStreamBusError(err, operation);
}
