import { setMaxListeners } from 'node:events';
import { StreamBusError } from '../errors/index.js';
import { type Clock, systemClock, systemTimers, type TimerHandle, type Timers } from './clock.js';

/**
 * A point in time by which work must finish, carried from a client request through every hop. Each hop
 * takes a `child` (never later than its parent), so the remaining time only shrinks as a request moves
 * on: a retry or a forwarded RPC can never grant itself a fresh budget. `signal` aborts at the deadline
 * with REQUEST_TIMED_OUT, or earlier with the parent's reason.
 *
 * The signal is made on first use: an AbortController costs several microseconds, more than the rest of a
 * request's bookkeeping, and a request answered without waiting on anything (a single-node produce, a
 * fetch with data ready) never needs one. `race` ends a wait at the deadline without one.
 */
export class Deadline {
  private controller: AbortController | undefined;
  /** Set once the deadline has passed or its parent aborted: the reason every waiter gets. */
  private ended = false;
  private reason: unknown;
  private timer: TimerHandle | undefined;
  private detachParent: (() => void) | undefined;
  /** Pending `race` calls, told after the signal's listeners (the work's own waits let go first). */
  private racers: ((reason: unknown) => void)[] | undefined;

  private constructor(
    /** Absolute, in the clock's milliseconds. */
    readonly atMs: number,
    private readonly clock: Clock,
    private readonly timers: Timers,
    readonly operation: string | undefined,
    parent: AbortSignal | undefined,
    /** A parent deadline's instant: a child due at the same instant ends with it and needs no timer. */
    parentAtMs?: number,
  ) {
    if (parent?.aborted === true) {
      this.abort(parent.reason);
      return;
    }
    if (parent !== undefined) {
      const onAbort = (): void => this.abort(parent.reason);
      parent.addEventListener('abort', onAbort, { once: true });
      this.detachParent = () => parent.removeEventListener('abort', onAbort);
    }
    const remaining = atMs - clock.nowMs();
    if (remaining <= 0) this.abort(this.timeoutError());
    else if (parentAtMs === undefined || atMs < parentAtMs) {
      this.timer = timers.setTimeout(() => this.abort(this.timeoutError()), remaining);
    }
  }

  /** Aborts at the deadline (REQUEST_TIMED_OUT) or with the parent's reason; already aborted if it passed. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      // All the work one request starts may wait on it (a listener per proposal, per partition), each
      // removing its own when it settles: many at once is the design, not a leak, so no warning at 10.
      setMaxListeners(0, this.controller.signal);
      if (this.ended) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /**
   * `work`, or a rejection with this deadline's reason as soon as it passes, whichever comes first. The work
   * itself goes on (it may be a write already under way); only the caller stops waiting. Needs no signal.
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.ended) {
      // The work goes on without a waiter: its later failure must not become an unhandled rejection, which
      // ends the process (a broker resumed after a stall crashed on a proposal dropped this way).
      work.catch(() => undefined);
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.racers ??= [];
      const racers = this.racers;
      racers.push(reject);
      const leave = (): void => {
        const i = racers.indexOf(reject);
        if (i >= 0) racers.splice(i, 1);
      };
      work.then(
        (value) => {
          leave();
          resolve(value);
        },
        (err: unknown) => {
          leave();
          reject(err);
        },
      );
    });
  }

  /** `timeoutMs` from now. `parent` (e.g. the connection's signal) aborts this deadline too. */
  static fromTimeout(
    timeoutMs: number,
    options: { clock?: Clock; timers?: Timers; operation?: string; parent?: AbortSignal } = {},
  ): Deadline {
    const clock = options.clock ?? systemClock;
    return new Deadline(
      clock.nowMs() + Math.max(0, timeoutMs),
      clock,
      options.timers ?? systemTimers,
      options.operation,
      options.parent,
    );
  }

  /** Milliseconds left, never negative. Send this on the wire; the next hop calls `fromTimeout` with it. */
  remainingMs(): number {
    return Math.max(0, this.atMs - this.clock.nowMs());
  }

  expired(): boolean {
    return this.ended || this.remainingMs() === 0;
  }

  /** Throws REQUEST_TIMED_OUT (or the abort reason) if the deadline has passed. */
  throwIfExpired(): void {
    if (this.ended) throw this.reason;
    if (this.remainingMs() === 0) throw this.timeoutError();
  }

  /**
   * A deadline for a sub-operation: `timeoutMs` from now or this deadline, whichever is sooner (no
   * argument: the same instant). It aborts when this one does, with this one's reason; one due at the same
   * instant sets no timer of its own, so it can never fire before its parent.
   */
  child(timeoutMs?: number, operation?: string): Deadline {
    const atMs =
      timeoutMs === undefined ? this.atMs : Math.min(this.atMs, this.clock.nowMs() + Math.max(0, timeoutMs));
    return new Deadline(atMs, this.clock, this.timers, operation ?? this.operation, this.signal, this.atMs);
  }

  /** Releases the timer and the parent listener once the work is done. Safe to call twice. */
  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.detachParent?.();
    this.detachParent = undefined;
  }

  private abort(reason: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.reason = reason;
    this.dispose();
    this.controller?.abort(reason);
    const racers = this.racers;
    this.racers = undefined;
    if (racers !== undefined) for (const reject of racers) reject(reason);
  }

  private timeoutError(): StreamBusError {
    return new StreamBusError('REQUEST_TIMED_OUT', {
      ...(this.operation === undefined ? {} : { operation: this.operation }),
      message: `${this.operation ?? 'operation'} ran out of time`,
      timestampMs: this.clock.nowMs(),
    });
  }
}

export interface WithTimeoutOptions {
  /** Names the operation in the REQUEST_TIMED_OUT error, the log line and `streambus_timeouts_total`. */
  readonly operation: string;
  /** An enclosing deadline (its remaining time caps this one) or a signal that cancels the work. */
  readonly parent?: Deadline | AbortSignal;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Called once when this operation runs out of time: log and count it (observability's timeoutObserver). */
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
}

/**
 * Runs `fn` with a deadline of `timeoutMs` (never past the parent's) and rejects with REQUEST_TIMED_OUT at
 * the deadline even if `fn` ignores its signal, so a hung dependency cannot hang the caller.
 */
export async function withTimeout<T>(
  timeoutMs: number,
  fn: (deadline: Deadline) => Promise<T>,
  options: WithTimeoutOptions,
): Promise<T> {
  const deadline =
    options.parent instanceof Deadline
      ? options.parent.child(timeoutMs, options.operation)
      : Deadline.fromTimeout(timeoutMs, {
          operation: options.operation,
          ...(options.clock === undefined ? {} : { clock: options.clock }),
          ...(options.timers === undefined ? {} : { timers: options.timers }),
          ...(options.parent === undefined ? {} : { parent: options.parent }),
        });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      const reason: unknown = deadline.signal.reason;
      if (reason instanceof StreamBusError && reason.code === 'REQUEST_TIMED_OUT') {
        options.onTimeout?.(options.operation, timeoutMs);
      }
      reject(reason);
    };
    if (deadline.signal.aborted) onAbort();
    else deadline.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // the race below observes it; this stops an unhandled rejection after success
  try {
    return await Promise.race([fn(deadline), aborted]);
  } finally {
    if (onAbort !== undefined) deadline.signal.removeEventListener('abort', onAbort);
    deadline.dispose();
  }
}
