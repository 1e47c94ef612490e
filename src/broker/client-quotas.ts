/**
 * Client quotas, as Kafka's: each client id may produce and fetch so many bytes per second on this broker
 * (`quotas.producer_byte_rate`, `quotas.consumer_byte_rate`), and its requests may take so much of the
 * event loop's time (`quotas.request_percentage`, percent of one thread as Kafka's request quota); -1
 * unlimited; overridden per client id at runtime: client-quota-limits.ts. A client over a quota is not
 * refused: it is slowed down. The answer that took it over goes out, then its connection is not read for the
 * throttle time (Kafka's channel mute, KIP-219), so its next requests wait in its socket and a producer with
 * a full pipeline or a consumer with its next fetch waits with them. Nothing is lost and no client needs to
 * know about quotas.
 *
 * The rate is measured over `samples` windows of `windowMs` (Kafka: 11 of 1 s), at least `samples - 1`
 * whole windows long, so one burst after a quiet spell is judged against the whole span, not against the
 * few milliseconds it took. A client over the quota waits as long as the excess would take at the quota:
 * (rate - quota) / quota x the span measured, capped at `samples` windows. When a request goes over more
 * than one quota it waits the longest of their throttles (as Kafka).
 */

/** What is counted: a produce's record bytes, a fetch's, or a request's event-loop time (ms). */
export type QuotaKind = 'produce' | 'fetch' | 'request';

export interface QuotaLimits {
  /** Bytes per second one client id may produce (record batches as sent); -1: unlimited. */
  readonly producerByteRate: number;
  /** Bytes per second of record batches one client id may fetch; -1: unlimited. */
  readonly consumerByteRate: number;
  /** Percent of the event loop's time one client id's requests may take; -1: unlimited. */
  readonly requestPercentage: number;
}

/** The limits each client id is held to (client-quota-limits.ts: broker config and runtime overrides). */
export interface QuotaLimitsSource {
  limitsFor(clientId: string): QuotaLimits;
  /** Whether any quota is set now; when none is, the router does not count bytes or time at all. */
  readonly enabled: boolean;
}

/** Whether `limits` set any quota. */
export function anyQuota(limits: QuotaLimits): boolean {
  return limits.producerByteRate >= 0 || limits.consumerByteRate >= 0 || limits.requestPercentage >= 0;
}

/** The same limits for every client id. */
export function fixedQuotaLimits(limits: QuotaLimits): QuotaLimitsSource {
  return { limitsFor: () => limits, enabled: anyQuota(limits) };
}

/** The quota of `kind` in what `record` counts per second (bytes, or event-loop ms); -1: unlimited. */
function quotaPerSecond(limits: QuotaLimits, kind: QuotaKind): number {
  if (kind === 'produce') return limits.producerByteRate;
  if (kind === 'fetch') return limits.consumerByteRate;
  // Percent of one thread: 100% is 1,000 ms of event-loop time per second.
  return limits.requestPercentage < 0 ? -1 : limits.requestPercentage * 10;
}

/**
 * Adds up the synchronous stretches of one request's handling on the event loop, the clock stopped while it
 * waits (disk, replication, a long-poll fetch's wait for data): the time it kept the broker from others.
 */
export class HandlerTime {
  private totalNs = 0n;
  private since: bigint | null;

  constructor(private readonly clockNs: () => bigint) {
    this.since = clockNs();
  }

  pause(): void {
    if (this.since === null) return;
    this.totalNs += this.clockNs() - this.since;
    this.since = null;
  }

  resume(): void {
    if (this.since === null) this.since = this.clockNs();
  }

  /** Milliseconds counted so far (stops the clock). */
  stoppedMs(): number {
    this.pause();
    return Number(this.totalNs) / 1e6;
  }
}

export interface QuotaOptions {
  readonly windowMs?: number;
  readonly samples?: number;
  readonly nowMs?: () => number;
  /** The monotonic clock requests are timed with (HandlerTime). */
  readonly handlerClockNs?: () => bigint;
}

const WINDOW_MS = 1_000;
const SAMPLES = 11;

/** What was counted per window (bytes or ms), in a ring of `samples` windows. */
class RateMeter {
  private readonly counted: number[];
  private readonly starts: number[];
  private current = 0;
  lastUsedMs: number;

  constructor(
    private readonly windowMs: number,
    samples: number,
    nowMs: number,
  ) {
    this.counted = new Array<number>(samples).fill(0);
    this.starts = new Array<number>(samples).fill(Number.NEGATIVE_INFINITY);
    this.starts[0] = nowMs;
    this.lastUsedMs = nowMs;
  }

  /** Adds `amount` now and answers the rate, per second, over the span the samples cover. */
  record(amount: number, nowMs: number): { rate: number; spanMs: number } {
    this.lastUsedMs = nowMs;
    if (nowMs - this.starts[this.current]! >= this.windowMs) {
      this.current = (this.current + 1) % this.counted.length;
      this.counted[this.current] = 0;
      this.starts[this.current] = nowMs;
    }
    this.counted[this.current]! += amount;
    const oldestAllowed = nowMs - this.windowMs * this.counted.length;
    let total = 0;
    let oldest = nowMs;
    for (let i = 0; i < this.counted.length; i++) {
      if (this.starts[i]! <= oldestAllowed) continue;
      total += this.counted[i]!;
      oldest = Math.min(oldest, this.starts[i]!);
    }
    const spanMs = Math.max(nowMs - oldest, this.windowMs * (this.counted.length - 1));
    return { rate: (total * 1000) / spanMs, spanMs };
  }
}

export class ClientQuotas {
  private readonly meters = new Map<string, RateMeter>();
  private readonly windowMs: number;
  private readonly samples: number;
  private readonly nowMs: () => number;
  private readonly handlerClockNs: () => bigint;
  private lastSweepMs: number;

  constructor(
    private readonly limits: QuotaLimitsSource,
    options: QuotaOptions = {},
  ) {
    this.windowMs = options.windowMs ?? WINDOW_MS;
    this.samples = options.samples ?? SAMPLES;
    this.nowMs = options.nowMs ?? Date.now;
    this.handlerClockNs = options.handlerClockNs ?? process.hrtime.bigint;
    this.lastSweepMs = this.nowMs();
  }

  /** Whether any quota is set now (when none is, the router does not count bytes or time at all). */
  get enabled(): boolean {
    return this.limits.enabled;
  }

  /** Starts timing a request of `clientId` when a request-time quota holds it; null when none does. */
  timeRequest(clientId: string): HandlerTime | null {
    return this.limits.limitsFor(clientId).requestPercentage < 0
      ? null
      : new HandlerTime(this.handlerClockNs);
  }

  /**
   * Counts `amount` (bytes, or for `request` event-loop milliseconds) against the client's quota of `kind`;
   * answers how long to throttle it, 0 within quota.
   */
  record(clientId: string, kind: QuotaKind, amount: number): number {
    const quota = quotaPerSecond(this.limits.limitsFor(clientId), kind);
    if (quota < 0) return 0;
    const now = this.nowMs();
    this.sweep(now);
    const key = `${kind}\u0000${clientId}`;
    let meter = this.meters.get(key);
    if (meter === undefined) {
      meter = new RateMeter(this.windowMs, this.samples, now);
      this.meters.set(key, meter);
    }
    const { rate, spanMs } = meter.record(amount, now);
    if (rate <= quota) return 0;
    return Math.min(Math.ceil(((rate - quota) / quota) * spanMs), this.windowMs * this.samples);
  }

  /** Client ids tracked now (a bound on memory: idle ones are forgotten). */
  get trackedClients(): number {
    return this.meters.size;
  }

  /** Forgets meters idle for longer than all their samples cover: client ids come and go. */
  private sweep(now: number): void {
    const idleMs = this.windowMs * this.samples;
    if (now - this.lastSweepMs < idleMs) return;
    this.lastSweepMs = now;
    for (const [key, meter] of this.meters) if (now - meter.lastUsedMs > idleMs) this.meters.delete(key);
  }
}
