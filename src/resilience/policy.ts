import type { BrokerConfig } from '../config/types.js';
import type { CircuitBreaker, CircuitBreakerOptions } from './circuit-breaker.js';
import type { Clock, Timers } from './clock.js';
import { Deadline, withTimeout } from './deadline.js';
import { type RetryOptions, retry } from './retry.js';

export interface CallPolicy {
  /** Names the operation in errors, logs and `streambus_timeouts_total`: `metadata.propose`, `rpc.fetch`. */
  readonly operation: string;
  readonly breaker?: CircuitBreaker;
  /** Omit for a single attempt. */
  readonly retry?: Omit<RetryOptions, 'signal'>;
  /** Budget of one attempt (e.g. `resilience.timeouts.proposal`); never beyond the caller's deadline. */
  readonly attemptTimeoutMs?: number;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
}

/**
 * The standard wrapping for metadata proposals, inter-broker RPCs and replication sends:
 *
 *   caller's deadline > retry with backoff > circuit breaker > per-attempt timeout > fn
 *
 * The breaker sits outside the attempt timeout so a hung dependency counts as a failure; CIRCUIT_OPEN is
 * not retried (see defaultIsRetriable), so an open breaker fails the call fast; the caller's deadline
 * bounds everything, retries included.
 */
export function callWithPolicy<T>(
  policy: CallPolicy,
  /** `deadline`: the attempt's (with attemptTimeoutMs, else the parent's if it is one), for a hop's budget. */
  fn: (signal: AbortSignal, deadline: Deadline | undefined) => Promise<T>,
  parent?: Deadline | AbortSignal,
): Promise<T> {
  const signal = parent instanceof Deadline ? parent.signal : parent;
  const parentDeadline = parent instanceof Deadline ? parent : undefined;
  const attempt = (): Promise<T> => {
    const timed = (s: AbortSignal | undefined): Promise<T> => {
      if (policy.attemptTimeoutMs === undefined) {
        return fn(s ?? new AbortController().signal, parentDeadline);
      }
      return withTimeout(policy.attemptTimeoutMs, (d) => fn(d.signal, d), {
        operation: policy.operation,
        ...(parent === undefined ? {} : { parent }),
        ...(policy.clock === undefined ? {} : { clock: policy.clock }),
        ...(policy.timers === undefined ? {} : { timers: policy.timers }),
        ...(policy.onTimeout === undefined ? {} : { onTimeout: policy.onTimeout }),
      });
    };
    return policy.breaker === undefined ? timed(signal) : policy.breaker.call(signal, timed);
  };
  if (policy.retry === undefined) return attempt();
  return retry(attempt, { ...policy.retry, ...(signal === undefined ? {} : { signal }) });
}

/** Breaker options from `resilience.circuit_breaker.*`. */
export function breakerOptionsFromConfig(
  config: BrokerConfig,
  name: string,
  clock?: Clock,
): CircuitBreakerOptions {
  const cb = config.resilience.circuitBreaker;
  return {
    name,
    failureThreshold: cb.failureThreshold,
    successThreshold: cb.successThreshold,
    openTimeoutMs: cb.timeoutMs,
    maxRequestsHalfOpen: cb.maxRequestsHalfOpen,
    ...(clock === undefined ? {} : { clock }),
  };
}

/** Retry options from `resilience.retry.*`. */
export function retryOptionsFromConfig(config: BrokerConfig): Omit<RetryOptions, 'signal'> {
  const r = config.resilience.retry;
  return { retriesMax: r.retriesMax, baseDelayMs: r.baseDelayMs, maxDelayMs: r.maxDelayMs };
}
