import { describe, expect, it } from 'vitest';
import { Bulkhead, flushMicrotasks } from '../../src/resilience/index.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Bulkhead', () => {
  it('runs at most concurrencyMax at once and queues up to queueMax, then rejects with BULKHEAD_FULL', async () => {
    const b = new Bulkhead({ name: 'fetch.disk-read', concurrencyMax: 2, queueMax: 1 });
    const gates = [gate(), gate(), gate()];
    let running = 0;
    let peak = 0;
    const task = (g: { promise: Promise<void> }) => async () => {
      running++;
      peak = Math.max(peak, running);
      await g.promise;
      running--;
    };
    const runs = gates.map((g) => b.run(task(g)));
    await flushMicrotasks();
    expect(b.stats()).toEqual({ active: 2, queued: 1, rejected: 0 });
    await expect(b.run(async () => {})).rejects.toMatchObject({
      code: 'BULKHEAD_FULL',
      category: 'transient',
    });
    expect(b.stats().rejected).toBe(1);
    for (const g of gates) g.open();
    await Promise.all(runs);
    expect(peak).toBe(2);
    expect(b.stats()).toEqual({ active: 0, queued: 0, rejected: 1 });
  });

  it('starts queued work in FIFO order and frees the slot even when work fails', async () => {
    const b = new Bulkhead({ name: 'x', concurrencyMax: 1, queueMax: 10 });
    const order: number[] = [];
    const first = gate();
    const runs = [
      b.run(async () => {
        await first.promise;
        throw new Error('boom');
      }),
      b.run(async () => void order.push(1)),
      b.run(async () => void order.push(2)),
    ];
    first.open();
    await expect(runs[0]).rejects.toThrow('boom');
    await Promise.all(runs.slice(1));
    expect(order).toEqual([1, 2]);
    expect(b.stats().active).toBe(0);
  });

  it('removes an aborted waiter from the queue', async () => {
    const b = new Bulkhead({ name: 'x', concurrencyMax: 1, queueMax: 1 });
    const hold = gate();
    const running = b.run(() => hold.promise);
    const controller = new AbortController();
    let ran = false;
    const waiting = b.run(async () => {
      ran = true;
    }, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'REQUEST_ABORTED' });
    expect(b.stats().queued).toBe(0);
    hold.open();
    await running;
    expect(ran).toBe(false);
    expect(b.stats().active).toBe(0);
  });

  it('rejects invalid limits', () => {
    expect(() => new Bulkhead({ name: 'x', concurrencyMax: 0, queueMax: 0 })).toThrow();
  });
});
