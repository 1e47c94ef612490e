import { describe, expect, it } from 'vitest';
import { backoffMs, retrying } from '../../src/client/backoff.js';
import { Cluster } from '../../src/client/cluster.js';
import { isRetriable, StreamBusError } from '../../src/errors/index.js';
import { FakeBroker, ManualTimers } from './fake-broker.js';

describe('backoffMs (exponential, full jitter)', () => {
  const policy = { baseMs: 100, maxMs: 1000 };
  it('is uniform below base * 2^attempt, capped at maxMs', () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffMs(a, policy, () => 0.5))).toEqual([50, 100, 200, 400, 500]);
    expect(backoffMs(50, policy, () => 0.999999)).toBe(999);
    expect(backoffMs(3, policy, () => 0)).toBe(0);
  });
});

describe('retrying', () => {
  const timers = new ManualTimers();
  const base = { retries: 2, policy: { baseMs: 0, maxMs: 0 }, random: () => 0, isRetriable };
  it('retries retriable errors up to the bound, then gives up with the last error', async () => {
    let calls = 0;
    const run = retrying(
      async () => {
        calls++;
        throw new StreamBusError('NOT_LEADER');
      },
      { ...base, timers: { setTimeout: (fn) => setTimeout(fn, 0), clearTimeout: () => undefined } },
    );
    await expect(run).rejects.toMatchObject({ code: 'NOT_LEADER' });
    expect(calls).toBe(3);
  });
  it('does not retry an invalid_input error', async () => {
    let calls = 0;
    const run = retrying(
      async () => {
        calls++;
        throw new StreamBusError('CORRUPT_BATCH');
      },
      { ...base, timers },
    );
    await expect(run).rejects.toMatchObject({ code: 'CORRUPT_BATCH' });
    expect(calls).toBe(1);
  });
});

describe('Cluster connection backoff', () => {
  it('waits a jittered, growing delay before reconnecting to a broker that refused', async () => {
    const dead = await FakeBroker.start();
    const address = dead.bootstrap;
    await dead.stop();
    let now = 1_000;
    const timers = new ManualTimers();
    const cluster = new Cluster({
      bootstrap: [address],
      clock: { nowMs: () => now },
      timers,
      random: () => 0.5,
      reconnectBackoffMs: 100,
      reconnectBackoffMaxMs: 10_000,
    });
    await expect(cluster.connectionAt(address)).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    // Second attempt must first wait 0.5 * 100 ms.
    const second = cluster.connectionAt(address);
    await new Promise((r) => setTimeout(r, 5));
    expect([...timers.pending.values()].map((t) => t.ms)).toContain(50);
    now += 50;
    timers.fireAll();
    await expect(second).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    const third = cluster.connectionAt(address);
    await new Promise((r) => setTimeout(r, 5));
    expect([...timers.pending.values()].map((t) => t.ms)).toContain(100);
    timers.fireAll();
    await expect(third).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    await cluster.close();
  });
});
