import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { type BreakerEvent, CircuitBreaker, ManualClock } from '../../src/resilience/index.js';

const fail =
  (code: ConstructorParameters<typeof StreamBusError>[0] = 'NETWORK_ERROR') =>
  async () => {
    throw new StreamBusError(code);
  };
const ok = async () => 'ok';

function breaker(clock = new ManualClock()) {
  const b = new CircuitBreaker({
    name: 'metadata.propose',
    failureThreshold: 5,
    successThreshold: 2,
    openTimeoutMs: 30_000,
    maxRequestsHalfOpen: 3,
    clock,
  });
  const events: BreakerEvent[] = [];
  b.subscribe((e) => events.push(e));
  return {
    b,
    clock,
    events,
    changes: () =>
      events
        .filter((e) => e.type === 'state-change')
        .map((e) => `${(e as { from: string }).from}->${(e as { to: string }).to}`),
  };
}

describe('CircuitBreaker', () => {
  it('opens after failureThreshold consecutive counted failures and then rejects without calling', async () => {
    const { b } = breaker();
    for (let i = 0; i < 4; i++) await expect(b.call(undefined, fail())).rejects.toThrow('network error');
    expect(b.state()).toBe('closed');
    await expect(b.call(undefined, fail())).rejects.toThrow('network error');
    expect(b.state()).toBe('open');
    let called = false;
    const rejection = b.call(undefined, async () => {
      called = true;
    });
    await expect(rejection).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', category: 'transient' });
    expect(called).toBe(false);
    await expect(b.call(undefined, ok)).rejects.toMatchObject({
      metadata: { breaker: 'metadata.propose', retry_after_ms: 30_000 },
    });
  });

  it('a success in between resets the consecutive failure count', async () => {
    const { b } = breaker();
    for (let i = 0; i < 4; i++) await expect(b.call(undefined, fail())).rejects.toThrow();
    await b.call(undefined, ok);
    for (let i = 0; i < 4; i++) await expect(b.call(undefined, fail())).rejects.toThrow();
    expect(b.state()).toBe('closed');
  });

  it('does not count invalid_input errors (the caller is wrong, the dependency is fine)', async () => {
    const { b } = breaker();
    for (let i = 0; i < 20; i++) await expect(b.call(undefined, fail('INVALID_REQUEST'))).rejects.toThrow();
    expect(b.state()).toBe('closed');
    expect(b.stats()).toMatchObject({ ignored: 20, failures: 0 });
  });

  it('counts plain errors and fatal errors', async () => {
    const { b } = breaker();
    for (let i = 0; i < 3; i++) await expect(b.call(undefined, fail('CORRUPT_LOG'))).rejects.toThrow();
    for (let i = 0; i < 2; i++) {
      await expect(
        b.call(undefined, async () => {
          throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        }),
      ).rejects.toThrow('reset');
    }
    expect(b.state()).toBe('open');
  });

  it('lets trials through at once when the dependency says it recovered, instead of waiting out the timeout', async () => {
    const { b, clock, changes } = breaker();
    b.recovered(); // closed: nothing to do
    expect(b.state()).toBe('closed');
    for (let i = 0; i < 5; i++) await expect(b.call(undefined, fail())).rejects.toThrow('network error');
    expect(b.state()).toBe('open');
    clock.advance(1_000);
    await expect(b.call(undefined, ok)).rejects.toThrow('is open');
    b.recovered();
    expect(b.state()).toBe('half-open');
    await expect(b.call(undefined, ok)).resolves.toBe('ok');
    await expect(b.call(undefined, ok)).resolves.toBe('ok');
    expect(b.state()).toBe('closed');
    expect(changes()).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('recovers: open -> half-open after the timeout -> closed after successThreshold successes', async () => {
    const { b, clock, changes } = breaker();
    for (let i = 0; i < 5; i++) await expect(b.call(undefined, fail())).rejects.toThrow();
    clock.advance(29_999);
    await expect(b.call(undefined, ok)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    clock.advance(1);
    await b.call(undefined, ok);
    expect(b.state()).toBe('half-open');
    await b.call(undefined, ok);
    expect(b.state()).toBe('closed');
    expect(changes()).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('re-opens on a failure in half-open and waits a full timeout again', async () => {
    const { b, clock, changes } = breaker();
    for (let i = 0; i < 5; i++) await expect(b.call(undefined, fail())).rejects.toThrow();
    clock.advance(30_000);
    await expect(b.call(undefined, fail())).rejects.toThrow('network error');
    expect(b.state()).toBe('open');
    clock.advance(29_999);
    await expect(b.call(undefined, ok)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(changes()).toEqual(['closed->open', 'open->half-open', 'half-open->open']);
  });

  it('lets at most maxRequestsHalfOpen trials run at once in half-open', async () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 5; i++) await expect(b.call(undefined, fail())).rejects.toThrow();
    clock.advance(30_000);
    const releases: (() => void)[] = [];
    const trial = () => b.call(undefined, () => new Promise<void>((resolve) => releases.push(resolve)));
    const trials = [trial(), trial(), trial()];
    await expect(trial()).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(b.stats().halfOpenInFlight).toBe(3);
    for (const release of releases) release();
    await Promise.all(trials);
    expect(b.state()).toBe('closed');
  });

  it('ignores a late failure from a call admitted before the breaker recovered', async () => {
    const { b, clock } = breaker();
    let failSlow: (err: unknown) => void = () => {};
    const slow = b.call(undefined, () => new Promise<void>((_, reject) => (failSlow = reject)));
    for (let i = 0; i < 5; i++) await expect(b.call(undefined, fail())).rejects.toThrow();
    clock.advance(30_000);
    await b.call(undefined, ok);
    await b.call(undefined, ok);
    expect(b.state()).toBe('closed');
    failSlow(new StreamBusError('NETWORK_ERROR'));
    await expect(slow).rejects.toThrow();
    expect(b.stats().consecutiveFailures).toBe(0);
  });

  it('reports stats and call results to subscribers; unsubscribe stops them', async () => {
    const { b, events } = breaker();
    await b.call(undefined, ok);
    await expect(b.call(undefined, fail())).rejects.toThrow();
    await expect(b.call(undefined, fail('INVALID_REQUEST'))).rejects.toThrow();
    expect(events.map((e) => (e.type === 'call' ? e.result : e.type))).toEqual([
      'success',
      'failure',
      'ignored',
    ]);
    expect(b.stats()).toMatchObject({
      name: 'metadata.propose',
      state: 'closed',
      consecutiveFailures: 1,
      successes: 1,
      failures: 1,
      ignored: 1,
      rejected: 0,
      openedAtMs: null,
    });
    const quiet = new CircuitBreaker({ name: 'x' });
    const seen: BreakerEvent[] = [];
    const off = quiet.subscribe((e) => seen.push(e));
    off();
    await quiet.call(undefined, ok);
    expect(seen).toEqual([]);
  });

  it('does not count a failure once the caller gave up (its deadline or shutdown): that says nothing of the dependency', async () => {
    const { b } = breaker();
    for (let i = 0; i < 20; i++) {
      const caller = new AbortController();
      const call = b.call(caller.signal, async () => {
        caller.abort(new StreamBusError('REQUEST_TIMED_OUT'));
        throw new StreamBusError('REQUEST_TIMED_OUT');
      });
      await expect(call).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
    }
    expect(b.state()).toBe('closed');
    expect(b.stats()).toMatchObject({ ignored: 20, failures: 0 });
    // The same failure while the caller still waits is the dependency's: counted.
    for (let i = 0; i < 5; i++) {
      await expect(b.call(new AbortController().signal, fail('REQUEST_TIMED_OUT'))).rejects.toThrow();
    }
    expect(b.state()).toBe('open');
  });

  it('refuses to call when the signal is already aborted', async () => {
    const { b } = breaker();
    const controller = new AbortController();
    controller.abort();
    await expect(b.call(controller.signal, ok)).rejects.toMatchObject({ code: 'REQUEST_ABORTED' });
    expect(b.stats().successes).toBe(0);
  });

  it('passes the signal to the function', async () => {
    const { b } = breaker();
    const controller = new AbortController();
    expect(await b.call(controller.signal, async (s) => s === controller.signal)).toBe(true);
  });

  it('refuses options under which it could never close', () => {
    expect(() => new CircuitBreaker({ name: 'x', successThreshold: 4, maxRequestsHalfOpen: 3 })).toThrow(
      /never close/,
    );
  });

  it('uses the spec defaults: 5 failures, 30 s open', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker({ name: 'x', clock });
    for (let i = 0; i < 5; i++) await expect(b.call(undefined, fail())).rejects.toThrow();
    expect(b.state()).toBe('open');
    expect(b.retryAfterMs()).toBe(30_000);
  });
});
