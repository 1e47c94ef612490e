/**
 * How a replicated log's entry cache (replicated-cache.ts) is filled from the segment files: on open with
 * every entry the state machine replays, later in the background with old entries a lagging follower needs.
 * The background reads are what a broker bounds across all its logs (ReplicatedLogDeps.catchUpReads), so
 * they sit here, apart from the log's write path.
 */

import { isStreamBusError } from '../errors/index.js';
import type { Entry } from '../raft/core/types.js';
import type { Bulkhead } from '../resilience/bulkhead.js';
import type { EntryCache, EntryLoader } from './replicated-cache.js';
import { entriesFromDisk } from './replicated-read.js';
import type { ReplicatedSegment } from './replicated-segments.js';

/** Fills `cache` with the entries after `applied` up to `lastIndex`, read from disk (on open). */
export async function fillTail(
  cache: EntryCache,
  segments: readonly ReplicatedSegment[],
  applied: number,
  lastIndex: number,
): Promise<void> {
  const lo = applied + 1;
  const entries = await entriesFromDisk(segments, lo, lastIndex + 1);
  cache.reset(lo);
  cache.push(entries);
  cache.setApplied(applied);
}

/** The log's view the loader reads at the moment a load gets its slot. */
export interface CatchUpSource {
  closing(): boolean;
  segments(): readonly ReplicatedSegment[];
}

/** The cache's loader: reads from disk, through `catchUpReads` when given. */
export function catchUpLoader(source: CatchUpSource, catchUpReads: Bulkhead | undefined): EntryLoader {
  return async (lo: number, hi: number, maxBytes: number): Promise<Entry[]> => {
    // Segments are read when the slot comes (a queued read must not hold a stale list; the cache drops a
    // load whose indexes changed meaning meanwhile).
    const read = async (): Promise<Entry[]> =>
      source.closing() ? [] : entriesFromDisk(source.segments(), lo, hi, maxBytes);
    if (catchUpReads === undefined) return read();
    try {
      return await catchUpReads.run(read);
    } catch (err) {
      // Turned away: nothing loaded, and the leader asks again on the follower's next response.
      if (isStreamBusError(err, 'BULKHEAD_FULL')) return [];
      throw err;
    }
  };
}
