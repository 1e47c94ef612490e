/**
 * The client's clock and timers. Unlike the broker's housekeeping timers (src/resilience systemTimers, which
 * are unref'd), a client's backoff or linger timer must keep the process alive: a CLI waiting to retry a
 * produce has nothing else holding the event loop open.
 */
import type { Clock, TimerHandle, Timers } from '../resilience/clock.js';

export type { Clock, TimerHandle, Timers };

export const clientClock: Clock = { nowMs: () => Date.now() };

export const clientTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A source of randomness in [0, 1); injected so backoff jitter is reproducible in tests. */
export type Random = () => number;
