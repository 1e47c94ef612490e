/**
 * The circuit breaker's decisions as a pure transition table: state and counters in, state and counters
 * out, no clock reads and no I/O (the caller passes `nowMs`). circuit-breaker.ts drives it; tests walk it
 * row by row.
 *
 * | from      | input   | when                                      | to        | admit |
 * |-----------|---------|-------------------------------------------|-----------|-------|
 * | closed    | request |                                           | closed    | yes   |
 * | closed    | success |                                           | closed    |       | failures reset
 * | closed    | failure | failures + 1 <  failureThreshold          | closed    |       | failures + 1
 * | closed    | failure | failures + 1 >= failureThreshold          | open      |       | opened now
 * | open      | request | now - openedAt <  openTimeout             | open      | no    |
 * | open      | request | now - openedAt >= openTimeout             | half-open | yes   | 1 trial in flight
 * | half-open | request | trials in flight <  maxRequestsHalfOpen   | half-open | yes   | trials + 1
 * | half-open | request | trials in flight >= maxRequestsHalfOpen   | half-open | no    |
 * | half-open | success | successes + 1 <  successThreshold         | half-open |       | successes + 1
 * | half-open | success | successes + 1 >= successThreshold         | closed    |       | counters reset
 * | half-open | failure |                                           | open      |       | opened now
 * | any       | ignored |                                           | same      |       | half-open frees a trial
 * | open      | recovered |                                         | half-open |       | trials start now
 * | other     | recovered |                                         | same      |       |
 *
 * `recovered` is the dependency's own word that it is back (the metadata group has a leader again): an
 * open breaker starts its trials at once instead of waiting out the open timeout.
 *
 * Outcomes of calls admitted before the last transition (an older `epoch`) change nothing: a slow call
 * that started while closed cannot re-open a breaker that has since recovered, or close an open one.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly openTimeoutMs: number;
  readonly maxRequestsHalfOpen: number;
}

export interface BreakerSnapshot {
  readonly state: BreakerState;
  /** Consecutive counted failures while closed. */
  readonly failures: number;
  /** Successes since entering half-open. */
  readonly halfOpenSuccesses: number;
  /** Trial calls admitted in half-open and not yet finished. */
  readonly halfOpenInFlight: number;
  readonly openedAtMs: number;
  /** Bumped on every state change; admitted calls remember it. */
  readonly epoch: number;
}

export type BreakerInput =
  | { readonly type: 'request'; readonly nowMs: number }
  | { readonly type: 'success'; readonly epoch: number }
  | { readonly type: 'failure'; readonly epoch: number; readonly nowMs: number }
  | { readonly type: 'ignored'; readonly epoch: number }
  | { readonly type: 'recovered' };

export interface BreakerStep {
  readonly next: BreakerSnapshot;
  /** For `request`: whether the call may proceed. */
  readonly admit: boolean;
}

export const INITIAL_SNAPSHOT: BreakerSnapshot = {
  state: 'closed',
  failures: 0,
  halfOpenSuccesses: 0,
  halfOpenInFlight: 0,
  openedAtMs: 0,
  epoch: 0,
};

export function step(s: BreakerSnapshot, input: BreakerInput, o: BreakerOptions): BreakerStep {
  if (input.type === 'recovered') return same(s.state === 'open' ? enter(s, 'half-open', s.openedAtMs) : s);
  if (input.type !== 'request' && input.epoch !== s.epoch) return { next: s, admit: false };
  switch (s.state) {
    case 'closed':
      switch (input.type) {
        case 'request':
          return { next: s, admit: true };
        case 'success':
          return same(s.failures === 0 ? s : { ...s, failures: 0 });
        case 'failure':
          return s.failures + 1 < o.failureThreshold
            ? same({ ...s, failures: s.failures + 1 })
            : same(enter(s, 'open', input.nowMs));
        case 'ignored':
          return same(s);
      }
      break;
    case 'open':
      if (input.type === 'request') {
        if (input.nowMs - s.openedAtMs < o.openTimeoutMs) return { next: s, admit: false };
        return { next: { ...enter(s, 'half-open', s.openedAtMs), halfOpenInFlight: 1 }, admit: true };
      }
      // Only calls admitted in this epoch can report, and none are admitted while open.
      return same(s);
    case 'half-open':
      switch (input.type) {
        case 'request':
          return s.halfOpenInFlight < o.maxRequestsHalfOpen
            ? { next: { ...s, halfOpenInFlight: s.halfOpenInFlight + 1 }, admit: true }
            : { next: s, admit: false };
        case 'success':
          return s.halfOpenSuccesses + 1 < o.successThreshold
            ? same({ ...s, halfOpenSuccesses: s.halfOpenSuccesses + 1, halfOpenInFlight: freed(s) })
            : same(enter(s, 'closed', s.openedAtMs));
        case 'failure':
          return same(enter(s, 'open', input.nowMs));
        case 'ignored':
          return same({ ...s, halfOpenInFlight: freed(s) });
      }
  }
  return same(s);
}

function enter(s: BreakerSnapshot, state: BreakerState, openedAtMs: number): BreakerSnapshot {
  return { state, failures: 0, halfOpenSuccesses: 0, halfOpenInFlight: 0, openedAtMs, epoch: s.epoch + 1 };
}

function freed(s: BreakerSnapshot): number {
  return Math.max(0, s.halfOpenInFlight - 1);
}

function same(next: BreakerSnapshot): BreakerStep {
  return { next, admit: false };
}
