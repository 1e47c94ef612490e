import { describe, expect, it } from 'vitest';
import { ProbeBreakers } from '../../src/broker/probe-breakers.js';
import type { BrokerRecord } from '../../src/metadata/types.js';
import type { CircuitBreaker } from '../../src/resilience/index.js';
import { ManualClock } from '../../src/resilience/manual-clock.js';

const broker = (id: number) => ({ id, clientAddress: { host: '127.0.0.1', port: 1 } }) as BrokerRecord;

function rig() {
  const clock = new ManualClock(5_000);
  const answering = new Map<number, boolean>();
  const pings: number[] = [];
  const breakers: CircuitBreaker[] = [];
  const dropped: string[] = [];
  const probes = new ProbeBreakers({
    breaker: {
      failureThreshold: 3,
      successThreshold: 2,
      maxRequestsHalfOpen: 3,
      openTimeoutMs: 3_000,
      clock,
    },
    ping: async (b) => {
      pings.push(b.id);
      return answering.get(b.id) ?? true;
    },
    onBreaker: (b) => {
      breakers.push(b);
      return () => dropped.push(b.name);
    },
  });
  const probe = (id: number, signal = new AbortController().signal) => probes.probe(broker(id), 500, signal);
  return { clock, answering, pings, breakers, dropped, probes, probe };
}

describe('health probes through a breaker per probed broker', () => {
  it('stops pinging a broker after failed probes in a row, reports it missed, and pings again after the open timeout', async () => {
    const { clock, answering, pings, breakers, probe } = rig();
    answering.set(2, false);
    for (let i = 0; i < 3; i++) expect(await probe(2)).toBe(false);
    expect(breakers.map((b) => [b.name, b.state()])).toEqual([['probe-broker-2', 'open']]);
    expect(pings).toEqual([2, 2, 2]);
    // Open: a missed probe, without a ping. Another broker's probes are unaffected.
    expect(await probe(2)).toBe(false);
    expect(await probe(3)).toBe(true);
    expect(pings).toEqual([2, 2, 2, 3]);
    // The broker recovers; after the open timeout the next probes are trials, and two successes close it.
    answering.set(2, true);
    clock.advance(3_000);
    expect(await probe(2)).toBe(true);
    expect(breakers[0]?.state()).toBe('half-open');
    expect(await probe(2)).toBe(true);
    expect(breakers[0]?.state()).toBe('closed');
  });

  it('does not count a probe aborted because leadership was lost', async () => {
    const { answering, breakers, probe } = rig();
    answering.set(2, false);
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController();
      controller.abort();
      expect(await probe(2, controller.signal)).toBe(false);
    }
    expect(breakers[0]?.stats().failures).toBe(0);
    expect(breakers[0]?.state()).toBe('closed');
  });

  it('drops the breakers of brokers no longer registered, with what their creation set up; a returning broker gets a fresh one', async () => {
    const { answering, breakers, dropped, probes, probe } = rig();
    answering.set(4, false);
    for (let i = 0; i < 3; i++) await probe(4);
    await probe(2);
    expect(breakers.map((b) => [b.name, b.state()])).toEqual([
      ['probe-broker-4', 'open'],
      ['probe-broker-2', 'closed'],
    ]);
    probes.keepOnly(new Set([1, 2, 3]));
    expect(dropped).toEqual(['probe-broker-4']);
    probes.keepOnly(new Set([1, 2, 3]));
    expect(dropped).toEqual(['probe-broker-4']);
    // Registered again: probed through a new, closed breaker, not the open one of its earlier life.
    answering.set(4, true);
    expect(await probe(4)).toBe(true);
    expect(breakers.map((b) => b.name)).toEqual(['probe-broker-4', 'probe-broker-2', 'probe-broker-4']);
  });
});
