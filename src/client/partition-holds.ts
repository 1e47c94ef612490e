/**
 * Partitions held back while one of their batches waits out a retry backoff, so newer batches of the
 * partition cannot overtake it. One timer wakes the owner when the earliest hold ends.
 */

import { partitionKeyOf } from './send-order.js';
import type { Clock, TimerHandle, Timers } from './timers.js';

export interface Partitioned {
  topic: string;
  partition: number;
}

export class PartitionHolds {
  private readonly until = new Map<string, number>();
  private wake: { atMs: number; timer: TimerHandle } | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    /** Called when a hold may have ended (the producer drains again). */
    private readonly onWake: () => void,
  ) {}

  /** Holds the partition for `ms` from now (a longer existing hold stays). */
  hold(p: Partitioned, ms: number): void {
    const key = partitionKeyOf(p);
    this.until.set(key, Math.max(this.until.get(key) ?? 0, this.clock.nowMs() + ms));
  }

  /** Splits items into those free to send now and those still held; arms the wake-up for the held ones. */
  split<T extends Partitioned>(items: readonly T[]): { free: T[]; held: T[] } {
    const now = this.clock.nowMs();
    const free: T[] = [];
    const held: T[] = [];
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const item of items) {
      const key = partitionKeyOf(item);
      const until = this.until.get(key);
      if (until !== undefined && until > now) {
        held.push(item);
        wakeAt = Math.min(wakeAt, until);
        continue;
      }
      if (until !== undefined) this.until.delete(key);
      free.push(item);
    }
    if (held.length > 0) this.wakeAt(wakeAt, now);
    return { free, held };
  }

  private wakeAt(atMs: number, now: number): void {
    if (this.wake !== null && this.wake.atMs <= atMs) return;
    if (this.wake !== null) this.timers.clearTimeout(this.wake.timer);
    const timer = this.timers.setTimeout(
      () => {
        this.wake = null;
        this.onWake();
      },
      Math.max(1, Math.ceil(atMs - now) + 1),
    );
    this.wake = { atMs, timer };
  }
}
