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

/** Operating errors map to the catalogue (ENOSPC -> DISK_FULL); a broken invariant stays loud as it is. */
export function storageError(err: unknown, operation: string): Error {
  return err instanceof InvariantViolation ? err : toStreamBusError(err, operation);
}
