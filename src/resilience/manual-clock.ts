import type { Clock, TimerHandle, Timers } from './clock.js';

interface Pending {
  readonly id: number;
  readonly dueMs: number;
  readonly fn: () => void;
}

/**
 * A clock and timers that move only when told to: the in-memory version shipped beside the real one so
 * breaker, retry, deadline and health tests are deterministic and never wait.
 */
export class ManualClock implements Clock, Timers {
  private now: number;
  private nextId = 1;
  private pending: Pending[] = [];

  constructor(startMs = 0) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Pending = { id: this.nextId++, dueMs: this.now + Math.max(0, ms), fn };
    this.pending.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    this.pending = this.pending.filter((t) => t.id !== id);
  }

  /** Timers not yet fired. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Moves time forward, firing due timers in order (synchronously). */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      this.now = Math.max(this.now, next.dueMs);
      next.fn();
    }
    this.now = target;
  }

  /**
   * Like `advance`, but lets promise continuations run after each timer, so async code that sets a new
   * timer after an await (retry loops, health schedules) is driven to completion within the window.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.now + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      this.now = Math.max(this.now, next.dueMs);
      next.fn();
      await flushMicrotasks();
    }
    this.now = target;
    await flushMicrotasks();
  }

  private nextDue(targetMs: number): Pending | undefined {
    let best: Pending | undefined;
    for (const t of this.pending) {
      if (
        t.dueMs <= targetMs &&
        (best === undefined || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.id < best.id))
      ) {
        best = t;
      }
    }
    if (best !== undefined) this.pending = this.pending.filter((t) => t !== best);
    return best;
  }
}

/** Lets queued promise reactions run (several turns, for chains of awaits). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
