/**
 * Notices blocks of this process's event loop: a timer that fires this much late means nothing ran for that
 * long (synchronous work, a long GC pause, a log write stuck on a full pipe, CPU starvation, a frozen VM).
 * While the loop is blocked a broker answers nothing and sends no Raft heartbeats, so a block longer than an
 * election timeout costs it its leaderships; a warning saying when and for how long tells that apart from a
 * network or disk fault. The chaos harness watches its own loop with it too.
 */

/** How often the watch checks; a block shorter than its threshold plus this may go unnoticed. */
export const EVENT_LOOP_CHECK_INTERVAL_MS = 50;

export interface EventLoopWatchOptions {
  /** A timer at least this late counts as a block. */
  readonly thresholdMs: number;
  readonly nowMs: () => number;
  /** Told when a block ended: when the loop stopped running (as nearly as the watch knows) and for how long. */
  readonly onBlock: (startedAtMs: number, blockedMs: number) => void;
}

/** Starts watching; the returned function stops it. The timer does not keep the process alive. */
export function watchEventLoopBlocks(o: EventLoopWatchOptions): () => void {
  let expected = o.nowMs() + EVENT_LOOP_CHECK_INTERVAL_MS;
  const timer = setInterval(() => {
    const now = o.nowMs();
    const late = now - expected;
    if (late >= o.thresholdMs) o.onBlock(expected, late);
    expected = now + EVENT_LOOP_CHECK_INTERVAL_MS;
  }, EVENT_LOOP_CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** At most one slow-fsync warning per this window (a sick disk slows every fsync, not one). */
const SLOW_FSYNC_LOG_WINDOW_MS = 10_000;

/**
 * A reporter of data fsync durations that warns when one took at least `warnMs` (etcd's "slow fdatasync"):
 * a slow disk holds back every acks=all write and, past an election timeout, costs leaderships. Logs at most
 * once per 10 s, with how many slow ones it left out and the longest of them.
 */
export function slowFsyncWarner(
  log: (fields: Record<string, number>, message: string) => void,
  warnMs: number,
  nowMs: () => number,
): (durationSeconds: number) => void {
  let lastLogMs = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  let longestSuppressedMs = 0;
  return (durationSeconds) => {
    const ms = durationSeconds * 1000;
    if (ms < warnMs) return;
    const now = nowMs();
    if (now - lastLogMs < SLOW_FSYNC_LOG_WINDOW_MS) {
      suppressed++;
      longestSuppressedMs = Math.max(longestSuppressedMs, ms);
      return;
    }
    const fields: Record<string, number> = { fsync_ms: Math.round(ms), warn_ms: warnMs };
    if (suppressed > 0) {
      fields.suppressed = suppressed;
      fields.suppressed_longest_ms = Math.round(longestSuppressedMs);
    }
    log(fields, 'slow fsync');
    lastLogMs = now;
    suppressed = 0;
    longestSuppressedMs = 0;
  };
}
