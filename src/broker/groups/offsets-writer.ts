/**
 * A group shard's only way to write its `__consumer_offsets` partition. Writes run one at a time, in the
 * order they were queued, so the log's order is the order the shard applied things in and an offset check
 * (never backwards) sees every earlier commit. Partition errors come back as the coordinator errors a
 * member can act on (find the coordinator again, or retry).
 */
import { StreamBusError, toStreamBusError } from '../../errors/index.js';
import type { ProducerRecord } from '../../protocol/record-batch.js';
import type { Deadline } from '../../resilience/deadline.js';
import type { ServedPartition } from '../catalog.js';
import { offsetsBatch } from './offsets-records.js';

export interface OffsetsWriterDeps {
  readonly index: number;
  readonly served: ServedPartition;
  readonly nowMs: () => number;
  /** An append (commit, group state, checkpoint) ran out of time. */
  readonly onAppendTimeout?: () => void;
}

export class OffsetsWriter {
  private writes: Promise<unknown> = Promise.resolve();

  /** `isCurrent`: the shard still holds the leadership it was loaded for; a stale shard must not write. */
  constructor(
    private readonly deps: OffsetsWriterDeps,
    private readonly isCurrent: () => boolean,
  ) {}

  /** `deadline`: the request's; its end fails the append with its reason (the router counts it). */
  async append(records: ProducerRecord[], deadline?: Deadline): Promise<void> {
    if (!this.isCurrent()) throw notCoordinator(this.deps.index);
    try {
      await this.deps.served.append(offsetsBatch(records, this.deps.nowMs()), -1, deadline);
    } catch (err) {
      deadline?.throwIfExpired();
      if (err instanceof StreamBusError && err.code === 'REQUEST_TIMED_OUT') this.deps.onAppendTimeout?.();
      throw asCoordinatorError(err, this.deps.index);
    }
  }

  /**
   * Writes run one at a time, in order. With a `deadline`, the caller stops waiting when it passes, and
   * work whose turn comes after that is skipped, so an abandoned request never writes late.
   */
  serialize<T>(work: () => Promise<T>, deadline?: Deadline): Promise<T> {
    const run =
      deadline === undefined
        ? work
        : (): Promise<T> => {
            deadline.throwIfExpired();
            return work();
          };
    const next = this.writes.then(run, run);
    this.writes = next.catch(() => undefined);
    return deadline === undefined ? next : deadline.race(next);
  }
}

/** Partition errors a member can act on: the partition moved (find the coordinator) or is busy (retry). */
const LEADERSHIP_LOST: ReadonlySet<string> = new Set([
  'NOT_LEADER',
  'LEADER_NOT_AVAILABLE',
  'LEADERSHIP_TRANSFER_IN_PROGRESS',
  'RAFT_STOPPED',
  'LOG_CLOSED',
]);

function asCoordinatorError(err: unknown, index: number): StreamBusError {
  const e = toStreamBusError(err, 'groups.write');
  if (LEADERSHIP_LOST.has(e.code)) return notCoordinator(index);
  if (e.category === 'retriable' || e.category === 'transient') {
    return new StreamBusError('COORDINATOR_NOT_AVAILABLE', {
      operation: 'groups.write',
      message: `__consumer_offsets-${index} could not take the write: ${e.message}`,
      cause: e,
    });
  }
  return e;
}

export function notCoordinator(index: number): StreamBusError {
  return new StreamBusError('NOT_COORDINATOR', {
    operation: 'groups.shard',
    message: `this broker no longer leads __consumer_offsets-${index}`,
  });
}
