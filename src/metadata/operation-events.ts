/**
 * The outcome of each metadata store operation (success or the error's code, and how long it took), told
 * to whoever subscribed: observability turns them into metrics and logs (observe.ts) without the store
 * knowing of either.
 */
import { type ErrorCode, toStreamBusError } from '../errors/index.js';
import type { Clock } from '../resilience/index.js';
import type { CommandType } from './commands.js';

export interface MetadataOperationEvent {
  readonly operation: CommandType | 'readLinearizable';
  readonly status: 'success' | 'failure';
  readonly durationMs: number;
  /** The error's catalogue code when status is failure. */
  readonly code?: ErrorCode;
}

export class OperationEvents {
  private readonly listeners = new Set<(event: MetadataOperationEvent) => void>();

  constructor(private readonly clock: Clock) {}

  subscribe(listener: (event: MetadataOperationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `fn` and reports its outcome; its result or error passes through unchanged. */
  async observe<T>(operation: MetadataOperationEvent['operation'], fn: () => Promise<T>): Promise<T> {
    const startMs = this.clock.nowMs();
    try {
      const value = await fn(); // fn may throw synchronously (INVALID_REQUEST): counted as a failure too
      this.emit({ operation, status: 'success', durationMs: this.clock.nowMs() - startMs });
      return value;
    } catch (err) {
      const code = toStreamBusError(err).code;
      this.emit({ operation, status: 'failure', durationMs: this.clock.nowMs() - startMs, code });
      throw err;
    }
  }

  private emit(event: MetadataOperationEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
