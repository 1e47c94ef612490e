/**
 * The idempotent producer's state: its identity (producer id and epoch, from InitProducerId) and the next
 * sequence number of every partition. A batch takes its partition's sequence once, when it is built; a
 * retry re-sends the same bytes, so the leader can recognise it and answer with the original offset. A
 * batch that fails for good moves the producer to its next epoch (failedForGood).
 */
import { isRetriable, StreamBusError, toStreamBusError } from '../errors/index.js';
import { ApiKey, fromWireError } from '../protocol/index.js';
import { type BackoffPolicy, retrying } from './backoff.js';
import type { Cluster } from './cluster.js';
import type { Random, Timers } from './timers.js';

/**
 * Produce requests in flight at most with idempotence (Kafka's limit). What bounds a partition's unresolved
 * batches is the batch window (IDEMPOTENT_BATCH_WINDOW, send-order.ts), since one request carries several.
 */
export const IDEMPOTENT_IN_FLIGHT_MAX = 5;

/** InitProducerId retries at most (with the producer's backoff: about 15 s), whatever `retries` says. */
export const INIT_PRODUCER_ID_RETRIES_MAX = 30;

/** Sequences are int32 and wrap to 0 after the largest, as Kafka's do (the leader must compare likewise). */
const SEQUENCE_MODULUS = 2 ** 31;

/** Epochs are int16; past the largest the producer takes a new id (at epoch 0), as Kafka's does. */
export const PRODUCER_EPOCH_MAX = 0x7fff;

/** The key of a partition in the client's per-partition maps (send-order.ts's partitionKeyOf too). */
export function partitionKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** The batch header fields of a non-idempotent batch. */
export const NO_IDENTITY = { producerId: -1, producerEpoch: -1, baseSequence: -1 } as const;

export interface InitProducerIdOptions {
  readonly retries: number;
  readonly backoff: BackoffPolicy;
  readonly random: Random;
  readonly timers: Timers;
}

/** Asks any broker for a producer id, retrying retriable failures (no metadata leader yet, a broker down). */
export function initProducerId(cluster: Cluster, options: InitProducerIdOptions): Promise<ProducerIdentity> {
  return retrying(
    async () => {
      const res = await cluster.requestAny(ApiKey.InitProducerId, {});
      if (res.error !== null) throw fromWireError(res.error, 'producer.init_producer_id');
      if (res.producerId < 0 || res.producerEpoch < 0) {
        throw new StreamBusError('UNKNOWN_SERVER_ERROR', {
          operation: 'producer.init_producer_id',
          message: `InitProducerId answered producer id ${res.producerId}, epoch ${res.producerEpoch}`,
        });
      }
      return { producerId: res.producerId, producerEpoch: res.producerEpoch };
    },
    {
      retries: options.retries,
      policy: options.backoff,
      random: options.random,
      timers: options.timers,
      isRetriable: (err) => isRetriable(toStreamBusError(err)),
    },
  );
}

export class IdempotenceState {
  private identity: ProducerIdentity | null = null;
  private pending: Promise<ProducerIdentity> | null = null;
  private readonly sequences = new Map<string, number>();
  /** Batches that took sequences, per partition; never reset (it counts batches, not sequences). */
  private readonly ordinals = new Map<string, number>();
  /**
   * Per partition: the oldest gap under the newest identity that had one there: the ordinal of a batch that
   * failed for good, or the one before a batch the leader refused as from an unknown producer.
   */
  private readonly gaps = new Map<string, ProducerIdentity & { readonly ordinal: number }>();

  constructor(private readonly fetchIdentity: () => Promise<ProducerIdentity>) {}

  /** The identity new batches are built with, or null while there is none (fetch it with ensure()). */
  current(): ProducerIdentity | null {
    return this.identity;
  }

  /** Fetches an identity unless there is one; concurrent callers share one InitProducerId. */
  ensure(): Promise<ProducerIdentity> {
    if (this.identity !== null) return Promise.resolve(this.identity);
    if (this.pending === null) {
      const pending = this.fetchIdentity().then(
        (identity) => {
          if (this.pending === pending) {
            this.identity = identity;
            this.pending = null;
          }
          return identity;
        },
        (err: unknown) => {
          if (this.pending === pending) this.pending = null;
          throw err;
        },
      );
      this.pending = pending;
    }
    return this.pending;
  }

  /**
   * Takes `count` sequence numbers of a partition for a new batch: its base sequence, and its ordinal (the
   * partition's batches numbered in the order they took sequences, under any identity; see nextOrdinal).
   */
  takeSequence(topic: string, partition: number, count: number): { baseSequence: number; ordinal: number } {
    const key = partitionKey(topic, partition);
    const base = this.sequences.get(key) ?? 0;
    this.sequences.set(key, (base + count) % SEQUENCE_MODULUS);
    const ordinal = this.ordinals.get(key) ?? 0;
    this.ordinals.set(key, ordinal + 1);
    return { baseSequence: base, ordinal };
  }

  /** The ordinal the partition's next batch will take. */
  nextOrdinal(topic: string, partition: number): number {
    return this.ordinals.get(partitionKey(topic, partition)) ?? 0;
  }

  /**
   * A sequenced batch failed for good: the leader's idea of its partition's next sequence under the batch's
   * identity is now unknown (the batch may or may not have been appended), so the partition's later batches
   * of that identity are refused as out of order. Remembers the gap (behindGap) and, when the batch has the
   * current identity, moves on to a new one: the next epoch of the same producer id (as Kafka's idempotent
   * producer does since KIP-360; the id is this producer's alone, so no broker needs asking, and a leader
   * takes a newer epoch starting at sequence 0, broker/producer-state.ts), or a new producer id once the
   * epoch is at its int16 maximum. Every partition's sequences start again at 0. Batches already built keep
   * their identity: the producer re-sequences those it knows were not written (producer.ts).
   */
  failedForGood(b: SequencedBatch): void {
    this.moveOn(b, b.ordinal);
  }

  /**
   * The leader does not know the producer (a single-node broker restarted, which keeps producer state in
   * memory only) and refused `b` before writing it, with nothing older of the partition unfinished: all of
   * that is acknowledged or failed, so `b` and the batches behind it can be written under a new identity
   * without a second copy. The gap is just before `b`.
   */
  unknownToLeader(b: SequencedBatch): void {
    this.moveOn(b, b.ordinal - 1);
  }

  /** Batches of `b`'s identity and partition after `gapOrdinal` are behind a gap; moves to a new identity. */
  private moveOn(b: SequencedBatch, gapOrdinal: number): void {
    const key = partitionKey(b.topic, b.partition);
    const known = this.gaps.get(key);
    // The gate (send-order.ts) builds no batch of a newer identity on the partition while one of an older
    // identity is unfinished, so a partition's gap of an older identity is never needed again.
    if (known === undefined || !sameIdentity(known, b) || gapOrdinal < known.ordinal) {
      this.gaps.set(key, { producerId: b.producerId, producerEpoch: b.producerEpoch, ordinal: gapOrdinal });
    }
    if (this.identity === null || !sameIdentity(this.identity, b)) return;
    this.identity =
      this.identity.producerEpoch < PRODUCER_EPOCH_MAX
        ? { producerId: this.identity.producerId, producerEpoch: this.identity.producerEpoch + 1 }
        : null;
    this.sequences.clear();
  }

  /**
   * Whether a batch of its identity and partition, taken before `b`, failed for good: an out-of-order answer
   * to `b` is then that gap's, and `b` can be written only under a newer identity.
   */
  behindGap(b: SequencedBatch): boolean {
    const gap = this.gaps.get(partitionKey(b.topic, b.partition));
    return gap !== undefined && sameIdentity(gap, b) && gap.ordinal < b.ordinal;
  }

  /**
   * A sequenced batch that no send of may have written, behind such a gap: its identity is dead on the
   * partition, and re-sequenced under the current one it cannot become a second copy.
   */
  unwrittenBehindGap(b: SequencedBatch & { readonly maybeWritten: boolean }): boolean {
    return !b.maybeWritten && b.producerId >= 0 && this.behindGap(b);
  }
}

/** A built batch's partition, identity and ordinal. */
export interface SequencedBatch extends ProducerIdentity {
  readonly topic: string;
  readonly partition: number;
  readonly ordinal: number;
}

export function sameIdentity(a: ProducerIdentity, b: ProducerIdentity): boolean {
  return a.producerId === b.producerId && a.producerEpoch === b.producerEpoch;
}
