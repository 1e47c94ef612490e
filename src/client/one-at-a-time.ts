import { Fifo } from './fifo.js';

/**
 * Runs async tasks one at a time, in the order they were handed in: a task starts once the one before it
 * has settled. Uncontended (the usual case) a task starts at once and costs no waiter.
 */
export class OneAtATime {
  private busy = false;
  private readonly waiters = new Fifo<() => void>();

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.busy = true;
    try {
      return await task();
    } finally {
      // Hand over to the next waiting task (still busy), or free the turn.
      const next = this.waiters.shift();
      if (next === undefined) this.busy = false;
      else next();
    }
  }
}
