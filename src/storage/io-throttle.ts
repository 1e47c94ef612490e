/**
 * A byte-rate limit for background I/O (the log cleaner's; Kafka's log.cleaner.io.max.bytes.per.second): a
 * token bucket of bytes, refilled at the rate and holding at most one second of it. A caller takes the
 * bytes it just read or wrote; when that leaves the bucket in debt it waits, on a timer, until the refill
 * has paid the debt. Waiting never blocks the event loop, and the caller's next I/O starts only after it.
 * Time and sleeping are injected: tests count waits instead of measuring them.
 */
import { invariant } from '../errors/index.js';

/** What the cleaner's I/O passes through: a throttle, or nothing. */
export interface IoBudget {
  /** Accounts for `bytes` of I/O done; resolves once the caller may go on. */
  spend(bytes: number): Promise<void>;
}

export const UNLIMITED_IO: IoBudget = { spend: () => Promise.resolve() };

export interface ThrottleTime {
  /** Monotonic milliseconds. */
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export class IoThrottle implements IoBudget {
  /** Times a caller had to wait, and how long in all: what the tests and logs look at. */
  waits = 0;
  waitedMs = 0;
  private tokens: number;
  private lastMs: number;
  private readonly burstBytes: number;

  constructor(
    private readonly bytesPerSec: number,
    private readonly time: ThrottleTime,
  ) {
    invariant(bytesPerSec > 0, () => `IoThrottle: ${bytesPerSec} bytes/s`);
    this.burstBytes = bytesPerSec;
    this.tokens = this.burstBytes;
    this.lastMs = time.nowMs();
  }

  async spend(bytes: number): Promise<void> {
    const now = this.time.nowMs();
    const refill = (Math.max(0, now - this.lastMs) * this.bytesPerSec) / 1000;
    this.tokens = Math.min(this.burstBytes, this.tokens + refill) - bytes;
    this.lastMs = now;
    if (this.tokens >= 0) return;
    const waitMs = Math.ceil((-this.tokens * 1000) / this.bytesPerSec);
    this.waits++;
    this.waitedMs += waitMs;
    await this.time.sleep(waitMs);
  }
}
