import { StreamBusError } from '../errors/index.js';

/** Time as the logic sees it; injected so tests control it (STYLE.md: inject the world). */
export interface Clock {
  /** Milliseconds; `systemClock` gives wall-clock epoch ms. Only differences matter to resilience code. */
  nowMs(): number;
}

export type TimerHandle = { readonly __timer: unique symbol } | object;

/** One-shot timers, injected beside the clock. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/**
 * Real timers, unref'd: a pending backoff, health interval or breaker timer never keeps the process alive
 * on its own (the servers do that), so shutdown is not held up by housekeeping.
 */
export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** Resolves after `ms`, or rejects with REQUEST_ABORTED (or the signal's StreamBusError reason) on abort. */
export function sleep(ms: number, signal?: AbortSignal, timers: Timers = systemTimers): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(abortError(signal as AbortSignal));
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error an aborted signal stands for: its StreamBusError reason (e.g. a deadline's), or REQUEST_ABORTED. */
export function abortError(signal: AbortSignal, operation?: string): StreamBusError {
  const reason: unknown = signal.reason;
  if (reason instanceof StreamBusError) return reason;
  return new StreamBusError('REQUEST_ABORTED', {
    cause: reason,
    ...(operation === undefined ? {} : { operation }),
  });
}
