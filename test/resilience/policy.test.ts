import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { StreamBusError } from '../../src/errors/index.js';
import {
  breakerOptionsFromConfig,
  CircuitBreaker,
  callWithPolicy,
  Deadline,
  ManualClock,
  retryOptionsFromConfig,
  sleep,
} from '../../src/resilience/index.js';

function setup() {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({
    name: 'metadata.propose',
    failureThreshold: 3,
    openTimeoutMs: 10_000,
    clock,
  });
  const timeouts: string[] = [];
  const policy = {
    operation: 'metadata.propose',
    breaker,
    attemptTimeoutMs: 100,
    clock,
    timers: clock,
    onTimeout: (op: string) => timeouts.push(op),
    retry: {
      retriesMax: 5,
      baseDelayMs: 10,
      maxDelayMs: 40,
      random: () => 0.5,
      sleep: (ms: number, signal?: AbortSignal) => sleep(ms, signal, clock),
    },
  };
  return { clock, breaker, policy, timeouts };
}

describe('callWithPolicy', () => {
  it('retries a retriable failure through the breaker and returns the eventual result', async () => {
    const { clock, breaker, policy } = setup();
    let calls = 0;
    const result = callWithPolicy(policy, async () => {
      calls++;
      if (calls < 3) throw new StreamBusError('NOT_LEADER');
      return 'applied';
    });
    await clock.advanceAsync(1000);
    expect(await result).toBe('applied');
    expect(breaker.stats()).toMatchObject({ failures: 2, successes: 1, state: 'closed' });
  });

  it('times out hung attempts, counts them as breaker failures, and fails fast once the breaker opens', async () => {
    const { clock, breaker, policy, timeouts } = setup();
    let calls = 0;
    const result = callWithPolicy(policy, () => {
      calls++;
      return new Promise<never>(() => {});
    }).catch((e: unknown) => e);
    await clock.advanceAsync(5000);
    expect(await result).toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(calls).toBe(3);
    expect(timeouts).toEqual(['metadata.propose', 'metadata.propose', 'metadata.propose']);
    expect(breaker.state()).toBe('open');
    let called = false;
    await expect(
      callWithPolicy(policy, async () => {
        called = true;
      }),
    ).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(called).toBe(false);
  });

  it('never runs past the caller deadline, retries included', async () => {
    const { clock, policy } = setup();
    const deadline = Deadline.fromTimeout(150, { clock, timers: clock, operation: 'produce' });
    let calls = 0;
    const result = callWithPolicy(
      { ...policy, breaker: undefined, retry: { ...policy.retry, retriesMax: 1000 } },
      async () => {
        calls++;
        throw new StreamBusError('LEADER_NOT_AVAILABLE');
      },
      deadline,
    ).catch((e: unknown) => e);
    await clock.advanceAsync(10_000);
    expect(await result).toMatchObject({ code: 'REQUEST_TIMED_OUT', operation: 'produce' });
    expect(clock.nowMs()).toBe(10_000);
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(20);
  });

  it('builds breaker and retry options from config', () => {
    const config = loadConfig({ env: {} });
    expect(breakerOptionsFromConfig(config, 'x')).toEqual({
      name: 'x',
      failureThreshold: 5,
      successThreshold: 2,
      openTimeoutMs: 30_000,
      maxRequestsHalfOpen: 3,
    });
    expect(retryOptionsFromConfig(config)).toEqual({ retriesMax: 10, baseDelayMs: 50, maxDelayMs: 2000 });
  });
});
