/**
 * Deduplicates idempotent producers' batches in front of a partition's writer (a replica's Raft proposals
 * or a single-node log): a batch is checked against the producer state before it is written, a retry of a
 * batch already written is answered with its original offsets, a retry of one still being written waits
 * for it, and a write that fails is forgotten so its retry is written.
 */
import { StreamBusError } from '../errors/index.js';
import { readBatchHeader } from '../protocol/record-batch.js';
import {
  type IdempotentBatch,
  idempotentBatchOf,
  type ProducerBatch,
  type ProducerStateTable,
} from './producer-state.js';

export interface WrittenBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
}

export class ProducerDeduplicator {
  private table: ProducerStateTable | null = null;
  private readonly inFlight = new Map<string, Promise<WrittenBatch>>();
  /**
   * Producers whose batches a failed earlier one took with it while their writes were still under way: the
   * producer's next batches wait until those writes end, so the table says what the log holds again.
   */
  private readonly settling = new Map<number, Promise<void>>();
  /** Batches forgotten with a failed earlier one whose writes were still under way. */
  private readonly forgotten = new WeakSet<ProducerBatch>();

  /** `rebuild` gives the producer state as of everything written so far (called lazily after a reset). */
  constructor(
    private readonly rebuild: () => ProducerStateTable,
    private readonly where: { readonly topic: string; readonly partition: number },
  ) {}

  /** The writer changed hands (a new leadership): state is rebuilt at the next write. */
  reset(): void {
    this.table = null;
    this.inFlight.clear();
    this.settling.clear();
  }

  /**
   * `confirm` gates a retry's answer: the original may be in the log but not yet as durable as the retry's
   * acks ask (a new leader's uncommitted tail), so the replica waits for it to commit before saying yes.
   * `write` is told whether its outcome is tracked here: a tracked write must not be abandoned while it may
   * still reach the log (its failure makes the producer's retry be written again), so only an untracked one
   * may end with its caller's deadline.
   */
  append<T extends WrittenBatch>(
    batch: Buffer,
    write: (batch: Buffer, tracked: boolean) => Promise<T>,
    confirm: (written: WrittenBatch) => Promise<WrittenBatch> = (w) => Promise.resolve(w),
  ): Promise<WrittenBatch> {
    const idempotent = idempotentBatchOf(readBatchHeader(batch));
    if (idempotent === undefined) return write(batch, false);
    const settling = this.settling.get(idempotent.producerId);
    if (settling !== undefined) return settling.then(() => this.append(batch, write, confirm));
    this.table ??= this.rebuild();
    const table = this.table;
    const key = inFlightKey(idempotent, idempotent.firstSeq);
    const check = table.check(idempotent);
    if (check.kind === 'refuse') {
      return Promise.reject(
        new StreamBusError(check.code, {
          operation: 'produce.dedup',
          message: check.message,
          metadata: { ...this.where, producerId: idempotent.producerId },
        }),
      );
    }
    if (check.kind === 'duplicate') {
      const pending = this.inFlight.get(key);
      if (pending !== undefined) return pending.then(confirm);
      return confirm({
        baseOffset: check.batch.baseOffset,
        lastOffset: check.batch.baseOffset + (idempotent.lastSeq - idempotent.firstSeq),
      });
    }
    const kept = table.record(idempotent, -1);
    const written = write(batch, true).then(
      (result) => {
        kept.baseOffset = result.baseOffset;
        // Forgotten with an earlier batch that failed, yet written: kept again, so that earlier batch's retry
        // is refused as out of order rather than written after this one.
        if (this.table === table && this.forgotten.has(kept)) table.record(idempotent, result.baseOffset);
        return result;
      },
      (err: unknown) => {
        // A tracked write fails only when its batch is not in the log (refused, overwritten, or this writer
        // stopped leading, which resets the state anyway): forget it, so the producer's retry is written.
        // Writers must not fail a tracked write on a timeout (partition-replica.ts proposes it unbounded).
        if (this.table === table) this.forget(table, idempotent);
        throw err;
      },
    );
    this.inFlight.set(key, written);
    const done = (): void => {
      if (this.inFlight.get(key) === written) this.inFlight.delete(key);
    };
    written.then(done, done);
    return written;
  }

  /**
   * Forgets a failed batch and the producer's later unwritten ones (their checks assumed it). The later
   * ones usually fail with it (a refused flush rejects them together, oldest first); until those still
   * under way end, the producer's next batches wait.
   */
  private forget(table: ProducerStateTable, b: IdempotentBatch): void {
    const pending: Promise<WrittenBatch>[] = [];
    for (const later of table.forget(b)) {
      // (The table's later batches are of b's producer and epoch: forget() finds none of another.)
      const write = this.inFlight.get(inFlightKey(b, later.firstSeq));
      if (write === undefined) continue;
      this.forgotten.add(later);
      pending.push(write);
    }
    if (pending.length === 0) return;
    const before = this.settling.get(b.producerId);
    const settled: Promise<void> = Promise.allSettled(
      before === undefined ? pending : [before, ...pending],
    ).then(() => {
      if (this.settling.get(b.producerId) === settled) this.settling.delete(b.producerId);
    });
    this.settling.set(b.producerId, settled);
  }
}

/**
 * A write under way, by producer, epoch and first sequence: since a producer moves to its next epoch after a
 * batch fails for good (its sequences start again at 0), the same id and sequence can be a different batch.
 */
function inFlightKey(producer: IdempotentBatch, firstSeq: number): string {
  return `${producer.producerId}:${producer.producerEpoch}:${firstSeq}`;
}
