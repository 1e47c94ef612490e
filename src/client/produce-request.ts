/**
 * One Produce request: a leader's batches sent together, how long the producer waits for the answer, and
 * what the answer means for each batch. The producer decides what to send and when; this is the exchange
 * with the broker, kept apart so the queueing reads without the wire details.
 */
import { StreamBusError, toStreamBusError } from '../errors/index.js';
import { type Acks, ApiKey, fromWireError, type ProduceResponse } from '../protocol/index.js';
import type { Cluster } from './cluster.js';
import { watchLeadership } from './leader-watch.js';
import { type Batch, deliveryExpired } from './producer-batch.js';
import { fitsAlone, limitAfterRefusal, tooLargeForRequests } from './request-groups.js';
import { partitionKeyOf } from './send-order.js';
import type { Clock, TimerHandle, Timers } from './timers.js';
import type { UnfinishedBatches } from './unfinished-batches.js';

/**
 * How long after `ackTimeoutMs` the producer still waits for an answer: the broker's own REQUEST_TIMED_OUT
 * comes at ackTimeoutMs, so this only covers the way back. A leader that answers nothing (paused, cut off)
 * is given up on this soon after, and the retry asks fresh metadata where the partition is led now.
 */
const PRODUCE_ANSWER_MARGIN_MS = 1_000;

/**
 * Answers that say a leader's producer state refused the entry before writing any of it. The leader checks
 * an entry's batches in order and each needs the one before it written, so one refused leaves the later
 * ones refused too (multi-batch entries hold only batches never sent, send-order.ts). Any other error may
 * come after a write (a timeout, a leadership lost while the write was being replicated, which the next
 * leader may still commit), or reach only part of an entry.
 */
export const REFUSED_UNWRITTEN: ReadonlySet<string> = new Set([
  'OUT_OF_ORDER_SEQUENCE',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
]);

/**
 * Answers that say the leader wrote nothing of the entry: its producer state refused it (REFUSED_UNWRITTEN),
 * or it was refused before anything was proposed: no leader taken up there yet (LEADER_NOT_AVAILABLE is
 * only answered before proposing), or a batch over the size limit (every batch of an entry is checked
 * before any is written). A batch answered so keeps `maybeWritten` as its earlier sends left it.
 */
const WROTE_NOTHING: ReadonlySet<string> = new Set([
  ...REFUSED_UNWRITTEN,
  'LEADER_NOT_AVAILABLE',
  'BATCH_TOO_LARGE',
]);

/** Where each batch of a request goes once its answer (or the lack of one) is known: the producer. */
export interface BatchOutcomes {
  /** Acknowledged (err null; offsets -1 when unknown) or failed for good. */
  finish(batch: Batch, err: StreamBusError | null, baseOffset: number, logAppendTimeMs: number): void;
  /** This attempt failed: the batch is retried or fails for good, as the error says. */
  failOrRetry(batch: Batch, err: StreamBusError): void;
  /**
   * The leader refused the batch's entry as holding a batch over its size limit, or its request as over its
   * frame limit, before writing any of it. `shared`: the entry or request held other batches too, so the
   * culprit may be another one (the batch goes again, costing no retry).
   */
  refusedTooLarge(batch: Batch, err: StreamBusError, shared: boolean): void;
}

export class ProduceRequests {
  /**
   * The limit requests are kept under (RequestGroups): the producer's maxRequestBytes, lowered to a
   * broker's limits.frame_bytes_max once one refused a request as over it.
   */
  private requestBytesMax: number;
  private readonly ackTimeoutMs: number;
  private readonly deliveryTimeoutMs: number;

  constructor(
    private readonly cluster: Cluster,
    private readonly timers: Timers,
    private readonly clock: Clock,
    private readonly unfinished: UnfinishedBatches,
    options: {
      readonly ackTimeoutMs: number;
      readonly maxRequestBytes: number;
      readonly deliveryTimeoutMs: number;
    },
    private readonly outcomes: BatchOutcomes,
  ) {
    this.ackTimeoutMs = options.ackTimeoutMs;
    this.requestBytesMax = options.maxRequestBytes;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs;
  }

  get maxRequestBytes(): number {
    return this.requestBytesMax;
  }

  /** Sends batches led by `leaderId` in one request; resolves once each batch is handed to `outcomes`. */
  async send(leaderId: number, acks: Acks, batches: Batch[]): Promise<void> {
    // Batches of the same partition travel concatenated in one entry, in order; the broker appends them
    // contiguously, so each batch's base offset follows from the record counts before it.
    const entries = new Map<string, Batch[]>();
    for (const b of batches) {
      const key = partitionKeyOf(b);
      entries.set(key, [...(entries.get(key) ?? []), b]);
      b.sentBehindOlder = this.unfinished.olderPending(b);
      b.sends++;
    }
    let response: ProduceResponse;
    // No batch waits past its delivery timeout (Kafka's producer expires in-flight batches too): not for a
    // connection's reconnect backoff or connect timeout, nor for an answer the ack timeout allows later.
    const deliveryLeftMs = Math.max(
      1,
      Math.min(...batches.map((b) => b.createdMs + this.deliveryTimeoutMs)) - this.clock.nowMs(),
    );
    const ackTimeoutMs = Math.min(this.ackTimeoutMs, deliveryLeftMs);
    const expiry = this.expiry(leaderId, deliveryLeftMs);
    // Idempotent batches stop waiting for a leader that was replaced without answering (leader-watch.ts).
    const watch =
      acks !== 0 && batches.every((b) => b.producerId >= 0)
        ? watchLeadership(
            this.cluster,
            this.timers,
            leaderId,
            [...entries.values()].map((g) => g[0]!),
          )
        : undefined;
    try {
      const request = this.cluster.request(
        leaderId,
        ApiKey.Produce,
        {
          acks,
          timeoutMs: ackTimeoutMs,
          partitions: [...entries.values()].map((group) => ({
            topic: group[0]!.topic,
            partition: group[0]!.partition,
            records: group.length === 1 ? group[0]!.bytes! : Buffer.concat(group.map((b) => b.bytes!)),
          })),
        },
        { timeoutMs: ackTimeoutMs + PRODUCE_ANSWER_MARGIN_MS },
      );
      // An answer that comes after the wait ended is dropped (the retry, if any, gets its own).
      request.catch(() => undefined);
      response = await Promise.race(
        watch === undefined ? [request, expiry.reached] : [request, expiry.reached, watch.moved],
      );
    } catch (err) {
      const e = toStreamBusError(err, 'producer.send');
      if (e.code === 'FRAME_TOO_LARGE') {
        this.refusedUnread(batches, e);
        return;
      }
      if (err === expiry.error) this.cluster.invalidateMetadata();
      const nowMs = this.clock.nowMs();
      for (const b of batches) {
        // No answer: the leader may have written it.
        b.maybeWritten = true;
        // Out of time while this attempt was out: it fails saying why it was being retried, if it was.
        const expired =
          err === expiry.error
            ? deliveryExpired(b, b.lastError ?? e, nowMs + 1, this.deliveryTimeoutMs)
            : null;
        if (expired !== null) this.outcomes.finish(b, expired, -1, -1);
        else this.outcomes.failOrRetry(b, e);
      }
      return;
    } finally {
      watch?.stop();
      expiry.stop();
    }
    for (const group of entries.values()) {
      const { topic, partition } = group[0]!;
      if (acks === 0) {
        for (const b of group) this.outcomes.finish(b, null, -1, -1);
        continue;
      }
      const result = response.partitions.find((r) => r.topic === topic && r.partition === partition);
      if (!result) {
        const err = new StreamBusError('UNKNOWN_SERVER_ERROR', {
          operation: 'producer.send',
          message: `no result for ${topic}/${partition} in the produce response`,
        });
        for (const b of group) this.outcomes.finish(b, err, -1, -1);
      } else if (result.error !== null) {
        const err = fromWireError(result.error, 'producer.send');
        if (err.code === 'NOT_LEADER' && result.leaderHint > 0)
          this.cluster.noteLeader(topic, partition, result.leaderHint);
        if (err.code === 'BATCH_TOO_LARGE') {
          for (const b of group) this.outcomes.refusedTooLarge(b, err, group.length > 1);
          continue;
        }
        for (const b of group) {
          if (!WROTE_NOTHING.has(err.code)) b.maybeWritten = true;
          this.outcomes.failOrRetry(b, err);
        }
      } else {
        let offset = result.baseOffset;
        for (const b of group) {
          this.outcomes.finish(b, null, offset, result.logAppendTimeMs);
          offset += b.records.length;
        }
      }
    }
  }

  /**
   * Rejects, once the first batch of the request reaches its delivery timeout, with REQUEST_TIMED_OUT (the
   * batch then fails for good: its retry would come later still).
   */
  private expiry(
    leaderId: number,
    afterMs: number,
  ): { reached: Promise<never>; error: StreamBusError; stop(): void } {
    const error = new StreamBusError('REQUEST_TIMED_OUT', {
      operation: 'producer.send',
      message: `no answer from broker ${leaderId} within the delivery timeout`,
      metadata: { brokerId: leaderId, deliveryTimeoutMs: this.deliveryTimeoutMs },
    });
    let timer: TimerHandle | undefined;
    const reached = new Promise<never>((_, reject) => {
      timer = this.timers.setTimeout(() => reject(error), afterMs);
    });
    reached.catch(() => undefined);
    return { reached, error, stop: () => this.timers.clearTimeout(timer!) };
  }

  /**
   * The leader refused the whole request unread, as over its limits.frame_bytes_max, and closes the
   * connection: nothing of it was written, and resending it would only be refused again (on every new
   * connection, until the delivery timeout). Requests are kept under its limit from now on; a batch that
   * fits in one goes again, costing no retry; one that does not is refused as too large on its own (split,
   * or failed with BATCH_TOO_LARGE naming the limit if it holds one record).
   */
  private refusedUnread(batches: Batch[], err: StreamBusError): void {
    this.requestBytesMax = limitAfterRefusal(this.requestBytesMax, batches, err);
    for (const b of batches) {
      if (fitsAlone(b, this.requestBytesMax)) this.outcomes.refusedTooLarge(b, err, true);
      else this.outcomes.refusedTooLarge(b, tooLargeForRequests(b, err, this.requestBytesMax), false);
    }
  }
}
