/**
 * Records stalls of the harness's own event loop in the history. The workload's producers and consumers and
 * every client and peer proxy run in this one process, so while it stalls no ack is recorded and no proxied
 * byte moves: a stall here looks like unavailability of every broker at once. The checker reports the
 * stalls and whether the longest all-partition gap overlaps one.
 */
import { watchEventLoopBlocks } from '../../src/observability/stall-watch.js';
import type { Clock } from './clock.js';
import type { HistorySink } from './history.js';

/** A timer this much late means the event loop was blocked (a GC pause, synchronous work, CPU starvation). */
export const STALL_THRESHOLD_MS = 200;

/** Starts watching; the returned function stops it. */
export function monitorStalls(history: HistorySink, clock: Clock): () => void {
  return watchEventLoopBlocks({
    thresholdMs: STALL_THRESHOLD_MS,
    nowMs: () => clock.nowMs(),
    onBlock: (startedAtMs, blockedMs) =>
      history.append({ t: startedAtMs, type: 'harness-stall', ms: Math.round(blockedMs) }),
  });
}
