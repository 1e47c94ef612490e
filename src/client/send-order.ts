/**
 * The producer's rules for which ready batches may go out now without a partition's writes landing out of
 * order. Pure functions over batches; the producer (producer.ts) keeps the queues.
 */
import { IDEMPOTENT_BATCH_WINDOW } from '../protocol/idempotence.js';
import { type ProducerIdentity, partitionKey, sameIdentity } from './idempotence.js';
import type { Batch } from './producer-batch.js';

export function partitionKeyOf(b: { readonly topic: string; readonly partition: number }): string {
  return partitionKey(b.topic, b.partition);
}

/**
 * Keeps a batch sent before alone in its partition's entry of a request; the partition's other batches go
 * `back` in line for the next request. Batches of one partition travel concatenated and get their offsets
 * from the entry's one base offset, counting on the broker writing them contiguously. A batch sent before
 * may be a duplicate the leader already holds, whatever the answer said (an entry that failed may have
 * been written in part): the leader answers the offset it got the first time, and batches written by
 * others since then would make every later offset in the entry wrong. Only a batch never sent cannot be a
 * duplicate, so concatenating only those keeps the arithmetic true.
 */
export function retriesTravelAlone(batches: readonly Batch[]): { kept: Batch[]; back: Batch[] } {
  const first = new Map<string, Batch>();
  const kept: Batch[] = [];
  const back: Batch[] = [];
  for (const b of batches) {
    const key = partitionKeyOf(b);
    const head = first.get(key);
    if (head === undefined) {
      first.set(key, b);
      kept.push(b);
    } else if (head.sends > 0 || b.sends > 0) {
      back.push(b);
    } else {
      kept.push(b);
    }
  }
  return { kept, back };
}

/**
 * Of the `free` batches of an idempotent producer, those that may be built and sent now; the others wait.
 * - The leader remembers a producer's last IDEMPOTENT_BATCH_WINDOW batches per partition. A new batch of a
 *   partition waits until it would be fewer than that many batches after the partition's oldest unfinished
 *   one (sent, or waiting to be retried), counting the acknowledged ones in between: those are in the
 *   leader's memory too, and once that many are written after it, a late retry of the oldest is no longer
 *   recognised and is refused as out of order although it is in the log. (One way into it, replayed in
 *   test/client/idempotent-producer.test.ts: after a leader change, later batches reach the new leader and
 *   are acknowledged while the oldest still waits on the old one; docs/reliability.md has the chaos runs.)
 * - After a batch failed for good new batches take a new identity (the next epoch, or a new producer id).
 *   A partition's batches of an older identity that are still unfinished may yet be appended, so new ones
 *   wait for them: the leader checks sequences per identity, could otherwise append a new-identity batch
 *   before an older one, and then fences the older epoch (Kafka also waits out the in-flight batches before
 *   starting a partition's sequences again).
 * `nextOrdinal` gives the ordinal a partition's next batch will take (IdempotenceState.nextOrdinal).
 */
export function gateSequenced(
  free: readonly Batch[],
  unfinished: Iterable<Batch>,
  current: ProducerIdentity | null,
  needsIdentity: (b: Batch) => boolean,
  nextOrdinal: (topic: string, partition: number) => number,
): { sendable: Batch[]; waiting: Batch[] } {
  /** Per partition: the ordinal of its oldest unfinished batch of the current identity. */
  const oldest = new Map<string, number>();
  const olderIdPending = new Set<string>();
  for (const b of unfinished) {
    if (b.bytes === null || b.producerId < 0) continue;
    const key = partitionKeyOf(b);
    if (current === null || !sameIdentity(b, current)) olderIdPending.add(key);
    else oldest.set(key, Math.min(oldest.get(key) ?? b.ordinal, b.ordinal));
  }
  /** Per partition: the ordinal the next batch let through here will take. */
  const next = new Map<string, number>();
  const sendable: Batch[] = [];
  const waiting: Batch[] = [];
  for (const b of free) {
    if (b.bytes !== null || !needsIdentity(b)) {
      sendable.push(b);
      continue;
    }
    const key = partitionKeyOf(b);
    const ordinal = next.get(key) ?? nextOrdinal(b.topic, b.partition);
    // With none unfinished the first one let through here becomes the oldest: the ones after it count
    // from it (each counting from itself let a whole queue out together, as one request).
    const from = oldest.get(key) ?? ordinal;
    if (ordinal - from >= IDEMPOTENT_BATCH_WINDOW || olderIdPending.has(key)) {
      waiting.push(b);
      continue;
    }
    oldest.set(key, from);
    next.set(key, ordinal + 1);
    sendable.push(b);
  }
  return { sendable, waiting };
}
