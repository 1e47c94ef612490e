/**
 * Client byte-rate quotas, as Kafka's: each client id may produce and fetch so many bytes per second on
 * this broker (`quotas.producer_byte_rate`, `quotas.consumer_byte_rate`; -1 unlimited; overridden per client
 * id at runtime: client-quota-limits.ts). A client over its
 * quota is not refused: it is slowed down. The answer that took it over goes out, then its connection is not
 * read for the throttle time (Kafka's channel mute, KIP-219), so its next requests wait in its socket and a
 * producer with a full pipeline or a consumer with its next fetch waits with them. Nothing is lost and no
 * client needs to know about quotas.
 *
 * The rate is measured over `samples` windows of `windowMs` (Kafka: 11 of 1 s), at least `samples - 1`
 * whole windows long, so one burst after a quiet spell is judged against the whole span, not against the
 * few milliseconds it took. A client over the quota waits as long as the excess would take at the quota:
 * (rate - quota) / quota x the span measured, capped at `samples` windows.
 */

export type QuotaKind = 'produce' | 'fetch';

export interface QuotaLimits {
  /** Bytes per second one client id may produce (record batches as sent); -1: unlimited. */
  readonly producerByteRate: number;
  /** Bytes per second of record batches one client id may fetch; -1: unlimited. */
  readonly consumerByteRate: number;
}

/** The limits each client id is held to (client-quota-limits.ts: broker config and runtime overrides). */
export interface QuotaLimitsSource {
  limitsFor(clientId: string): QuotaLimits;
  /** Whether any quota is set now; when none is, the router does not count bytes at all. */
  readonly enabled: boolean;
}

/** The same limits for every client id. */
export function fixedQuotaLimits(limits: QuotaLimits): QuotaLimitsSource {
  return {
    limitsFor: () => limits,
    enabled: limits.producerByteRate >= 0 || limits.consumerByteRate >= 0,
  };
}

export interface QuotaOptions {
  readonly windowMs?: number;
  readonly samples?: number;
  readonly nowMs?: () => number;
}

const WINDOW_MS = 1_000;
const SAMPLES = 11;

/** Bytes per window, in a ring of `samples` windows. */
class RateMeter {
  private readonly bytes: number[];
  private readonly starts: number[];
  private current = 0;
  lastUsedMs: number;

  constructor(
    private readonly windowMs: number,
    samples: number,
    nowMs: number,
  ) {
    this.bytes = new Array<number>(samples).fill(0);
    this.starts = new Array<number>(samples).fill(Number.NEGATIVE_INFINITY);
    this.starts[0] = nowMs;
    this.lastUsedMs = nowMs;
  }

  /** Adds `bytes` now and answers the rate, in bytes per second, over the span the samples cover. */
  record(bytes: number, nowMs: number): { rate: number; spanMs: number } {
    this.lastUsedMs = nowMs;
    if (nowMs - this.starts[this.current]! >= this.windowMs) {
      this.current = (this.current + 1) % this.bytes.length;
      this.bytes[this.current] = 0;
      this.starts[this.current] = nowMs;
    }
    this.bytes[this.current]! += bytes;
    const oldestAllowed = nowMs - this.windowMs * this.bytes.length;
    let total = 0;
    let oldest = nowMs;
    for (let i = 0; i < this.bytes.length; i++) {
      if (this.starts[i]! <= oldestAllowed) continue;
      total += this.bytes[i]!;
      oldest = Math.min(oldest, this.starts[i]!);
    }
    const spanMs = Math.max(nowMs - oldest, this.windowMs * (this.bytes.length - 1));
    return { rate: (total * 1000) / spanMs, spanMs };
  }
}

export class ClientQuotas {
  private readonly meters = new Map<string, RateMeter>();
  private readonly windowMs: number;
  private readonly samples: number;
  private readonly nowMs: () => number;
  private lastSweepMs: number;

  constructor(
    private readonly limits: QuotaLimitsSource,
    options: QuotaOptions = {},
  ) {
    this.windowMs = options.windowMs ?? WINDOW_MS;
    this.samples = options.samples ?? SAMPLES;
    this.nowMs = options.nowMs ?? Date.now;
    this.lastSweepMs = this.nowMs();
  }

  /** Whether any quota is set now (when none is, the router does not count bytes at all). */
  get enabled(): boolean {
    return this.limits.enabled;
  }

  /** Counts `bytes` against the client's quota of `kind`; answers how long to throttle it, 0 within quota. */
  record(clientId: string, kind: QuotaKind, bytes: number): number {
    const limits = this.limits.limitsFor(clientId);
    const quota = kind === 'produce' ? limits.producerByteRate : limits.consumerByteRate;
    if (quota < 0) return 0;
    const now = this.nowMs();
    this.sweep(now);
    const key = `${kind}\u0000${clientId}`;
    let meter = this.meters.get(key);
    if (meter === undefined) {
      meter = new RateMeter(this.windowMs, this.samples, now);
      this.meters.set(key, meter);
    }
    const { rate, spanMs } = meter.record(bytes, now);
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
