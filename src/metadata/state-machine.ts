import { InvariantViolation, StreamBusError } from '../errors/index.js';
import type { Entry } from '../raft/core/types.js';
import { type RaftLogger, silentLogger } from '../raft/logger.js';
import type { StateMachine } from '../raft/node-types.js';
import { abortError } from '../resilience/index.js';
import { decodeCommand, type MetadataCommand } from './commands.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { MetadataState, type MetadataView } from './state.js';
import type { ApplyResult } from './types.js';

export type MetadataChange =
  | {
      readonly kind: 'applied';
      readonly index: number;
      readonly command: MetadataCommand;
      readonly result: ApplyResult;
      readonly version: number;
    }
  | { readonly kind: 'restored'; readonly index: number; readonly version: number };

interface ApplyWaiter {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The metadata image as the Raft StateMachine of the metadata group. It remembers the last applied log
 * index (also in its snapshot), so an entry delivered twice (a replay over a snapshot that already holds
 * it) is not applied twice.
 */
export class MetadataStateMachine implements StateMachine {
  private state = new MetadataState();
  private applied = 0;
  private readonly listeners = new Set<(change: MetadataChange) => void>();
  private waiters: ApplyWaiter[] = [];
  /** The image as of the last apply or restore; views are immutable, so one copy serves every reader. */
  private cachedView: MetadataView | undefined;

  constructor(private readonly log: RaftLogger = silentLogger) {}

  /**
   * Throws InvariantViolation for an entry that does not decode, before touching the state; RaftNode
   * rejects that proposal only, so it is also logged here at error level, on every replica.
   */
  apply(entry: Entry): ApplyResult {
    if (entry.index <= this.applied) return { ok: true, version: this.state.version };
    let decoded: ReturnType<typeof decodeCommand>;
    try {
      decoded = decodeCommand(entry.data);
    } catch (err) {
      if (err instanceof InvariantViolation) {
        this.log.error(
          { index: entry.index, term: entry.term, error: err.message },
          'metadata entry rejected',
        );
      }
      throw err;
    }
    const { command, requestId } = decoded;
    const result = this.state.apply(command, requestId);
    this.cachedView = undefined;
    this.applied = entry.index;
    this.emit({ kind: 'applied', index: entry.index, command, result, version: this.state.version });
    this.wake();
    return result;
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.state, this.applied);
  }

  /** Replaces the whole state (decoded and checked aside first, so a bad snapshot leaves the old one). */
  restore(data: Uint8Array): void {
    const { state, appliedIndex } = decodeSnapshot(data);
    this.state = state;
    this.cachedView = undefined;
    this.applied = appliedIndex;
    this.emit({ kind: 'restored', index: appliedIndex, version: state.version });
    this.wake();
  }

  /** The current image, copied once per change (request handlers and the coordinator read it often). */
  view(): MetadataView {
    this.cachedView ??= this.state.view();
    return this.cachedView;
  }

  get version(): number {
    return this.state.version;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  brokerCount(): number {
    return this.state.brokers.size;
  }

  /** The cluster's finalized feature level in this image (feature-levels.ts). */
  get featureLevel(): number {
    return this.state.featureLevel;
  }

  partitionCount(): number {
    return this.state.partitionCount();
  }

  /** Called synchronously after every apply and restore; returns an unsubscribe function. */
  subscribe(listener: (change: MetadataChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the entry at `index` (or a snapshot past it) has been applied here. */
  waitForApplied(index: number, signal?: AbortSignal): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    if (signal?.aborted === true) return Promise.reject(abortError(signal, 'metadata.wait-applied'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(abortError(signal as AbortSignal, 'metadata.wait-applied'));
      };
      const waiter: ApplyWaiter = {
        index,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Fails everything waiting on this replica (it is being shut down). */
  close(): void {
    const err = new StreamBusError('RAFT_STOPPED', { operation: 'metadata.wait-applied' });
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => w.index <= this.applied);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.index > this.applied);
    for (const w of due) w.resolve();
  }

  private emit(change: MetadataChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
