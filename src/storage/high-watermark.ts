/**
 * Notifies readers when the high watermark moves: the broker's Fetch long-poll subscribes and re-reads.
 * Listeners run synchronously right after the move; a throwing listener is reported, not propagated.
 */
import { StreamBusError } from '../errors/index.js';

export type HighWatermarkListener = (highWatermark: number) => void;

export class HighWatermarkNotifier {
  private readonly listeners = new Set<HighWatermarkListener>();
  private closed = false;

  constructor(
    private readonly current: () => number,
    private readonly onListenerError: (err: unknown) => void,
  ) {}

  subscribe(listener: HighWatermarkListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  notify(highWatermark: number): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(highWatermark);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** Wakes every listener one last time (waiters reject with LOG_CLOSED) and drops them. */
  close(): void {
    this.closed = true;
    this.notify(this.current());
    this.listeners.clear();
  }

  /** See PartitionLog.waitForHighWatermarkAbove. */
  waitAbove(offset: number, signal?: AbortSignal): Promise<number> {
    const closedError = () => new StreamBusError('LOG_CLOSED', { operation: 'log.wait' });
    if (this.current() > offset) return Promise.resolve(this.current());
    if (this.closed) return Promise.reject(closedError());
    return new Promise<number>((resolve, reject) => {
      const onAbort = () => {
        unsubscribe();
        reject(new StreamBusError('REQUEST_ABORTED', { operation: 'log.wait' }));
      };
      const unsubscribe = this.subscribe((hw) => {
        if (hw <= offset && !this.closed) return;
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        if (hw > offset) resolve(hw);
        else reject(closedError());
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
