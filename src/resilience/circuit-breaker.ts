import { type ErrorCategory, StreamBusError, toStreamBusError } from '../errors/index.js';
import {
  type BreakerInput,
  type BreakerOptions,
  type BreakerSnapshot,
  type BreakerState,
  INITIAL_SNAPSHOT,
  step,
} from './breaker-table.js';
import { abortError, type Clock, systemClock } from './clock.js';

export type { BreakerState } from './breaker-table.js';

export type BreakerCallResult = 'success' | 'failure' | 'rejected' | 'ignored';

export type BreakerEvent =
  | {
      readonly type: 'state-change';
      readonly name: string;
      readonly from: BreakerState;
      readonly to: BreakerState;
      readonly atMs: number;
    }
  | { readonly type: 'call'; readonly name: string; readonly result: BreakerCallResult };

export interface CircuitBreakerOptions {
  /** Appears in errors, events and the `name` metric label: `metadata.propose`, `rpc.broker-2`. */
  readonly name: string;
  /** Defaults per spec: 5, 2, 30 s, 3 (config `resilience.circuit_breaker.*`). */
  readonly failureThreshold?: number;
  readonly successThreshold?: number;
  readonly openTimeoutMs?: number;
  readonly maxRequestsHalfOpen?: number;
  readonly clock?: Clock;
  /**
   * Which errors count as failures. Default: by category, retriable, transient and fatal count;
   * invalid_input (the caller's mistake, or the caller aborting) does not.
   */
  readonly countsAsFailure?: (err: unknown) => boolean;
}

export interface BreakerStats {
  readonly name: string;
  readonly state: BreakerState;
  readonly consecutiveFailures: number;
  readonly halfOpenSuccesses: number;
  readonly halfOpenInFlight: number;
  readonly successes: number;
  readonly failures: number;
  readonly rejected: number;
  readonly ignored: number;
  /** When the breaker last opened (clock ms), or null if it never has. */
  readonly openedAtMs: number | null;
}

const COUNTED: ReadonlySet<ErrorCategory> = new Set(['retriable', 'transient', 'fatal']);

export function countsByCategory(err: unknown): boolean {
  return COUNTED.has(toStreamBusError(err).category);
}

/** A function, not an inline check: the signal may have aborted while the call ran. */
function abandoned(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** A three-state circuit breaker (spec: Call, State, Stats) driving the pure table in breaker-table.ts. */
export class CircuitBreaker {
  readonly name: string;
  private readonly options: BreakerOptions;
  private readonly clock: Clock;
  private readonly countsAsFailure: (err: unknown) => boolean;
  private snapshot: BreakerSnapshot = INITIAL_SNAPSHOT;
  private everOpened = false;
  private readonly totals = { success: 0, failure: 0, rejected: 0, ignored: 0 };
  private readonly listeners = new Set<(event: BreakerEvent) => void>();

  constructor(options: CircuitBreakerOptions) {
    this.name = options.name;
    this.options = {
      failureThreshold: options.failureThreshold ?? 5,
      successThreshold: options.successThreshold ?? 2,
      openTimeoutMs: options.openTimeoutMs ?? 30_000,
      maxRequestsHalfOpen: options.maxRequestsHalfOpen ?? 3,
    };
    if (this.options.successThreshold > this.options.maxRequestsHalfOpen) {
      throw new StreamBusError('INVALID_CONFIG', {
        message: `breaker ${this.name}: successThreshold must be <= maxRequestsHalfOpen or it can never close`,
      });
    }
    this.clock = options.clock ?? systemClock;
    this.countsAsFailure = options.countsAsFailure ?? countsByCategory;
  }

  /**
   * Runs `fn` unless the breaker is open (then rejects with CIRCUIT_OPEN without calling it). Its outcome
   * feeds the breaker (a failure once `signal` has aborted is ignored); its result or error passes through
   * unchanged.
   */
  async call<T>(
    signal: AbortSignal | undefined,
    fn: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted === true) throw abortError(signal, this.name);
    const epoch = this.admit();
    let value: T;
    try {
      value = await fn(signal);
    } catch (err) {
      // A call its caller gave up on (a client's deadline, a shutdown) says nothing about the dependency.
      const counted = !abandoned(signal) && this.countsAsFailure(err);
      this.apply({ type: counted ? 'failure' : 'ignored', epoch, nowMs: this.clock.nowMs() });
      this.recordCall(counted ? 'failure' : 'ignored');
      throw err;
    }
    this.apply({ type: 'success', epoch });
    this.recordCall('success');
    return value;
  }

  /**
   * The dependency says it is back (e.g. a new leader is known): an open breaker goes half-open now and lets
   * trial calls through, instead of rejecting until its open timeout ends.
   */
  recovered(): void {
    this.apply({ type: 'recovered' });
  }

  /** Current state; an open breaker whose timeout has passed reports half-open only once a call is let in. */
  state(): BreakerState {
    return this.snapshot.state;
  }

  stats(): BreakerStats {
    const s = this.snapshot;
    return {
      name: this.name,
      state: s.state,
      consecutiveFailures: s.failures,
      halfOpenSuccesses: s.halfOpenSuccesses,
      halfOpenInFlight: s.halfOpenInFlight,
      successes: this.totals.success,
      failures: this.totals.failure,
      rejected: this.totals.rejected,
      ignored: this.totals.ignored,
      openedAtMs: this.everOpened ? s.openedAtMs : null,
    };
  }

  /** How long until an open breaker lets a trial through (0 when not open). */
  retryAfterMs(): number {
    if (this.snapshot.state !== 'open') return 0;
    return Math.max(0, this.snapshot.openedAtMs + this.options.openTimeoutMs - this.clock.nowMs());
  }

  /** State changes and call results; costs nothing while nobody listens. */
  subscribe(listener: (event: BreakerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private admit(): number {
    const nowMs = this.clock.nowMs();
    const admitted = this.apply({ type: 'request', nowMs });
    if (!admitted) {
      this.recordCall('rejected');
      throw new StreamBusError('CIRCUIT_OPEN', {
        operation: this.name,
        message: `circuit breaker ${this.name} is ${this.snapshot.state}`,
        metadata: { breaker: this.name, state: this.snapshot.state, retry_after_ms: this.retryAfterMs() },
        timestampMs: nowMs,
      });
    }
    return this.snapshot.epoch;
  }

  private apply(input: BreakerInput): boolean {
    const before = this.snapshot;
    const { next, admit } = step(before, input, this.options);
    this.snapshot = next;
    if (next.state !== before.state) {
      if (next.state === 'open') this.everOpened = true;
      this.emit({
        type: 'state-change',
        name: this.name,
        from: before.state,
        to: next.state,
        atMs: this.clock.nowMs(),
      });
    }
    return admit;
  }

  private recordCall(result: BreakerCallResult): void {
    this.totals[result]++;
    if (this.listeners.size > 0) this.emit({ type: 'call', name: this.name, result });
  }

  private emit(event: BreakerEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
