import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { mulberry32 } from '../../src/raft/core/rand.js';
import { backoffDelayMs, defaultIsRetriable, ManualClock, retry, sleep } from '../../src/resilience/index.js';

const noSleep = async () => {};
const base = { retriesMax: 10, baseDelayMs: 50, maxDelayMs: 2000, sleep: noSleep, random: () => 0.5 };

describe('retry', () => {
  it('retries retriable errors until success and returns the value', async () => {
    let calls = 0;
    const value = await retry(async () => {
      calls++;
      if (calls < 4) throw new StreamBusError('NOT_LEADER');
      return 'done';
    }, base);
    expect(value).toBe('done');
    expect(calls).toBe(4);
  });

  it('makes exactly 1 + retriesMax attempts and rethrows the last error', async () => {
    let calls = 0;
    const err = await retry(
      async (attempt) => {
        calls++;
        throw new StreamBusError('LEADER_NOT_AVAILABLE', { metadata: { attempt } });
      },
      { ...base, retriesMax: 3 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(err).toMatchObject({ code: 'LEADER_NOT_AVAILABLE', metadata: { attempt: 3 } });
  });

  it('never retries invalid_input or fatal errors', async () => {
    for (const code of ['INVALID_REQUEST', 'CORRUPT_LOG'] as const) {
      let calls = 0;
      await expect(
        retry(async () => {
          calls++;
          throw new StreamBusError(code);
        }, base),
      ).rejects.toMatchObject({ code });
      expect(calls).toBe(1);
    }
  });

  it('decides by category: transient retries, system errors are categorised, CIRCUIT_OPEN does not', () => {
    expect(defaultIsRetriable(new StreamBusError('DISK_FULL'))).toBe(true);
    expect(defaultIsRetriable(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(defaultIsRetriable(new Error('plain'))).toBe(false);
    expect(defaultIsRetriable(new StreamBusError('CIRCUIT_OPEN'))).toBe(false);
  });

  it('uses a custom isRetriable when given', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('custom');
        },
        { ...base, retriesMax: 2, isRetriable: () => true },
      ),
    ).rejects.toThrow('custom');
    expect(calls).toBe(3);
  });

  it('backs off with full jitter under an exponentially growing, capped ceiling (seeded)', async () => {
    const seed = Date.now() >>> 0;
    console.log(`retry jitter seed ${seed}`);
    const random = mulberry32(seed);
    const delays: number[] = [];
    await retry(
      async () => {
        throw new StreamBusError('NOT_LEADER');
      },
      { ...base, random, sleep: async (ms) => void delays.push(ms) },
    ).catch(() => {});
    expect(delays).toHaveLength(10);
    delays.forEach((d, i) => {
      const ceiling = Math.min(2000, 50 * 2 ** i);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(ceiling);
    });
  });

  it('backoffDelayMs stays within [0, min(max, base * 2^(n-1))) for any input', () => {
    const seed = Date.now() >>> 0;
    console.log(`backoff property seed ${seed}`);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retryNumber, baseMs, extraMs, r) => {
          const maxMs = baseMs + extraMs;
          const d = backoffDelayMs(retryNumber, baseMs, maxMs, () => r);
          const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(retryNumber - 1, 52));
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThan(Math.max(1, ceiling));
        },
      ),
      { seed },
    );
    expect(backoffDelayMs(1, 50, 2000, () => 0.999)).toBe(49);
    expect(backoffDelayMs(30, 50, 2000, () => 0.999)).toBe(1998);
  });

  it('reports each retry to onRetry', async () => {
    const seen: number[] = [];
    await retry(
      async (attempt) => {
        if (attempt < 2) throw new StreamBusError('REQUEST_TIMED_OUT');
        return 1;
      },
      { ...base, onRetry: (info) => seen.push(info.retry) },
    );
    expect(seen).toEqual([1, 2]);
  });

  it('stops when aborted during a backoff, with the last error as cause', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    let calls = 0;
    const result = retry(
      async () => {
        calls++;
        throw new StreamBusError('NOT_LEADER');
      },
      {
        ...base,
        random: () => 0.99,
        sleep: (ms, signal) => sleep(ms, signal, clock),
        signal: controller.signal,
      },
    ).catch((e: unknown) => e);
    await clock.advanceAsync(10);
    controller.abort(new StreamBusError('REQUEST_TIMED_OUT'));
    const err = (await result) as StreamBusError;
    expect(err.code).toBe('REQUEST_TIMED_OUT');
    expect((err.cause as StreamBusError).code).toBe('NOT_LEADER');
    expect(calls).toBe(1);
    expect(clock.pendingCount).toBe(0);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
        },
        { ...base, signal: controller.signal },
      ),
    ).rejects.toMatchObject({ code: 'REQUEST_ABORTED' });
    expect(calls).toBe(0);
  });
});
