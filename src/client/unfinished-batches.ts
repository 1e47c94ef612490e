import { sameIdentity } from './idempotence.js';
import type { Batch } from './producer-batch.js';
import { partitionKeyOf } from './send-order.js';

/**
 * The producer's batches that are neither acknowledged nor failed for good (open, ready, in flight or
 * waiting for a retry), also kept by partition: whether an older batch of a partition is pending is asked
 * for every batch sent, and must not cost a scan of every partition's batches.
 */
export class UnfinishedBatches implements Iterable<Batch> {
  private readonly all = new Set<Batch>();
  private readonly byPartition = new Map<string, Set<Batch>>();

  get size(): number {
    return this.all.size;
  }

  add(batch: Batch): void {
    this.all.add(batch);
    const key = partitionKeyOf(batch);
    let same = this.byPartition.get(key);
    if (same === undefined) {
      same = new Set();
      this.byPartition.set(key, same);
    }
    same.add(batch);
  }

  delete(batch: Batch): void {
    this.all.delete(batch);
    const key = partitionKeyOf(batch);
    const same = this.byPartition.get(key);
    same?.delete(batch);
    if (same?.size === 0) this.byPartition.delete(key);
  }

  [Symbol.iterator](): Iterator<Batch> {
    return this.all[Symbol.iterator]();
  }

  /** Whether an unfinished batch of the same partition and identity took its sequence before `batch`. */
  olderPending(batch: Batch): boolean {
    if (batch.producerId < 0) return false;
    for (const b of this.byPartition.get(partitionKeyOf(batch)) ?? []) {
      if (b !== batch && b.seq >= 0 && b.seq < batch.seq && sameIdentity(b, batch)) return true;
    }
    return false;
  }
}
