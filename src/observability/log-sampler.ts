import type { Logger } from 'pino';

export interface SamplerClock {
  nowMs(): number;
}

/**
 * Logs a repetitive event at most once per window per key and says how many were suppressed, so a client
 * sending garbage in a loop produces one line per window rather than one per frame.
 */
export class LogSampler {
  private readonly lastMs = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly clock: SamplerClock,
    private readonly windowMs = 10_000,
    private readonly keysMax = 10_000,
  ) {}

  /** Runs `log(suppressed)` if this key has not logged within the window; returns whether it did. */
  sample(key: string, log: (suppressed: number) => void): boolean {
    const now = this.clock.nowMs();
    const entry = this.lastMs.get(key);
    if (entry !== undefined && now - entry.atMs < this.windowMs) {
      entry.suppressed++;
      return false;
    }
    if (entry === undefined && this.lastMs.size >= this.keysMax) this.lastMs.clear(); // bounded memory
    this.lastMs.set(key, { atMs: now, suppressed: 0 });
    log(entry?.suppressed ?? 0);
    return true;
  }

  /** Convenience: `warn` with `{ ...fields, suppressed }` at most once per window per key. */
  warn(logger: Logger, key: string, fields: Record<string, unknown>, message: string): void {
    this.sample(key, (suppressed) =>
      logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message),
    );
  }
}
