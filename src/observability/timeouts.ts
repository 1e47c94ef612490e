import type { Logger } from 'pino';
import type { Clock } from '../resilience/clock.js';
import { LogSampler } from './log-sampler.js';
import type { MetricsRegistry } from './metrics.js';

/**
 * The `onTimeout` for resilience's `withTimeout`: counts `streambus_timeouts_total{operation}` and logs a
 * warning with the operation, sampled to one line per operation per 10 s when timeouts repeat.
 */
export function timeoutObserver(
  metrics: MetricsRegistry | undefined,
  logger: Logger | undefined,
  clock: Clock,
): (operation: string, timeoutMs: number) => void {
  const sampler = new LogSampler(clock);
  return (operation, timeoutMs) => {
    metrics?.timeoutsTotal.inc({ operation });
    if (logger !== undefined) {
      sampler.warn(logger, operation, { operation, timeout_ms: timeoutMs }, `${operation} timed out`);
    }
  };
}
