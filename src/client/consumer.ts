/**
 * The consumer: manual partition assignment, positions with seek / seekToBeginning / seekToEnd /
 * seekToTimestamp, and a fetch loop that long-polls each partition leader (maxWaitMs, minBytes, maxBytes,
 * partitionMaxBytes). `poll()` returns the next messages; `for await (const m of consumer)` yields them one by
 * one. OFFSET_OUT_OF_RANGE resets the position per `autoOffsetReset`.
 *
 * With a `groupId`, `subscribe(topics)` makes the consumer a group member instead (consumer-group.ts): the
 * group decides the assignment, positions start from committed offsets, and `commit()` records progress.
 */
import { isRetriable, StreamBusError, toStreamBusError } from '../errors/index.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type ListOffsetsPartition } from '../protocol/index.js';
import { partitionsNamed } from './assigned-partitions.js';
import { type BackoffPolicy, backoffMs, delay } from './backoff.js';
import type { Cluster } from './cluster.js';
import {
  type CommittedOffset,
  ConsumerGroup,
  type GroupMetadata,
  type RebalanceListener,
} from './consumer-group.js';
import {
  type ConsumerOptions,
  type ConsumerSettings,
  consumerSettings,
  groupSettings,
} from './consumer-options.js';
import { deliverRound, fetchRound, keyOf, type PartitionState, type Round } from './fetch-round.js';
import type { ConsumerMessage } from './fetched-records.js';
import { HandOver } from './hand-over.js';
import { offsetsOrThrow } from './list-offsets.js';
import { ReadReplicas } from './read-replicas.js';
import { RoundsAhead } from './rounds-ahead.js';
import { resolveStartPositions } from './start-positions.js';
import { clientClock, clientTimers, type Random, type Timers } from './timers.js';
import { untilAborted } from './until-aborted.js';

export { CONSUMER_DEFAULTS, type ConsumerOptions } from './consumer-options.js';
export type { AutoOffsetReset } from './fetch-round.js';
export type { ConsumerMessage } from './fetched-records.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** What a consumer without a group hears about the partitions given to assign(). */
export interface AssignmentListener {
  /**
   * Partitions dropped from the assignment because their topic was deleted (fresh metadata no longer shows
   * it); the others keep flowing. Called from the poll() that dropped them; what it throws, that poll() throws.
   */
  onDeleted?(partitions: TopicPartition[]): void;
}

type Outcome = { ok: true; round: Round } | { ok: false; error: unknown };

/** Rounds read ahead of poll() (see rounds-ahead.ts): with 50 MiB maxBytes, at most 100 MiB held. */
export const PREFETCH_ROUNDS = 2;

export class Consumer implements AsyncIterable<ConsumerMessage> {
  private readonly o: ConsumerSettings;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly backoff: BackoffPolicy;
  private readonly partitions = new Map<string, PartitionState>();
  /** Topics assigned whole (assign() without a partition): partitions added to them later join. */
  private wholeTopics = new Set<string>();
  /** Told about partitions assign() gave whose topic was deleted (consumers without a group). */
  private assignmentListener: AssignmentListener = {};
  /** Topics dropped from the assignment since assign() because they were deleted: poll() says so. */
  private deletedTopics = new Set<string>();
  /** Brokers with a fetch a round left behind (fetch-round.ts), until it settles. */
  private readonly busyBrokers = new Map<number, Promise<void>>();
  /** Replicas in this consumer's rack that partition leaders named (clientRack). */
  private readonly readReplicas: ReadReplicas;
  private readonly closing = new AbortController();
  private readonly ahead: RoundsAhead<Outcome>;
  private failures = 0;
  private readonly group: ConsumerGroup | null;

  constructor(
    private readonly cluster: Cluster,
    options: ConsumerOptions = {},
  ) {
    const { timers, random, group, ...rest } = options;
    this.o = consumerSettings(rest);
    const groupOptions = group === undefined ? null : groupSettings(group);
    this.timers = timers ?? clientTimers;
    this.random = random ?? Math.random;
    this.backoff = { baseMs: this.o.retryBackoffMs, maxMs: this.o.retryBackoffMaxMs };
    this.readReplicas = new ReadReplicas(cluster.metadataMaxAgeMs, () => clientClock.nowMs());
    this.ahead = new RoundsAhead(
      PREFETCH_ROUNDS,
      () => this.startRound(),
      (o) => o.ok && o.round.advances.some((a) => a.scanned.batches.length > 0),
    );
    this.group =
      groupOptions === null
        ? null
        : new ConsumerGroup(
            cluster,
            {
              assign: (list) => this.setAssignment(list),
              assignment: () => this.assignment(),
              position: (tp) => this.position(tp),
              seek: (tp, offset) => this.moveTo(tp, offset),
            },
            groupOptions,
            clientClock,
            this.timers,
            this.random,
            this.backoff,
            this.o.retries,
          );
  }

  /**
   * Joins the consumer group (`group.groupId`) for these topics; the group assigns partitions from the
   * next poll() on. `listener` hears about partitions revoked and assigned by each rebalance.
   */
  subscribe(topics: readonly string[], listener?: RebalanceListener): void {
    this.requireGroup('consumer.subscribe').subscribe(topics, listener);
  }

  /** Commits `offsets` (the next offset to read, per partition), or every assigned partition's position. */
  commit(offsets?: readonly CommittedOffset[]): Promise<void> {
    return this.requireGroup('consumer.commit').commit(offsets);
  }

  /** The group's committed offsets (-1 when none) for `partitions` (default: the assignment). */
  committed(partitions?: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    return this.requireGroup('consumer.committed').committed(partitions ?? this.assignment());
  }

  /**
   * This member's place in its group (Kafka's groupMetadata()): member id and generation as of the last
   * join; generation -1 and an empty member id before the first join or after the group ended the session.
   */
  groupMetadata(): GroupMetadata {
    return this.requireGroup('consumer.groupMetadata').metadata();
  }

  /**
   * Replaces the assignment. An entry without `partition` means every partition of the topic. A topic deleted
   * later drops out of the assignment (`listener.onDeleted` hears of it) and the others keep flowing; once
   * nothing is left, poll() throws UNKNOWN_TOPIC_OR_PARTITION naming the deleted topics.
   */
  async assign(
    list: readonly { topic: string; partition?: number }[],
    listener: AssignmentListener = {},
  ): Promise<void> {
    if (this.group !== null) {
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'consumer.assign',
        message: 'a consumer with a group gets its partitions from subscribe(), not assign()',
      });
    }
    const partitions = await partitionsNamed(this.cluster, list);
    this.setAssignment(partitions);
    this.wholeTopics = new Set(list.filter((item) => item.partition === undefined).map((item) => item.topic));
    this.assignmentListener = listener;
    this.deletedTopics = new Set();
  }

  private requireGroup(operation: string): ConsumerGroup {
    if (this.group === null) {
      throw new StreamBusError('INVALID_CONFIG', {
        operation,
        message: 'this consumer has no group: create it with { group: { groupId } }',
      });
    }
    return this.group;
  }

  /**
   * Replaces the assignment; partitions kept keep their positions, new ones have none yet. It cannot fail:
   * the group's assignment is taken as the leader made it (a member that refused it would rejoin, and
   * rebalance the whole group), and fetching finds any partition this client's metadata does not show yet.
   */
  private setAssignment(list: readonly TopicPartition[]): void {
    const next = new Map<string, PartitionState>();
    for (const { topic, partition } of list) {
      const key = keyOf(topic, partition);
      next.set(
        key,
        this.partitions.get(key) ?? {
          topic,
          partition,
          position: null,
          fetchOffset: null,
          epoch: 0,
          paused: false,
        },
      );
    }
    this.partitions.clear();
    for (const [k, v] of next) this.partitions.set(k, v);
    this.wholeTopics = new Set();
    // Anything fetched ahead is dropped: fetch again from what the caller has seen.
    this.dropFetchedAhead();
  }

  assignment(): TopicPartition[] {
    return [...this.partitions.values()].map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /** The offset of the next message poll() returns for the partition, if known. */
  position(tp: TopicPartition): number | undefined {
    return this.state(tp).position ?? undefined;
  }

  /**
   * The position moves at once; async like the other seeks, so a bad offset or a partition not assigned
   * rejects (OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION) rather than throws.
   */
  async seek(tp: TopicPartition, offset: number): Promise<void> {
    this.moveTo(tp, offset);
  }

  private moveTo(tp: TopicPartition, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new StreamBusError('OFFSET_OUT_OF_RANGE', {
        operation: 'consumer.seek',
        message: `cannot seek ${tp.topic}-${tp.partition} to ${offset}: an offset is an integer >= 0`,
      });
    }
    const s = this.state(tp);
    this.dropFetchedAhead();
    s.position = offset;
    s.fetchOffset = offset;
  }

  /**
   * Stops fetching these partitions (Kafka's pause()): poll() returns nothing more from them until resume(),
   * and what was fetched ahead for them is dropped, so they resume at their position. Flow control for a
   * caller that cannot take more from some partitions for now, while it goes on polling (a group member
   * stays in its group). A partition stays paused across rebalances that leave it assigned here; one
   * reassigned elsewhere and back starts unpaused. A partition not assigned is UNKNOWN_TOPIC_OR_PARTITION,
   * and then none is paused.
   */
  pause(tps: readonly TopicPartition[]): void {
    for (const s of tps.map((tp) => this.state(tp))) {
      if (s.paused) continue;
      s.paused = true;
      // Rounds fetched ahead or still out carry its old epoch: what they bring for it is not delivered.
      s.epoch++;
      s.fetchOffset = s.position;
    }
  }

  /** Fetches these partitions again from their positions, from the next fetch round on. */
  resume(tps: readonly TopicPartition[]): void {
    for (const s of tps.map((tp) => this.state(tp))) s.paused = false;
  }

  /** The assigned partitions that are paused. */
  paused(): TopicPartition[] {
    return [...this.partitions.values()]
      .filter((p) => p.paused)
      .map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  seekToBeginning(tps?: readonly TopicPartition[]): Promise<void> {
    return this.seekToListed(tps ?? this.assignment(), EARLIEST_TIMESTAMP);
  }

  seekToEnd(tps?: readonly TopicPartition[]): Promise<void> {
    return this.seekToListed(tps ?? this.assignment(), LATEST_TIMESTAMP);
  }

  /** Seeks to the first message with timestamp >= `timestampMs`, or to the end when there is none. */
  async seekToTimestamp(tp: TopicPartition, timestampMs: number): Promise<void> {
    const [offset] = await this.listOffsets([{ ...tp, timestamp: timestampMs }]);
    if (offset === undefined || offset < 0) await this.seekToEnd([tp]);
    else this.moveTo(tp, offset);
  }

  /** The next messages (long-polling up to maxWaitMs when there are none), in offset order per partition. */
  async poll(options: { signal?: AbortSignal } = {}): Promise<ConsumerMessage[]> {
    // Polling a closed consumer is the caller's bug: [] would read as "nothing yet", forever. A poll already
    // running when close() comes still resolves [] (below), so loops such as for-await end cleanly.
    if (this.closing.signal.aborted)
      throw new StreamBusError('CLIENT_CLOSED', {
        operation: 'consumer.poll',
        message: 'consumer closed',
      });
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.closing.signal])
      : this.closing.signal;
    if (signal.aborted) return [];
    // As Kafka's consumer: polling nothing would wait forever (a for-await loop never ends).
    const first = this.group === null ? 'assign() partitions or topics' : 'subscribe() to topics';
    const nothing =
      this.group === null ? this.partitions.size + this.wholeTopics.size === 0 : !this.group.subscribed;
    if (nothing && this.deletedTopics.size > 0)
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation: 'consumer.poll',
        message: `nothing left to poll: the assigned topics were deleted (${[...this.deletedTopics].join(', ')})`,
        metadata: { topics: [...this.deletedTopics] },
      });
    if (nothing)
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'consumer.poll',
        message: `nothing to poll: ${first} first`,
      });
    if (this.group !== null) await this.group.beforePoll(signal);
    else if (this.wholeTopics.size > 0) await this.adoptAddedPartitions();
    if (signal.aborted) return [];
    if (this.partitions.size === 0) {
      await delay(this.o.maxWaitMs, this.timers, signal).catch(() => undefined);
      return [];
    }
    const pending = this.ahead.takeOrStart();
    const outcome = await untilAborted(pending.result, signal);
    if (outcome === null) {
      // The caller gave up waiting; keep the round for the next poll rather than lose it.
      if (!this.closing.signal.aborted) this.ahead.putBack(pending);
      return [];
    }
    if (!outcome.ok) {
      if (signal.aborted) return [];
      const e = toStreamBusError(outcome.error, 'consumer.poll');
      if (!isRetriable(e) || this.failures >= this.o.retries) throw e;
      this.cluster.invalidateMetadata();
      // Back off before the caller polls again, so a broker outage is not a busy loop.
      const waitMs = backoffMs(this.failures, this.backoff, this.random);
      this.failures++;
      await delay(waitMs, this.timers, signal).catch(() => undefined);
      return [];
    }
    this.failures = 0;
    // The next fetch goes out before this round is decoded, so decoding overlaps the round trip. Fetch
    // offsets were already advanced from batch headers; positions move only when messages are delivered.
    if (this.o.prefetch && !this.closing.signal.aborted) {
      this.ahead.fill();
      // Its request is written by microtasks (metadata and connection lookups resolve from cache): let them
      // run and the fetch leave before the CPU-bound decode below, or the two would not overlap at all.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const delivered = deliverRound(outcome.round, this.partitions, this.o.decompressedBytesMax);
    this.dropDeleted(outcome.round.gone);
    return delivered;
  }

  /**
   * Partitions whose topic was deleted. A group member's sit out (each round looks again) until the group's
   * leader sees the topic gone and rebalances without it, as Kafka's does; a consumer without a group drops
   * them from its assignment, tells the listener, and goes on with the rest.
   */
  private dropDeleted(gone: readonly PartitionState[]): void {
    if (this.group !== null) return;
    // Still assigned as they were when the round ran (no assign() since).
    const dropped = gone.filter((s) => this.partitions.get(keyOf(s.topic, s.partition)) === s);
    if (dropped.length === 0) return;
    for (const s of dropped) {
      this.partitions.delete(keyOf(s.topic, s.partition));
      this.wholeTopics.delete(s.topic);
      this.deletedTopics.add(s.topic);
    }
    this.assignmentListener.onDeleted?.(dropped.map((s) => ({ topic: s.topic, partition: s.partition })));
  }

  /**
   * Yields the polled messages one by one; a message counts as consumed once handed over (hand-over.ts), so
   * leaving the loop early commits nothing it did not see. Leaving early also drops what was fetched ahead,
   * so the next poll() starts from the position.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerMessage> {
    let handing: HandOver | null = null;
    try {
      while (!this.closing.signal.aborted) {
        handing = new HandOver(await this.poll(), this.partitions);
        for (const m of handing.messages) {
          // A close while iterating ends the loop; a seek discards what was fetched before it.
          if (this.closing.signal.aborted) return;
          if (handing.take(m)) yield m;
        }
        handing = null;
      }
    } finally {
      if (handing?.leftBehind) this.dropFetchedAhead();
    }
  }

  async close(): Promise<void> {
    this.ahead.clear();
    await this.group?.close().catch(() => undefined);
    this.closing.abort(
      new StreamBusError('CLIENT_CLOSED', { operation: 'consumer.close', message: 'consumer closed' }),
    );
  }

  /**
   * Forgets the rounds fetched ahead: every partition fetches again from what the caller has been given
   * (fetch offsets had moved past those rounds), and rounds still running move nothing (epochs change).
   */
  private dropFetchedAhead(): void {
    this.ahead.clear();
    for (const s of this.partitions.values()) {
      s.fetchOffset = s.position;
      s.epoch++;
    }
  }

  private state(tp: TopicPartition): PartitionState {
    const s = this.partitions.get(keyOf(tp.topic, tp.partition));
    if (!s) {
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation: 'consumer',
        message: `${tp.topic}/${tp.partition} is not assigned to this consumer`,
      });
    }
    return s;
  }

  /**
   * Partitions added to a topic assigned whole (CreatePartitions) join the assignment once the client's
   * metadata shows them (within metadataMaxAgeMs). They are read from their beginning, whatever
   * autoOffsetReset says: everything in them was written after this consumer was assigned the topic, and a
   * tailing consumer must not skip it (Kafka's `latest` does, until its next metadata refresh).
   */
  private async adoptAddedPartitions(): Promise<void> {
    const topics = this.wholeTopics;
    const added: TopicPartition[] = [];
    for (const topic of topics) {
      const count = await this.cluster.partitionCount(topic).catch(() => 0);
      for (let partition = 0; partition < count; partition++) {
        if (!this.partitions.has(keyOf(topic, partition))) added.push({ topic, partition });
      }
    }
    if (added.length === 0) return;
    // Not joined until their start is known; a failure here is tried again at the next poll.
    const starts = await this.listOffsets(
      added.map((tp) => ({ ...tp, timestamp: EARLIEST_TIMESTAMP })),
    ).catch(() => null);
    // An assign() meanwhile replaced the assignment (and these topics with it).
    if (starts === null || this.wholeTopics !== topics) return;
    this.dropFetchedAhead();
    added.forEach(({ topic, partition }, i) => {
      const offset = Math.max(0, starts[i] ?? 0);
      this.partitions.set(keyOf(topic, partition), {
        topic,
        partition,
        position: offset,
        fetchOffset: offset,
        epoch: 0,
        paused: false,
      });
    });
  }

  private async seekToListed(tps: readonly TopicPartition[], timestamp: number): Promise<void> {
    const offsets = await this.listOffsets(tps.map((tp) => ({ ...tp, timestamp })));
    tps.forEach((tp, i) => {
      this.moveTo(tp, Math.max(0, offsets[i] ?? 0));
    });
  }

  private listOffsets(asks: ListOffsetsPartition[]): Promise<number[]> {
    return offsetsOrThrow(this.cluster, asks, {
      retries: this.o.retries,
      policy: this.backoff,
      random: this.random,
      timers: this.timers,
      signal: this.closing.signal,
    });
  }

  /** Runs one round; the outcome never rejects, so a round nobody collects cannot go unhandled. */
  private startRound(): Promise<Outcome> {
    const run = async (): Promise<Round> => {
      const unlisted = await resolveStartPositions({
        cluster: this.cluster,
        partitions: this.partitions,
        autoOffsetReset: this.o.autoOffsetReset,
        awaitsCommitted: (p) => this.group?.awaitsCommitted(p) === true,
        signal: this.closing.signal,
      });
      const round = await fetchRound({
        cluster: this.cluster,
        partitions: this.partitions,
        options: this.o,
        signal: this.closing.signal,
        busyBrokers: this.busyBrokers,
        readReplicas: this.readReplicas,
      });
      return { ...round, gone: [...unlisted, ...round.gone] };
    };
    return run().then(
      (round): Outcome => ({ ok: true, round }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
  }
}
