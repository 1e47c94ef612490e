/**
 * A single-node partition (PartitionLog) with idempotent producers' retries dropped, like a replica's.
 * The log keeps the producer state of the batches it has written across restarts, as Kafka does: snapshot
 * files at each segment roll and at close, loaded on open and brought up to the log end by reading the batch
 * headers after them (storage/log-state.ts). So after a restart a retry of a batch written before it is
 * answered with its original offsets, and the producer's next batch is accepted under the same epoch. The
 * deduplicator's table starts from a copy of the log's and adds the batches being written (as a replica's
 * starts from its committed state).
 */

import { invariant } from '../errors/index.js';
import type { Acks } from '../protocol/messages.js';
import { readBatchHeader } from '../protocol/record-batch.js';
import { ArrivalOrder } from '../storage/arrival-order.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { ReadBufferSource } from '../storage/read-buffers.js';
import type { AppendOutcome, ReadOutcome, ServedPartition } from './catalog.js';
import { ProducerDeduplicator } from './producer-dedup.js';
import { ProducerStateTable } from './producer-state.js';

export class DeduplicatedLog implements ServedPartition {
  private readonly dedup: ProducerDeduplicator;
  private readonly arrivalOrder = new ArrivalOrder();

  constructor(
    private readonly log: PartitionLog,
    where: { readonly topic: string; readonly partition: number },
  ) {
    this.dedup = new ProducerDeduplicator(() => writtenProducers(log), where);
  }

  /** No signal: the only wait is the log's own write (and fsync), which is the write itself, not a wait. */
  async append(batches: Buffer, _acks?: Acks): Promise<AppendOutcome> {
    const { written } = await this.arrivalOrder.run(async () => ({
      written: this.write(await this.log.validate(batches)),
    }));
    return written;
  }

  /**
   * Every batch is validated before any is written (validate()): the batches of an idempotent producer are
   * written one by one, and one refused (too large, a bad CRC) after a later one was written would leave the
   * log and the producer state holding that later batch without the earlier one. Starts every write in
   * this turn (ArrivalOrder).
   */
  private async write(split: Buffer[]): Promise<AppendOutcome> {
    if (!split.some((b) => readBatchHeader(b).producerId >= 0)) {
      const r = await this.log.appendValidated(split);
      return { baseOffset: r.baseOffset, logAppendTimeMs: r.logAppendTimeMs };
    }
    let logAppendTimeMs = -1;
    const written = await Promise.all(
      split.map((batch) =>
        this.dedup.append(batch, async (b: Buffer) => {
          const r = await this.log.appendValidated([b]);
          logAppendTimeMs = r.logAppendTimeMs;
          return r;
        }),
      ),
    );
    return { baseOffset: written[0]!.baseOffset, logAppendTimeMs };
  }

  read(offset: number, maxBytes: number, buffers?: ReadBufferSource): Promise<ReadOutcome> {
    return this.log.read(offset, maxBytes, buffers);
  }

  highWatermark(): number {
    return this.log.highWatermark();
  }

  logStartOffset(): number {
    return this.log.logStartOffset();
  }

  sizeBytes(): number {
    return this.log.sizeBytes();
  }

  offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    return this.log.offsetForTimestamp(timestampMs);
  }

  onHighWatermark(listener: (highWatermark: number) => void): () => void {
    return this.log.onHighWatermark(listener);
  }

  leadership(): number {
    return 0; // the only copy: it leads for as long as it is open
  }
}

/** A copy of the producer state of the batches in the log (empty when the log keeps none). */
function writtenProducers(log: PartitionLog): ProducerStateTable {
  const state = log.producerState();
  if (state === undefined) return new ProducerStateTable();
  invariant(state instanceof ProducerStateTable, 'the log keeps a state other than the producer state');
  return state.clone();
}
