import { isRetriable, isStreamBusError, toStreamBusError } from '../errors/index.js';
import { abortError, sleep as realSleep } from './clock.js';

export interface RetryOptions {
  /** Retries after the first attempt; 0 means one attempt. Config `resilience.retry.retries_max` (10). */
  readonly retriesMax: number;
  /** Config `resilience.retry.base_delay` (50 ms). */
  readonly baseDelayMs: number;
  /** Config `resilience.retry.max_delay` (2 s). */
  readonly maxDelayMs: number;
  /** Aborting stops at once (during an attempt's wait or a backoff). */
  readonly signal?: AbortSignal;
  /** [0, 1); inject a seeded generator in tests. */
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Default: `defaultIsRetriable` (by category). */
  readonly isRetriable?: (err: unknown) => boolean;
  /** Called before each backoff: for a log line or a metric. */
  readonly onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  /** 1 for the first retry. */
  readonly retry: number;
  readonly delayMs: number;
  readonly error: unknown;
}

/**
 * Retry what the catalogue calls retriable or transient (Node system errors are categorised first, so
 * ECONNRESET retries and ENOSPC waits). CIRCUIT_OPEN is not retried: backing off into an open breaker only
 * delays the failure the breaker exists to make fast.
 */
export function defaultIsRetriable(err: unknown): boolean {
  if (isStreamBusError(err, 'CIRCUIT_OPEN')) return false;
  return isRetriable(toStreamBusError(err));
}

/**
 * The delay before retry number `retry` (1-based): full jitter over an exponentially growing ceiling,
 * `random() * min(maxDelayMs, baseDelayMs * 2^(retry-1))` (AWS architecture blog, "Exponential Backoff
 * And Jitter"): spreads retrying clients apart so they do not stampede a recovering leader together.
 */
export function backoffDelayMs(
  retry: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(retry - 1, 52));
  return Math.floor(random() * ceiling);
}

/**
 * Calls `fn` until it succeeds, fails with an error that is not retriable, or runs out of retries; then
 * rethrows the last error. An abort (a deadline, a client gone) ends it with the signal's error, whose
 * `cause` is the last attempt's error when there was one.
 */
export async function retry<T>(
  fn: (attempt: number, signal?: AbortSignal) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? realSleep;
  const retriable = options.isRetriable ?? defaultIsRetriable;
  const signal = options.signal;
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted === true) throw abortError(signal);
    try {
      return await fn(attempt, signal);
    } catch (err) {
      // Aborted mid-attempt: the attempt's own error says how (often the deadline's REQUEST_TIMED_OUT).
      if (aborted(signal)) throw err;
      if (attempt >= options.retriesMax || !retriable(err)) throw err;
      const delayMs = backoffDelayMs(attempt + 1, options.baseDelayMs, options.maxDelayMs, random);
      options.onRetry?.({ retry: attempt + 1, delayMs, error: err });
      try {
        await sleep(delayMs, signal);
      } catch (abort) {
        const reason = signal === undefined ? abort : abortError(signal);
        if (reason instanceof Error && reason.cause === undefined)
          (reason as { cause?: unknown }).cause = err;
        throw reason;
      }
    }
  }
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
