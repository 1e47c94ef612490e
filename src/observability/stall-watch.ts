/**
 * Notices this process's own stalls: slow data fsyncs (below), and blocks of its event loop: a timer that
 * fires this much late means nothing ran for that long (synchronous work, a long GC pause, a log write stuck
 * on a full pipe, CPU starvation, a frozen VM). While the loop is blocked a broker answers nothing and sends
 * no Raft heartbeats, so a block longer than an election timeout costs it its leaderships; a warning saying
 * when and for how long tells that apart from a network or disk fault. The chaos harness watches its own
 * loop with it too.
 */
import { LogSampler, type SamplerClock } from './log-sampler.js';
import type { Logger } from './logger.js';

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
 * once per 10 s, with how many slow ones it left out (LogSampler).
 */
export function slowFsyncWarner(
  logger: Logger,
  warnMs: number,
  clock: SamplerClock,
): (durationSeconds: number) => void {
  const sampler = new LogSampler(clock, SLOW_FSYNC_LOG_WINDOW_MS);
  return (durationSeconds) => {
    const ms = durationSeconds * 1000;
    if (ms < warnMs) return;
    const fields = { operation: 'storage.fsync', fsync_ms: Math.round(ms), warn_ms: warnMs };
    sampler.warn(logger, 'slow-fsync', fields, 'slow fsync');
  };
}
