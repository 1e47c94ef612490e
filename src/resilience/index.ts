export {
  type BreakerInput,
  type BreakerOptions,
  type BreakerSnapshot,
  type BreakerState,
  INITIAL_SNAPSHOT,
  step as breakerStep,
} from './breaker-table.js';
export { Bulkhead, type BulkheadOptions, type BulkheadStats } from './bulkhead.js';
export {
  type BreakerCallResult,
  type BreakerEvent,
  type BreakerStats,
  CircuitBreaker,
  type CircuitBreakerOptions,
  countsByCategory,
} from './circuit-breaker.js';
export {
  abortError,
  type Clock,
  sleep,
  systemClock,
  systemTimers,
  type TimerHandle,
  type Timers,
} from './clock.js';
export { Deadline, type WithTimeoutOptions, withTimeout } from './deadline.js';
export { flushMicrotasks, ManualClock } from './manual-clock.js';
export {
  breakerOptionsFromConfig,
  type CallPolicy,
  callWithPolicy,
  retryOptionsFromConfig,
} from './policy.js';
export { backoffDelayMs, defaultIsRetriable, type RetryInfo, type RetryOptions, retry } from './retry.js';
