/**
 * The producer's open batches, one per topic, partition and acks. Records join their partition's open batch
 * until it is full (`batchBytes`) or has waited `lingerMs`; then it is sealed and handed on. Kept apart from
 * the producer, so the rule for when a batch closes reads apart from how closed batches are queued and sent.
 */
import type { Acks } from '../protocol/index.js';
import type { ProducerRecord } from '../protocol/record-batch.js';
import { type Batch, openBatch, type SendTracker } from './producer-batch.js';
import type { Clock, Timers } from './timers.js';
import type { UnfinishedBatches } from './unfinished-batches.js';

export class BatchAccumulator {
  private readonly open = new Map<string, Batch>();

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly lingerMs: number,
    private batchBytes: number,
    /** Every batch opened here joins it (flush() waits for them). */
    private readonly unfinished: UnfinishedBatches,
    /** Takes each sealed batch, closed to further records and without its linger timer. */
    private readonly onSealed: (batch: Batch) => void,
  ) {}

  append(
    topic: string,
    partition: number,
    acks: Acks,
    record: ProducerRecord,
    size: number,
    tracker: SendTracker,
    resultIndex: number,
  ): void {
    const key = `${acks}\u0000${partition}\u0000${topic}`;
    let batch = this.open.get(key);
    if (batch && batch.sizeBytes + size > this.batchBytes) {
      this.seal(batch);
      batch = undefined;
    }
    if (!batch) {
      batch = openBatch(topic, partition, acks, this.clock.nowMs());
      this.open.set(key, batch);
      this.unfinished.add(batch);
      const b = batch;
      const sealLater = (): void => {
        b.timer = null;
        this.seal(b);
      };
      // lingerMs 0 still gathers what this turn of the event loop sends, without a timer's 1 ms floor.
      if (this.lingerMs <= 0) setImmediate(sealLater);
      else b.timer = this.timers.setTimeout(sealLater, this.lingerMs);
    }
    batch.records.push(record);
    batch.trackers.push(tracker);
    batch.resultIndexes.push(resultIndex);
    batch.sizeBytes += size;
    if (batch.sizeBytes >= this.batchBytes) this.seal(batch);
  }

  /** Closes a batch to further records and hands it on; a batch sealed before is left alone. */
  seal(batch: Batch): void {
    const key = `${batch.acks}\u0000${batch.partition}\u0000${batch.topic}`;
    if (this.open.get(key) !== batch) return;
    this.open.delete(key);
    if (batch.timer !== null) this.timers.clearTimeout(batch.timer);
    batch.timer = null;
    this.onSealed(batch);
  }

  /**
   * Makes later batches at most `bytes` (estimated): a leader refused a batch as larger than its limit,
   * and every batch as large would be refused and split again. Never raised back: the limit is the
   * brokers' (limits.batch_bytes_max), the same on every broker as a rule.
   */
  lowerBatchBytes(bytes: number): void {
    this.batchBytes = Math.min(this.batchBytes, bytes);
  }

  sealAll(): void {
    for (const batch of [...this.open.values()]) this.seal(batch);
  }
}
