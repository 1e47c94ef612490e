/**
 * The client's view of src/resilience's backoff and retry: exponential backoff with full jitter (the wait
 * before retry n is uniform in [0, min(max, base * 2^n))), expressed with the client's injected timers.
 * The policy itself lives in src/resilience; this file only adapts its shape.
 */

import { sleep } from '../resilience/clock.js';
import { backoffDelayMs, retry } from '../resilience/retry.js';
import type { Random, Timers } from './timers.js';

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** The jittered wait before retry number `attempt` (0-based). */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: Random): number {
  return backoffDelayMs(attempt + 1, policy.baseMs, policy.maxMs, random);
}

/** Resolves after `ms` through the injected timers; rejects with the abort reason when `signal` fires. */
export function delay(ms: number, timers: Timers, signal?: AbortSignal): Promise<void> {
  return sleep(ms, signal, timers);
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
export function retrying<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  return retry((attempt) => fn(attempt), {
    retriesMax: options.retries,
    baseDelayMs: options.policy.baseMs,
    maxDelayMs: options.policy.maxMs,
    random: options.random,
    sleep: (ms, signal) => sleep(ms, signal, options.timers),
    isRetriable: options.isRetriable,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onRetry === undefined
      ? {}
      : { onRetry: (info) => options.onRetry?.(info.error, info.retry - 1) }),
  });
}
