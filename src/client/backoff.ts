/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): the wait
 * before retry n is uniform in [0, min(max, base * 2^n)), which spreads retrying clients apart.
 * Kept small on purpose; src/resilience owns the general retry policy for the broker side.
 */
import { abortError } from '../resilience/clock.js';
import type { Random, Timers } from './timers.js';

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** The jittered wait before retry number `attempt` (0-based). */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: Random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms` through the injected timers; rejects with the abort reason when `signal` fires. */
export function delay(ms: number, timers: Timers, signal?: AbortSignal): Promise<void> {
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

export interface RetryOptions {
  retries: number;
  policy: BackoffPolicy;
  random: Random;
  timers: Timers;
  signal?: AbortSignal;
  /** Decides from the error (by category, never by message) whether another attempt can help. */
  isRetriable: (err: unknown) => boolean;
  /** Called before each wait, e.g. to invalidate metadata. */
  onRetry?: (err: unknown, attempt: number) => void;
}

/** Runs `fn` until it succeeds, fails with a non-retriable error, or `retries` retries are spent. */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= options.retries || !options.isRetriable(err) || options.signal?.aborted === true)
        throw err;
      options.onRetry?.(err, attempt);
      await delay(backoffMs(attempt, options.policy, options.random), options.timers, options.signal);
    }
  }
}
