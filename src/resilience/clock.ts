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

/**
 * `work`, or a rejection with the signal's error (abortError) as soon as the signal aborts, whichever comes
 * first. The work itself goes on (it may be a write already under way); only the caller stops waiting. The
 * listener goes as soon as either settles, so a long-lived signal collects none.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, operation?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, operation));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
