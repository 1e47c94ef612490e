/**
 * The producer: batches messages per partition (up to `batchBytes`, waiting at most `lingerMs` for more),
 * sends the ready batches of each leader in one Produce request (at most `maxInFlightRequests` at once), and
 * retries batches that fail with a retriable or transient error, with backoff, until `deliveryTimeoutMs`
 * after send() (Kafka's delivery.timeout.ms: a leader failover is a pause, not a failure), refreshing
 * metadata when the error says it is stale. Keyed messages go to Kafka's murmur2 partition;
 * keyless ones stick to one partition per batch and move round-robin from batch to batch.
 *
 * Idempotence (on by default): before its first batch the producer gets a producer id (InitProducerId) and
 * each batch carries it with its partition's next sequence, taken once when the batch is built. A retry
 * re-sends the same bytes, so a leader that already appended the batch answers with the original offset
 * instead of appending it twice. At most 5 requests are in flight, and at most IDEMPOTENT_BATCH_WINDOW (16)
 * of a partition's batches from its oldest unresolved one on, the window a leader remembers. A batch that
 * fails for good moves the producer to its next epoch, and the batches behind it that cannot have been
 * written are re-sequenced under it instead of failing too (Kafka's KIP-360; docs/replication.md).
 */
import { isRetriable, StreamBusError, toStreamBusError } from '../errors/index.js';
import type { Acks } from '../protocol/index.js';
import type { ProducerRecord } from '../protocol/record-batch.js';
import { type BackoffPolicy, backoffMs } from './backoff.js';
import { BatchAccumulator } from './batch-accumulator.js';
import { BufferSpace } from './buffer-space.js';
import { type Cluster, STALE_METADATA_CODES } from './cluster.js';
import {
  IDEMPOTENT_IN_FLIGHT_MAX,
  IdempotenceState,
  INIT_PRODUCER_ID_RETRIES_MAX,
  initProducerId,
} from './idempotence.js';
import { checkMessageSizes, checkMessages } from './message-check.js';
import { partitionCountWithin } from './metadata-wait.js';
import { OneAtATime } from './one-at-a-time.js';
import { PartitionHolds } from './partition-holds.js';
import { Partitioner } from './partitioner.js';
import { ProduceRequests, REFUSED_UNWRITTEN } from './produce-request.js';
import {
  BATCH_OVERHEAD_BYTES,
  type Batch,
  buildBatch,
  deliveryExpired,
  dropFailedSends,
  recordSizeBytes,
  resequence,
  settleFailed,
  settleRecords,
  splitBatch,
  trackSend,
} from './producer-batch.js';
import {
  type ProducerOptions,
  type ProducerSettings,
  producerSettings,
  type RecordMetadata,
  type SendRequest,
} from './producer-options.js';
import { RequestGroups } from './request-groups.js';
import { gateSequenced, partitionKeyOf, retriesTravelAlone } from './send-order.js';
import { type Clock, clientClock, clientTimers, type Random, type Timers } from './timers.js';
import { UnfinishedBatches } from './unfinished-batches.js';

export class Producer {
  private readonly o: ProducerSettings;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly backoff: BackoffPolicy;
  private readonly unfinished = new UnfinishedBatches();
  private readonly accumulator: BatchAccumulator;
  private readonly requests: ProduceRequests;
  private readonly partitioner: Partitioner;
  private readonly holds: PartitionHolds;
  /** Null when not idempotent. */
  private readonly idempotence: IdempotenceState | null;
  private readonly inFlightRequestsMax: number;
  private ready: Batch[] = [];
  private nextSeq = 0;
  private inFlightRequests = 0;
  private draining = false;
  private readonly buffer: BufferSpace;
  /** One send() at a time appends its records, first come first served (appendInTurn). */
  private readonly appendTurns = new OneAtATime();
  /** Sends still appending their records (waiting for metadata or their turn): flush() waits for them. */
  private readonly appendingSends = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    options: ProducerOptions = {},
  ) {
    const { clock, timers, random, ...rest } = options;
    this.o = producerSettings(rest);
    this.clock = clock ?? clientClock;
    this.timers = timers ?? clientTimers;
    this.random = random ?? Math.random;
    this.buffer = new BufferSpace(this.o.bufferBytesMax);
    this.partitioner = new Partitioner(this.random);
    this.backoff = { baseMs: this.o.retryBackoffMs, maxMs: this.o.retryBackoffMaxMs };
    this.holds = new PartitionHolds(this.clock, this.timers, () => void this.drain());
    this.idempotence = this.o.idempotent
      ? new IdempotenceState(() =>
          initProducerId(cluster, {
            // Bounded on its own: no batch's delivery timeout runs while the producer has no id yet.
            retries: Math.min(this.o.retries, INIT_PRODUCER_ID_RETRIES_MAX),
            backoff: this.backoff,
            random: this.random,
            timers: this.timers,
          }),
        )
      : null;
    this.inFlightRequestsMax = this.o.idempotent
      ? Math.min(this.o.maxInFlightRequests, IDEMPOTENT_IN_FLIGHT_MAX)
      : this.o.maxInFlightRequests;
    this.accumulator = new BatchAccumulator(
      this.clock,
      this.timers,
      this.o.lingerMs,
      this.o.batchBytes,
      this.unfinished,
      (batch) => this.queueSealed(batch),
    );
    this.requests = new ProduceRequests(cluster, this.timers, this.clock, this.unfinished, this.o, {
      finish: (batch, err, baseOffset, logAppendTimeMs) =>
        this.finish(batch, err, baseOffset, logAppendTimeMs),
      failOrRetry: (batch, err) => this.failOrRetry(batch, err),
      refusedTooLarge: (batch, err, shared) => this.refusedTooLarge(batch, err, shared),
    });
  }

  /** Queues messages and resolves with each one's partition and offset once acknowledged per acks. */
  async send(request: SendRequest): Promise<RecordMetadata[]> {
    if (this.closed) {
      throw new StreamBusError('CLIENT_CLOSED', {
        operation: 'producer.send',
        message: 'producer is closed',
      });
    }
    const acks = request.acks ?? this.o.acks;
    if (acks !== 0 && acks !== 1 && acks !== -1)
      throw new StreamBusError('INVALID_ACKS', { operation: 'producer.send' });
    checkMessages(request.messages, 'producer.send');
    checkMessageSizes(request, this.requests.maxRequestBytes, 'producer.send');
    if (request.messages.length === 0) return [];
    const appended = this.appendInTurn(request, acks);
    this.appendingSends.add(appended);
    try {
      return (await appended).settled;
    } finally {
      this.appendingSends.delete(appended);
    }
  }

  /** Waits for the send's turn, then appends its records to batches (see `send`). */
  private appendInTurn(request: SendRequest, acks: Acks): Promise<{ settled: Promise<RecordMetadata[]> }> {
    // Sends append their records one at a time, in call order. Each one awaits metadata (and maybe buffer
    // space) first, and those waits do not end in call order: a send that finds fresh metadata can resume
    // before an earlier one still waiting for the refresh, and its records would then take the partition's
    // earlier sequences and be stored first (with idempotence the broker sees nothing out of order).
    return this.appendTurns.run(() => this.enqueue(request, acks));
  }

  /** Appends a send's records to their partitions' batches; `settled` resolves once all are acknowledged. */
  private async enqueue(request: SendRequest, acks: Acks): Promise<{ settled: Promise<RecordMetadata[]> }> {
    // A message naming a partition the cached metadata does not show yet (added since) waits for a refresh.
    const highest = request.messages.reduce((max, m) => Math.max(max, m.partition ?? -1), -1);
    const { clock, timers, random } = this;
    const wait = { withinMs: this.o.deliveryTimeoutMs, backoff: this.backoff, clock, timers, random };
    const partitions = await partitionCountWithin(
      this.cluster,
      request.topic,
      highest >= 0 ? highest : undefined,
      wait,
    );
    const { tracker, settled } = trackSend(request.messages.length);
    for (let index = 0; index < request.messages.length; index++) {
      const message = request.messages[index]!;
      let partition: number;
      try {
        partition = this.partitioner.choose(request.topic, message, partitions);
      } catch (err) {
        settleFailed(tracker, err);
        break;
      }
      const record: ProducerRecord = {
        key: message.key ?? null,
        value: message.value,
        timestamp: message.timestamp ?? this.clock.nowMs(),
      };
      if (message.headers) record.headers = message.headers;
      const size = recordSizeBytes(record);
      await this.buffer.room(() => tracker.settled);
      // The send already failed (a batch of its earlier records did, while it waited for space): its caller
      // learns so now, without waiting for room for records it will never hear about.
      if (tracker.settled) break;
      this.accumulator.append(request.topic, partition, acks, record, size, tracker, index);
      this.buffer.take(size);
    }
    return { settled };
  }

  /** Sends everything batched so far and waits until all of it is acknowledged or has failed. */
  async flush(): Promise<void> {
    // Sends called before flush may still be looking up metadata, their records not in any batch yet.
    while (this.appendingSends.size > 0) await Promise.allSettled([...this.appendingSends]);
    this.accumulator.sealAll();
    while (this.unfinished.size > 0) await Promise.all([...this.unfinished].map((b) => b.done));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
  }

  /** A sealed batch takes its place in the send queue (it is built when first taken). */
  private queueSealed(batch: Batch): void {
    this.partitioner.batchSealed(batch.topic, batch.partition);
    batch.seq = this.nextSeq++;
    this.ready.push(batch);
    void this.drain();
  }

  /** Whether a batch still to be built needs the producer's identity. */
  private needsIdentity(batch: Batch): boolean {
    return this.idempotence !== null && batch.bytes === null && batch.acks !== 0;
  }

  /**
   * Builds the batches taken for sending that are not built yet, in queue order, so a partition's batches
   * take consecutive sequences in the order they are sent. Returns the ones built (or built before).
   */
  private build(batches: Batch[]): Batch[] {
    const built: Batch[] = [];
    for (const batch of batches) {
      this.buffer.release(dropFailedSends(batch));
      if (batch.records.length === 0) {
        this.finish(batch, null);
        continue;
      }
      try {
        buildBatch(batch, this.idempotence, this.o.compression, this.clock);
      } catch (err) {
        this.finish(batch, toStreamBusError(err, 'producer.encode'));
        continue;
      }
      built.push(batch);
    }
    return built;
  }

  /**
   * Makes sure the producer has an identity before a batch that needs one is built. False when there is
   * none to build with: the fetch failed for good (those batches failed with its error) or the identity was
   * reset meanwhile (the caller loops and fetches again).
   */
  private async identityReady(): Promise<boolean> {
    if (this.idempotence === null || this.idempotence.current() !== null) return true;
    if (!this.ready.some((b) => this.needsIdentity(b))) return true;
    try {
      await this.idempotence.ensure();
    } catch (err) {
      const e = toStreamBusError(err, 'producer.init_producer_id');
      const waiting = this.ready.filter((b) => this.needsIdentity(b));
      this.ready = this.ready.filter((b) => !this.needsIdentity(b));
      for (const b of waiting) this.finish(b, e);
      return false;
    }
    return this.idempotence.current() !== null;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.ready.length > 0 && this.inFlightRequests < this.inFlightRequestsMax) {
        // No await between the identity check and building: a reset in between would mix identities.
        if (!(await this.identityReady())) continue;
        const taken = this.takeSendable();
        if (taken.length === 0) break;
        // None built (all failed or dropped) still took batches off the queue: those behind may now go.
        const batches = this.build(taken);
        if (batches.length === 0) continue;
        const groups = new RequestGroups(this.requests.maxRequestBytes);
        // A partition whose leader lookup failed for one batch sends none of its later batches this round:
        // each lookup may refresh metadata, and one that succeeded for a later batch would send it ahead of
        // the earlier one now waiting for its retry (seen as reordered writes in the standalone chaos runs).
        const stalled = new Set<string>();
        for (const batch of batches) {
          const partitionKey = partitionKeyOf(batch);
          if (stalled.has(partitionKey)) {
            this.requeue(batch);
            continue;
          }
          let leaderId: number;
          try {
            leaderId = await this.cluster.leaderFor(batch.topic, batch.partition);
          } catch (err) {
            stalled.add(partitionKey);
            this.failOrRetry(batch, toStreamBusError(err, 'producer.metadata'), { sent: false });
            continue;
          }
          groups.add(leaderId, batch);
        }
        const pendingGroups = groups.list();
        for (const group of pendingGroups) {
          const { kept, back } = retriesTravelAlone(group.batches);
          group.batches = kept;
          for (const b of back) this.requeue(b);
        }
        while (pendingGroups.length > 0 && this.inFlightRequests < this.inFlightRequestsMax) {
          const group = pendingGroups.shift()!;
          this.inFlightRequests++;
          void this.requests.send(group.leaderId, group.acks, group.batches).finally(() => {
            this.inFlightRequests--;
            void this.drain();
          });
        }
        // Over the in-flight limit: keep the rest first in line, in order.
        for (const b of pendingGroups.flatMap((g) => g.batches)) this.requeue(b);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Removes and returns the ready batches whose partition is not held back by a pending retry. */
  private takeSendable(): Batch[] {
    const { free, held } = this.holds.split(this.ready);
    const idempotence = this.idempotence;
    if (idempotence === null) {
      this.ready = held;
      return free;
    }
    const { sendable, waiting } = gateSequenced(
      free,
      this.unfinished,
      idempotence.current(),
      (b) => this.needsIdentity(b),
      (topic, partition) => idempotence.nextOrdinal(topic, partition),
    );
    this.ready = waiting.length === 0 ? held : [...held, ...waiting].sort((a, b) => a.seq - b.seq);
    return sendable;
  }

  /** Puts a batch back among the ready ones in sealing order. */
  private requeue(batch: Batch): void {
    const at = this.ready.findIndex((b) => b.seq > batch.seq);
    if (at < 0) this.ready.push(batch);
    else this.ready.splice(at, 0, batch);
  }

  /**
   * `sent: false`: the batch never left (its leader lookup failed). A lookup that found no leader (one is
   * being elected) spends no retry, as Kafka's producer does not drain a partition whose leader is unknown:
   * the batch waits, rechecking each backoff, within the delivery timeout. Spending retries there failed a
   * batch for good inside an ordinary election (3 retries went in ~300 ms on the chaos runs), and with it,
   * under idempotence, the batches behind it that might have been written.
   */
  private failOrRetry(
    batch: Batch,
    err: StreamBusError,
    how: { readonly sent: boolean } = { sent: true },
  ): void {
    batch.lastError = err;
    // A timeout too (as Kafka's client does): a leader that stopped answering may have been replaced, and
    // the retry must go where the metadata now says, asked of a broker that answers (requestAny).
    if (
      STALE_METADATA_CODES.has(err.code) ||
      err.code === 'NETWORK_ERROR' ||
      err.code === 'CONNECTION_CLOSED' ||
      err.code === 'REQUEST_TIMED_OUT'
    ) {
      this.cluster.invalidateMetadata();
    }
    if (err.code === 'UNKNOWN_PRODUCER_ID' && this.idempotence !== null && !this.sentAfterOlder(batch)) {
      // The leader forgot this producer. Had this batch been written before that, its retry would be a
      // second copy: one that may have been is failed (and the partition moves on behind it, finish()).
      if (batch.maybeWritten) {
        this.finish(batch, err);
        return;
      }
      this.idempotence.unknownToLeader(batch);
      this.resequenceWaiting();
    }
    // Refused before writing, behind an older batch of its partition and identity that failed for good (an
    // older batch still pending does not matter: the gate sends the re-sequenced one only after it).
    if (REFUSED_UNWRITTEN.has(err.code) && this.idempotence?.unwrittenBehindGap(batch) === true) {
      // Not written, and never writable under its identity: it takes the current one and the partition's
      // next sequence, in its place in line (the gate holds it until the older identity's batches of the
      // partition are finished). No retry spent: the failure was the older batch's.
      resequence(batch);
      this.requeue(batch);
      void this.drain();
      return;
    }
    // An out-of-order answer while an older batch of the partition is still unacknowledged is that batch's
    // gap (it failed and waits for its retry), not this one's: this batch goes back behind it, without
    // spending one of its own retries (the older batch's retries bound the wait; if it fails for good, this
    // one's next answer is out of order with nothing older pending, and that fails it).
    const behindOlder =
      (err.code === 'OUT_OF_ORDER_SEQUENCE' || err.code === 'UNKNOWN_PRODUCER_ID') &&
      this.sentAfterOlder(batch);
    const awaitingLeader = !how.sent && err.code === 'LEADER_NOT_AVAILABLE';
    const free = behindOlder || awaitingLeader;
    if (!(isRetriable(err) || behindOlder) || (!free && batch.attempts >= this.o.retries)) {
      this.finish(batch, err);
      return;
    }
    const waitMs = backoffMs(batch.attempts, this.backoff, this.random);
    const expired = deliveryExpired(batch, err, this.clock.nowMs() + waitMs, this.o.deliveryTimeoutMs);
    if (expired !== null) {
      this.finish(batch, expired);
      return;
    }
    if (!free) batch.attempts++;
    // The batch goes back in sealing order and its partition is held until the backoff ends, so newer
    // batches of that partition cannot overtake it. (With several requests in flight a newer batch already
    // sent can still land first: with idempotence its leader refuses it as out of order and it comes back
    // here, behind this one.)
    this.holds.hold(batch, waitMs);
    this.requeue(batch);
    void this.drain();
  }

  /** Whether an older batch of the partition was unacknowledged when `batch` was sent, or still is. */
  private sentAfterOlder(batch: Batch): boolean {
    return batch.sentBehindOlder || this.unfinished.olderPending(batch);
  }

  /**
   * Re-sequences the ready batches (not in flight) built under an older identity behind a batch that failed
   * for good, without sending them to be refused first: none of their sends may have been written. In
   * flight ones are re-sequenced when their refusal comes back (failOrRetry).
   */
  private resequenceWaiting(): void {
    for (const b of this.ready) {
      if (b.bytes !== null && this.idempotence?.unwrittenBehindGap(b)) resequence(b);
    }
  }

  private finish(batch: Batch, err: StreamBusError | null, baseOffset = -1, logAppendTimeMs = -1): void {
    this.unfinished.delete(batch);
    if (err !== null) this.leaveGap(batch);
    settleRecords(batch, err, baseOffset, logAppendTimeMs);
    batch.markDone();
    this.buffer.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
  }

  /**
   * A sequenced batch that will never be written under its sequences (failed for good, or split) leaves
   * the leader's next sequence unknown: the partition's later batches of its identity would all be refused
   * (a cascade), so the producer takes a new identity and re-sequences those it knows were not written.
   */
  private leaveGap(batch: Batch): void {
    if (batch.producerId < 0 || this.idempotence === null) return;
    this.idempotence.failedForGood(batch);
    this.resequenceWaiting();
  }

  /**
   * The leader refused a batch as over its size limit (limits.batch_bytes_max, Kafka's message.max.bytes;
   * or its request as over limits.frame_bytes_max: refusedUnread) and wrote none of it. Kafka's producer
   * splits such a batch and sends the pieces; so does this one: a batch refused alone, never written and of
   * two records or more is split into halves that take its place in line (each refused again is split
   * again), and later batches are made no larger than the halves. One refused in an entry (or request) with
   * other batches goes back as it is, costing no retry: having been sent, it travels alone in its entry next
   * time (retriesTravelAlone), where the refusal, if any, is its own. A single record over the limit fails
   * with BATCH_TOO_LARGE, alone.
   */
  private refusedTooLarge(batch: Batch, err: StreamBusError, shared: boolean): void {
    if (shared) {
      this.requeue(batch);
    } else if (batch.records.length < 2 || batch.maybeWritten) {
      this.finish(batch, err);
      return;
    } else {
      // Its sequences are never sent: under idempotence that is a gap, and the pieces take the next identity.
      this.unfinished.delete(batch);
      this.leaveGap(batch);
      const { pieces, targetBytes } = splitBatch(batch);
      this.accumulator.lowerBatchBytes(targetBytes);
      for (const piece of pieces) {
        this.unfinished.add(piece);
        this.requeue(piece);
      }
      batch.markDone();
    }
    void this.drain();
  }
}
