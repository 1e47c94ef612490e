import { StreamBusError } from '../errors/index.js';
import type { ProposeResult } from './core/raft.js';
import { type Entry, NONE } from './core/types.js';

interface Waiter {
  readonly term: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * Client proposals waiting for their entry to be applied, by log index. An entry applied at that index
 * with the proposal's term is the proposal; any other term means it was overwritten by a later leader.
 */
export class ProposalTracker {
  private readonly byIndex = new Map<number, Waiter>();

  get size(): number {
    return this.byIndex.size;
  }

  add(index: number, waiter: Waiter): void {
    this.byIndex.set(index, waiter);
  }

  /** Forgets a proposal whose caller gave up (timeout, abort); its entry may still commit. */
  forget(index: number, waiter: Waiter): void {
    if (this.byIndex.get(index) === waiter) this.byIndex.delete(index);
  }

  settle(entry: Entry, outcome: { ok: true; value: unknown } | { ok: false; error: Error }): void {
    const w = this.byIndex.get(entry.index);
    if (w === undefined) return;
    this.byIndex.delete(entry.index);
    if (w.term !== entry.term) w.reject(dropped('overwritten by a later leader', entry.index));
    else if (outcome.ok) w.resolve(outcome.value);
    else w.reject(outcome.error);
  }

  /**
   * Rejects proposals whose entry is no longer in the log (`termAt` differs): a leader of a later term
   * replaced it, and a term is never reused, so it cannot come back.
   */
  dropOverwritten(termAt: (index: number) => number | undefined): void {
    for (const [index, w] of this.byIndex) {
      const t = termAt(index);
      if (t !== undefined && t !== w.term) {
        this.byIndex.delete(index);
        w.reject(dropped('overwritten by a later leader', index));
      }
    }
  }

  /** A snapshot jumped past these indexes: whether they were included is unknown to this node. */
  dropUpTo(index: number): void {
    for (const [i, w] of this.byIndex) {
      if (i <= index) {
        this.byIndex.delete(i);
        w.reject(dropped('superseded by a snapshot; outcome unknown', i));
      }
    }
  }

  rejectAll(err: Error): void {
    const all = [...this.byIndex.values()];
    this.byIndex.clear();
    for (const w of all) w.reject(err);
  }
}

function dropped(reason: string, index: number): StreamBusError {
  return new StreamBusError('PROPOSAL_DROPPED', {
    operation: 'raft.propose',
    message: `proposal at index ${index} dropped: ${reason}`,
    metadata: { index },
  });
}

/** Maps the core's refusal to the catalogue error a caller can act on (retry at the leader, wait, fix). */
export function proposeError(r: ProposeResult, operation: string): StreamBusError {
  if (r.ok) {
    const leaderId = 'leaderId' in r ? r.leaderId : NONE;
    return new StreamBusError('NOT_LEADER', { operation, metadata: { leaderId } });
  }
  const metadata = { leaderId: r.leaderId, ...(r.detail === undefined ? {} : { detail: r.detail }) };
  switch (r.reason) {
    case 'not-leader':
      return new StreamBusError('NOT_LEADER', { operation, metadata });
    case 'transfer-in-progress':
      return new StreamBusError('LEADERSHIP_TRANSFER_IN_PROGRESS', { operation, metadata });
    case 'config-change-pending':
      return new StreamBusError('CONFIG_CHANGE_IN_PROGRESS', { operation, metadata });
    case 'invalid-config-change':
      return new StreamBusError('INVALID_CONFIG_CHANGE', {
        operation,
        metadata,
        ...(r.detail === undefined ? {} : { message: r.detail }),
      });
  }
}

export interface Settle<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/**
 * A promise bounded by a timeout (REQUEST_TIMED_OUT; none when `timeoutMs` is infinite) and an AbortSignal
 * (REQUEST_ABORTED). `start` wires the operation up and returns its cleanup, which runs exactly once however
 * the promise settles.
 */
export function deadlinePromise<T>(
  operation: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (settle: Settle<T>) => (() => void) | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cleanup: (() => void) | undefined;
    const finish = (): void => {
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cleanup?.();
    };
    const settle: Settle<T> = {
      resolve: (v) => {
        if (done) return;
        finish();
        resolve(v);
      },
      reject: (e) => {
        if (done) return;
        finish();
        reject(e);
      },
    };
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(
          () =>
            settle.reject(new StreamBusError('REQUEST_TIMED_OUT', { operation, metadata: { timeoutMs } })),
          timeoutMs,
        )
      : undefined;
    const onAbort = (): void => settle.reject(new StreamBusError('REQUEST_ABORTED', { operation }));
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = start(settle);
    if (done) cleanup?.();
  });
}
