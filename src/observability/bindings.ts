import type { Logger } from 'pino';
import type { BreakerState, CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { HealthRegistry, HealthStatus } from './health.js';
import type { MetricsRegistry } from './metrics.js';

/** circuitbreaker_state gauge values, per spec. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = {
  closed: 0,
  open: 1,
  'half-open': 2,
};
const HEALTH_VALUE: Readonly<Record<HealthStatus, number>> = { unhealthy: 0, degraded: 1, healthy: 2 };

/**
 * Turns a breaker's events into the circuitbreaker_* metrics and a log line per state change (the breaker
 * itself imports neither). Returns an unbind function.
 */
export function bindBreakerMetrics(
  breaker: CircuitBreaker,
  metrics: MetricsRegistry,
  logger?: Logger,
): () => void {
  const name = breaker.name;
  const gauge = metrics.circuitbreakerState;
  gauge.set({ name }, BREAKER_STATE_VALUE[breaker.state()]);
  const unsubscribe = breaker.subscribe((event) => {
    if (event.type === 'call') {
      metrics.circuitbreakerRequestsTotal.inc({ name, result: event.result });
      return;
    }
    gauge.set({ name }, BREAKER_STATE_VALUE[event.to]);
    metrics.circuitbreakerStateChangesTotal.inc({ name, from: event.from, to: event.to });
    const fields = { operation: 'circuit_breaker.transition', breaker: name, from: event.from, to: event.to };
    if (event.to === 'open')
      logger?.warn({ ...fields, stats: breaker.stats() }, `circuit breaker ${name} opened`);
    else logger?.info(fields, `circuit breaker ${name} is ${event.to}`);
  });
  return unsubscribe;
}

/**
 * Ends the metrics of a breaker gone for good (the Raft peer breaker of a broker that left the cluster), after
 * bindBreakerMetrics' unbind: its circuitbreaker_state series is removed.
 *
 * Removed rather than left reading 0 (closed): either way an alert on `circuitbreaker_state == 1` resolves,
 * but a removed series goes stale in Prometheus as a deleted pod's series do, which is what "this breaker no
 * longer exists" means; a 0 would claim a healthy link to a broker that is gone, and keep one series per
 * broker ever decommissioned for the life of the process. Its counters stay: they no longer move, and a
 * peer that returns continues them.
 */
export function dropBreakerMetrics(breaker: CircuitBreaker, metrics: MetricsRegistry): void {
  metrics.circuitbreakerState.remove({ name: breaker.name });
}

/** Health status changes become the streambus_health_check_status gauge and one log line each. */
export function bindHealthMetrics(
  health: HealthRegistry,
  metrics: MetricsRegistry,
  logger?: Logger,
): () => void {
  return health.subscribe(({ name, previous, current }) => {
    metrics.healthCheckStatus.set({ check: name }, HEALTH_VALUE[current.status]);
    if (previous === undefined && current.status === 'healthy') return;
    const fields = {
      operation: 'health.check',
      check: name,
      from: previous ?? 'unknown',
      to: current.status,
      message: current.message,
      duration_ms: current.duration_ms,
    };
    if (current.status === 'healthy') logger?.info(fields, `health check ${name} recovered`);
    else logger?.warn(fields, `health check ${name} is ${current.status}`);
  });
}
