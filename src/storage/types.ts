/** Time source, injected so roll-by-age and retention are testable. */
export interface Clock {
  nowMs(): number;
}

export const SYSTEM_CLOCK: Clock = { nowMs: () => Date.now() };

/** The slice of a pino logger storage uses; pino's Logger satisfies it. */
export interface StorageLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export const SILENT_LOGGER: StorageLogger = { info() {}, warn() {}, error() {} };

/** Periodic timer, injected so `flushPolicy: 'interval'` needs no real time in tests. Returns a canceller. */
export type IntervalScheduler = (fn: () => void, intervalMs: number) => () => void;

export const REAL_INTERVAL_SCHEDULER: IntervalScheduler = (fn, intervalMs) => {
  const timer = setInterval(fn, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};
