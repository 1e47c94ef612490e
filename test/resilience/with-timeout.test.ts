import { describe, expect, it } from 'vitest';
import { MetricsRegistry, timeoutObserver } from '../../src/observability/index.js';
import { Deadline, ManualClock, withTimeout } from '../../src/resilience/index.js';

describe('withTimeout', () => {
  it('returns the result when the work finishes in time and leaves no timer behind', async () => {
    const clock = new ManualClock();
    const value = await withTimeout(100, async (d) => d.remainingMs(), {
      operation: 'x',
      clock,
      timers: clock,
    });
    expect(value).toBe(100);
    expect(clock.pendingCount).toBe(0);
  });

  it('rejects with REQUEST_TIMED_OUT at the deadline even if the work ignores its signal, and reports it', async () => {
    const clock = new ManualClock();
    const timeouts: string[] = [];
    const result = withTimeout(100, () => new Promise<never>(() => {}), {
      operation: 'metadata.propose',
      clock,
      timers: clock,
      onTimeout: (op, ms) => timeouts.push(`${op}/${ms}`),
    }).catch((e: unknown) => e);
    await clock.advanceAsync(100);
    expect(await result).toMatchObject({ code: 'REQUEST_TIMED_OUT', operation: 'metadata.propose' });
    expect(timeouts).toEqual(['metadata.propose/100']);
  });

  it('never grants more time than the enclosing deadline', async () => {
    const clock = new ManualClock();
    const request = Deadline.fromTimeout(50, { clock, timers: clock, operation: 'produce' });
    const seen = await withTimeout(5000, async (d) => d.remainingMs(), {
      operation: 'replicate',
      parent: request,
    });
    expect(seen).toBe(50);
  });

  it('passes the work error through unchanged and does not report a timeout', async () => {
    const clock = new ManualClock();
    let reported = false;
    await expect(
      withTimeout(
        100,
        async () => {
          throw new Error('boom');
        },
        { operation: 'x', clock, timers: clock, onTimeout: () => (reported = true) },
      ),
    ).rejects.toThrow('boom');
    expect(reported).toBe(false);
  });

  it('timeoutObserver counts streambus_timeouts_total by operation', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    const observe = timeoutObserver(metrics, undefined, new ManualClock());
    observe('metadata.propose', 5000);
    observe('metadata.propose', 5000);
    expect(await metrics.text()).toContain('streambus_timeouts_total{operation="metadata.propose"} 2');
  });
});
