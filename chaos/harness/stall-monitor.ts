/**
 * Records stalls of the harness's own event loop in the history. The workload's producers and consumers and
 * every client and peer proxy run in this one process, so while it stalls no ack is recorded and no proxied
 * byte moves: a stall here looks like unavailability of every broker at once. The checker reports the
 * stalls and whether the longest all-partition gap overlaps one.
 */
import type { Clock } from './clock.js';
import type { HistorySink } from './history.js';

/** A timer this much late means the event loop was blocked (a GC pause, synchronous work, CPU starvation). */
export const STALL_THRESHOLD_MS = 200;
const CHECK_INTERVAL_MS = 50;

/** Starts watching; the returned function stops it. */
export function monitorStalls(history: HistorySink, clock: Clock): () => void {
  let expected = clock.nowMs() + CHECK_INTERVAL_MS;
  const timer = setInterval(() => {
    const now = clock.nowMs();
    const late = now - expected;
    if (late >= STALL_THRESHOLD_MS)
      history.append({ t: expected, type: 'harness-stall', ms: Math.round(late) });
    expected = now + CHECK_INTERVAL_MS;
  }, CHECK_INTERVAL_MS);
  return () => clearInterval(timer);
}
