/**
 * Byte-rate quotas per client id (client-quotas.ts), on a fake clock: within the quota nothing is
 * throttled; over it, the throttle is what the excess would take at the quota; client ids and kinds are
 * counted apart; idle ones are forgotten.
 */
import { describe, expect, it } from 'vitest';
import { ClientQuotas, fixedQuotaLimits, HandlerTime } from '../../src/broker/client-quotas.js';

function quotas(producerByteRate: number, consumerByteRate = -1, requestPercentage = -1) {
  let now = 1_000_000;
  const q = new ClientQuotas(fixedQuotaLimits({ producerByteRate, consumerByteRate, requestPercentage }), {
    nowMs: () => now,
  });
  return {
    q,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('client byte-rate quotas', () => {
  it('throttles nothing at or under the quota, measured over the whole sample span', () => {
    const { q, advance } = quotas(1_000);
    // 10 s of 1,000 bytes a second: exactly the quota.
    for (let s = 0; s < 10; s++) {
      expect(q.record('a', 'produce', 1_000)).toBe(0);
      advance(1_000);
    }
  });

  it('judges a first burst against the minimum span, not the milliseconds it took', () => {
    const { q } = quotas(1_000);
    // 10,000 bytes at once is 10 windows' worth: at the quota over the 10-window minimum span.
    expect(q.record('a', 'produce', 10_000)).toBe(0);
    // 10,000 more: 20,000 over 10 s is twice the quota; the excess takes 10 s more at the quota.
    expect(q.record('a', 'produce', 10_000)).toBe(10_000);
  });

  it('caps the throttle at the sampled span (11 windows)', () => {
    const { q } = quotas(1_000);
    expect(q.record('a', 'produce', 1_000_000)).toBe(11_000);
  });

  it('counts client ids and kinds apart; unlimited kinds are not counted', () => {
    const { q } = quotas(1_000, 2_000);
    expect(q.record('a', 'produce', 20_000)).toBeGreaterThan(0);
    expect(q.record('b', 'produce', 10_000)).toBe(0);
    expect(q.record('a', 'fetch', 20_000)).toBe(0);
    expect(q.record('a', 'fetch', 20_000)).toBeGreaterThan(0);
    const unlimited = quotas(-1, 1_000).q;
    expect(unlimited.record('a', 'produce', 1e9)).toBe(0);
    expect(unlimited.trackedClients).toBe(0);
  });

  it('lets a throttled client go again once the excess has aged out of the samples', () => {
    const { q, advance } = quotas(1_000);
    expect(q.record('a', 'produce', 30_000)).toBeGreaterThan(0);
    advance(12_000);
    expect(q.record('a', 'produce', 1_000)).toBe(0);
  });

  it('forgets client ids idle for longer than the samples cover', () => {
    const { q, advance } = quotas(1_000);
    for (let i = 0; i < 100; i++) q.record(`client-${i}`, 'produce', 10);
    expect(q.trackedClients).toBe(100);
    advance(12_000);
    q.record('still-here', 'produce', 10);
    expect(q.trackedClients).toBe(1);
  });

  it('knows whether any quota is set', () => {
    expect(quotas(-1, -1).q.enabled).toBe(false);
    expect(quotas(1, -1).q.enabled).toBe(true);
    expect(quotas(-1, 1).q.enabled).toBe(true);
    expect(quotas(-1, -1, 5).q.enabled).toBe(true);
  });
});

describe('client request-time quotas (request_percentage)', () => {
  it('holds event-loop milliseconds to the percentage of one thread, throttling the excess as byte quotas do', () => {
    // 10% of one thread: 100 ms of event-loop time a second, 1,000 ms over the 10 s minimum span.
    const { q, advance } = quotas(-1, -1, 10);
    expect(q.record('a', 'request', 1_000)).toBe(0);
    // 1,000 ms more: twice the quota over 10 s; the excess takes 10 s more at the quota.
    expect(q.record('a', 'request', 1_000)).toBe(10_000);
    expect(q.record('b', 'request', 1_000)).toBe(0);
    advance(12_000);
    expect(q.record('a', 'request', 1)).toBe(0);
  });

  it('times requests only of client ids a request-time quota holds', () => {
    expect(quotas(-1, -1, 10).q.timeRequest('a')).not.toBeNull();
    expect(quotas(1_000, 1_000, -1).q.timeRequest('a')).toBeNull();
    expect(quotas(-1, -1, -1).q.record('a', 'request', 1e9)).toBe(0);
  });
});

describe('HandlerTime: the event-loop time of one request', () => {
  it('counts the stretches it runs and not the waits between them', () => {
    let nowNs = 0n;
    const t = new HandlerTime(() => nowNs);
    nowNs += 2_000_000n; // decoding and the handler up to its first wait: 2 ms
    t.pause();
    nowNs += 500_000_000n; // parked: a long-poll fetch waiting for data
    t.resume();
    nowNs += 1_500_000n; // encoding the answer: 1.5 ms
    expect(t.stoppedMs()).toBe(3.5);
    nowNs += 1_000_000n;
    expect(t.stoppedMs()).toBe(3.5);
  });
});
