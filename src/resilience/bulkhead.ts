import { StreamBusError } from '../errors/index.js';
import { abortError } from './clock.js';

export interface BulkheadOptions {
  /** In errors and stats: `fetch.disk-read`, `segment.recovery`. */
  readonly name: string;
  readonly concurrencyMax: number;
  /** Callers allowed to wait for a slot; more are rejected with BULKHEAD_FULL at once. */
  readonly queueMax: number;
}

export interface BulkheadStats {
  readonly active: number;
  readonly queued: number;
  readonly rejected: number;
}

interface Waiter {
  readonly start: () => void;
  readonly abort: (err: unknown) => void;
}

/**
 * Bounded concurrency with a bounded wait queue for expensive paths, so one slow dependency cannot take
 * every request (and all memory) with it. FIFO; a waiter whose signal aborts leaves the queue.
 */
export class Bulkhead {
  private active = 0;
  private rejectedCount = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly options: BulkheadOptions) {
    if (options.concurrencyMax < 1 || options.queueMax < 0) {
      throw new StreamBusError('INVALID_CONFIG', {
        message: `bulkhead ${options.name}: concurrencyMax >= 1, queueMax >= 0`,
      });
    }
  }

  async run<T>(fn: (signal?: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted === true) throw abortError(signal, this.options.name);
    if (this.active >= this.options.concurrencyMax) await this.wait(signal);
    else this.active++;
    try {
      return await fn(signal);
    } finally {
      this.release();
    }
  }

  stats(): BulkheadStats {
    return { active: this.active, queued: this.queue.length, rejected: this.rejectedCount };
  }

  private wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.queue.length >= this.options.queueMax) {
      this.rejectedCount++;
      return Promise.reject(
        new StreamBusError('BULKHEAD_FULL', {
          operation: this.options.name,
          message: `${this.options.name}: ${this.active} running and ${this.queue.length} waiting (limits ${this.options.concurrencyMax} and ${this.options.queueMax})`,
          metadata: { bulkhead: this.options.name, active: this.active, queued: this.queue.length },
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortError(signal as AbortSignal, this.options.name));
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        abort: reject,
      };
      this.queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    const next = this.queue.shift();
    // The slot passes straight to the next waiter, so `active` never dips and a newcomer cannot jump the queue.
    if (next !== undefined) next.start();
    else this.active--;
  }
}
