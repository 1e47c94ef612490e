import { describe, expect, it } from 'vitest';
import {
  type BreakerOptions,
  type BreakerSnapshot,
  INITIAL_SNAPSHOT,
  breakerStep as step,
} from '../../src/resilience/index.js';

const o: BreakerOptions = {
  failureThreshold: 3,
  successThreshold: 2,
  openTimeoutMs: 1000,
  maxRequestsHalfOpen: 3,
};
const closed = (failures = 0): BreakerSnapshot => ({ ...INITIAL_SNAPSHOT, failures, epoch: 5 });
const open = (openedAtMs = 100): BreakerSnapshot => ({
  ...INITIAL_SNAPSHOT,
  state: 'open',
  openedAtMs,
  epoch: 5,
});
const halfOpen = (inFlight: number, successes = 0): BreakerSnapshot => ({
  ...INITIAL_SNAPSHOT,
  state: 'half-open',
  halfOpenInFlight: inFlight,
  halfOpenSuccesses: successes,
  openedAtMs: 100,
  epoch: 5,
});

describe('breaker transition table, row by row', () => {
  it('closed + request: admitted, stays closed', () => {
    expect(step(closed(2), { type: 'request', nowMs: 0 }, o)).toEqual({ next: closed(2), admit: true });
  });

  it('closed + success: stays closed and resets consecutive failures', () => {
    expect(step(closed(2), { type: 'success', epoch: 5 }, o).next).toEqual(closed(0));
  });

  it('closed + failure below the threshold: stays closed, counts it', () => {
    expect(step(closed(1), { type: 'failure', epoch: 5, nowMs: 50 }, o).next).toEqual(closed(2));
  });

  it('closed + failure reaching the threshold: opens, records when, bumps the epoch', () => {
    expect(step(closed(2), { type: 'failure', epoch: 5, nowMs: 50 }, o).next).toEqual({
      ...INITIAL_SNAPSHOT,
      state: 'open',
      openedAtMs: 50,
      epoch: 6,
    });
  });

  it('open + request before the open timeout: rejected, stays open', () => {
    expect(step(open(100), { type: 'request', nowMs: 1099 }, o)).toEqual({ next: open(100), admit: false });
  });

  it('open + request at the open timeout: half-open, this request is the first trial', () => {
    expect(step(open(100), { type: 'request', nowMs: 1100 }, o)).toEqual({
      next: { ...halfOpen(1), epoch: 6 },
      admit: true,
    });
  });

  it('half-open + request below max trials: admitted, one more trial in flight', () => {
    expect(step(halfOpen(2), { type: 'request', nowMs: 0 }, o)).toEqual({ next: halfOpen(3), admit: true });
  });

  it('half-open + request at max trials: rejected', () => {
    expect(step(halfOpen(3), { type: 'request', nowMs: 0 }, o)).toEqual({ next: halfOpen(3), admit: false });
  });

  it('half-open + success below the success threshold: counts it, frees the trial slot', () => {
    expect(step(halfOpen(2, 0), { type: 'success', epoch: 5 }, o).next).toEqual(halfOpen(1, 1));
  });

  it('half-open + success reaching the success threshold: closes with counters reset', () => {
    expect(step(halfOpen(1, 1), { type: 'success', epoch: 5 }, o).next).toEqual({
      ...closed(0),
      openedAtMs: 100,
      epoch: 6,
    });
  });

  it('half-open + failure: opens again from now', () => {
    expect(step(halfOpen(2, 1), { type: 'failure', epoch: 5, nowMs: 777 }, o).next).toEqual({
      ...open(777),
      epoch: 6,
    });
  });

  it('ignored outcomes change nothing, except freeing a half-open trial slot', () => {
    expect(step(closed(2), { type: 'ignored', epoch: 5 }, o).next).toEqual(closed(2));
    expect(step(open(), { type: 'ignored', epoch: 5 }, o).next).toEqual(open());
    expect(step(halfOpen(2, 1), { type: 'ignored', epoch: 5 }, o).next).toEqual(halfOpen(1, 1));
  });

  it('outcomes from an earlier epoch change nothing', () => {
    expect(step(closed(2), { type: 'failure', epoch: 4, nowMs: 1 }, o).next).toEqual(closed(2));
    expect(step(halfOpen(1, 1), { type: 'success', epoch: 4 }, o).next).toEqual(halfOpen(1, 1));
    expect(step(halfOpen(1, 1), { type: 'failure', epoch: 4, nowMs: 1 }, o).next).toEqual(halfOpen(1, 1));
  });

  it('open ignores success and failure reports (nothing is admitted while open)', () => {
    expect(step(open(), { type: 'success', epoch: 5 }, o).next).toEqual(open());
    expect(step(open(), { type: 'failure', epoch: 5, nowMs: 9 }, o).next).toEqual(open());
  });
});
