import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deadline, ManualClock } from '../../src/resilience/index.js';

describe('Deadline', () => {
  it('counts down and aborts its signal with REQUEST_TIMED_OUT at the deadline', () => {
    const clock = new ManualClock(1000);
    const d = Deadline.fromTimeout(500, { clock, timers: clock, operation: 'produce' });
    expect(d.remainingMs()).toBe(500);
    clock.advance(499);
    expect(d.signal.aborted).toBe(false);
    expect(d.remainingMs()).toBe(1);
    clock.advance(1);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toMatchObject({
      code: 'REQUEST_TIMED_OUT',
      operation: 'produce',
      category: 'retriable',
    });
    expect(d.remainingMs()).toBe(0);
    expect(d.expired()).toBe(true);
    expect(() => d.throwIfExpired()).toThrow('produce ran out of time');
  });

  it('a child never outlives its parent: remaining time shrinks, never resets', () => {
    const clock = new ManualClock();
    const parent = Deadline.fromTimeout(1000, { clock, timers: clock });
    clock.advance(400);
    const longer = parent.child(5000);
    expect(longer.remainingMs()).toBe(600);
    expect(longer.atMs).toBe(parent.atMs);
    const shorter = parent.child(100);
    expect(shorter.remainingMs()).toBe(100);
    const same = parent.child();
    expect(same.atMs).toBe(parent.atMs);
  });

  it('for any chain of hops, each child ends no later than its parent (seeded)', () => {
    const seed = Date.now() >>> 0;
    console.log(`deadline chain seed ${seed}`);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 100_000 })), {
          maxLength: 20,
        }),
        (rootMs, hops) => {
          const clock = new ManualClock();
          let current = Deadline.fromTimeout(rootMs, { clock, timers: clock });
          for (const [elapsedMs, askMs] of hops) {
            clock.advance(elapsedMs);
            const before = current.remainingMs();
            const next = current.child(askMs);
            expect(next.atMs).toBeLessThanOrEqual(current.atMs);
            expect(next.remainingMs()).toBeLessThanOrEqual(before);
            current = next;
          }
        },
      ),
      { seed },
    );
  });

  it('a child aborts when its parent times out, with the parent reason', () => {
    const clock = new ManualClock();
    const parent = Deadline.fromTimeout(100, { clock, timers: clock, operation: 'fetch' });
    const child = parent.child(1000, 'fetch.read');
    clock.advance(100);
    expect(child.signal.aborted).toBe(true);
    expect(child.signal.reason).toMatchObject({ code: 'REQUEST_TIMED_OUT', operation: 'fetch' });
  });

  it('a child due at its parent instant sets no timer: it can only end with the parent, never before it', () => {
    const clock = new ManualClock();
    const request = Deadline.fromTimeout(300, { clock, timers: clock, operation: 'request.Produce' });
    const hop = request.child(undefined, 'replica.append');
    const attempt = request.child(5_000, 'metadata.attempt'); // asks for more: gets the parent's instant
    expect(clock.pendingCount).toBe(1);
    expect(attempt.remainingMs()).toBe(300);
    clock.advance(120);
    expect(hop.child().remainingMs()).toBe(180); // a hop after time passed carries only what is left
    clock.advance(180);
    for (const d of [hop, attempt]) {
      expect(d.signal.reason).toMatchObject({ code: 'REQUEST_TIMED_OUT', operation: 'request.Produce' });
    }
    expect(clock.pendingCount).toBe(0);
  });

  it('race: the work if it settles first, else the deadline reason at the deadline; a late signal is already aborted', async () => {
    const clock = new ManualClock();
    const d = Deadline.fromTimeout(100, { clock, timers: clock, operation: 'request.Fetch' });
    expect(await d.race(Promise.resolve('quick'))).toBe('quick');
    await expect(d.race(Promise.reject(new Error('failed')))).rejects.toThrow('failed');
    const stuck = d.race(new Promise<never>(() => {}));
    clock.advance(100);
    await expect(stuck).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT', operation: 'request.Fetch' });
    await expect(d.race(Promise.resolve('late'))).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
    // Made only now, after the deadline passed: aborted already, with the same reason.
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toMatchObject({ code: 'REQUEST_TIMED_OUT', operation: 'request.Fetch' });
  });

  it('race after the deadline passed: the deadline reason, and the work failing later is no unhandled rejection', async () => {
    const clock = new ManualClock();
    const d = Deadline.fromTimeout(100, { clock, timers: clock });
    clock.advance(100);
    let failWork: (err: Error) => void = () => {};
    const work = new Promise<never>((_resolve, reject) => {
      failWork = reject;
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(d.race(work)).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
      failWork(new Error('dropped later'));
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('aborts when an external parent signal aborts (the client went away)', () => {
    const clock = new ManualClock();
    const connection = new AbortController();
    const d = Deadline.fromTimeout(1000, { clock, timers: clock, parent: connection.signal });
    connection.abort(new Error('connection closed'));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).message).toBe('connection closed');
    expect(clock.pendingCount).toBe(0);
  });

  it('is already expired when created with no time left', () => {
    const clock = new ManualClock();
    expect(Deadline.fromTimeout(0, { clock, timers: clock }).signal.aborted).toBe(true);
    expect(Deadline.fromTimeout(-5, { clock, timers: clock }).remainingMs()).toBe(0);
  });

  it('dispose releases its timer', () => {
    const clock = new ManualClock();
    const d = Deadline.fromTimeout(1000, { clock, timers: clock });
    expect(clock.pendingCount).toBe(1);
    d.dispose();
    d.dispose();
    expect(clock.pendingCount).toBe(0);
    clock.advance(2000);
    expect(d.signal.aborted).toBe(false);
  });
});
