/**
 * What a consumer with a `groupId` adds to the plain consumer: group membership (group-membership.ts)
 * driving the assignment, starting positions from committed offsets, and commits (manual, and automatic
 * every `autoCommitIntervalMs` plus on revocation and close).
 *
 * At-least-once: the positions committed are those of messages already returned by poll(), and a
 * partition's position is committed before the partition is given up, so its next owner starts where
 * this one stopped (or earlier, never later). A partition assigned before its committed offset could be
 * fetched is not read until it is (later polls try again): starting it anywhere else would skip messages or
 * read them again.
 *
 * The application's rebalance listener may throw: the rebalance goes on regardless (revoked partitions are
 * released, assigned ones kept) and poll() throws its error afterwards (group-membership.ts).
 */
import { isRetriable, StreamBusError } from '../errors/index.js';
import { ApiKey, fromWireError } from '../protocol/index.js';
import { type TopicPartition, topicPartitionKey } from './assignors/types.js';
import { type BackoffPolicy, backoffMs } from './backoff.js';
import type { Cluster } from './cluster.js';
import type { GroupSettings } from './consumer-options.js';
import { GroupMembership } from './group-membership.js';
import type { Random, Timers } from './timers.js';

/** What either callback throws does not stop the rebalance: the next poll() throws it (the first, once). */
export interface RebalanceListener {
  /**
   * Before partitions leave this consumer (after their positions were committed, with autoCommit); they
   * are released when it returns or throws.
   */
  onRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  /**
   * After partitions arrive, positioned at their committed offsets when the coordinator could say them;
   * the others (and those never committed, started per autoOffsetReset) get their position in poll().
   */
  onAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /**
   * Partitions this consumer lost because the group ended its session (it was silent longer than the
   * session timeout, or missed a rebalance): other members may be reading them already, so their positions
   * cannot be committed. Called before the consumer joins again; they are released when it returns or
   * throws. Without it, onRevoked is called instead (as Kafka's default onPartitionsLost does).
   */
  onLost?(partitions: TopicPartition[]): void | Promise<void>;
}

export interface GroupOptions {
  groupId: string;
  groupInstanceId?: string | null;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  assignors?: readonly string[];
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
}

export const GROUP_DEFAULTS = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  assignors: ['cooperative-sticky', 'range'] as readonly string[],
  autoCommit: true,
  autoCommitIntervalMs: 5_000,
} as const;

/** The consumer's side the group drives: its assignment and positions. */
export interface AssignableConsumer {
  /** Takes the group's assignment as it is (the leader checked it): kept partitions keep their positions. */
  assign(list: readonly TopicPartition[]): void;
  assignment(): TopicPartition[];
  position(tp: TopicPartition): number | undefined;
  seek(tp: TopicPartition, offset: number): void;
}

export interface GroupMetadata {
  groupId: string;
  memberId: string;
  generation: number;
  groupInstanceId: string | null;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string;
}

export class ConsumerGroup {
  private readonly membership: GroupMembership;
  private listener: RebalanceListener = {};
  private nextAutoCommitMs = 0;
  /** The automatic commit under way in the background, if any (beforePoll). */
  private autoCommitting: Promise<void> | null = null;
  /** Last committed offset per partition: auto-commit skips partitions that did not move. */
  private readonly lastCommitted = new Map<string, number>();
  /** Assigned partitions whose committed offset is not known yet: neither read nor reset until it is. */
  private readonly awaitingCommitted = new Map<string, TopicPartition>();
  private committedFailures = 0;
  private nextCommittedFetchMs = 0;

  constructor(
    cluster: Cluster,
    private readonly consumer: AssignableConsumer,
    /** Checked by groupSettings (consumer-options.ts). */
    private readonly o: GroupSettings,
    private readonly clock: { nowMs(): number },
    timers: Timers,
    private readonly random: Random,
    private readonly retryBackoff: BackoffPolicy,
    /** The consumer's `retries`: consecutive failed joins poll() rides out before it throws. */
    joinRetries: number,
  ) {
    this.membership = new GroupMembership(
      cluster,
      {
        groupId: this.o.groupId,
        groupInstanceId: this.o.groupInstanceId,
        sessionTimeoutMs: this.o.sessionTimeoutMs,
        rebalanceTimeoutMs: this.o.rebalanceTimeoutMs,
        heartbeatIntervalMs: this.o.heartbeatIntervalMs,
        assignors: this.o.assignors,
        retryBackoff,
        joinRetries,
      },
      {
        onRevoked: (partitions) => this.revoked(partitions),
        onAssigned: (assignment, added) => this.assigned(assignment, added),
        onLost: (partitions) => this.lost(partitions),
      },
      timers,
      random,
    );
  }

  subscribe(topics: readonly string[], listener: RebalanceListener = {}): void {
    if (topics.length === 0) {
      throw new StreamBusError('INVALID_CONFIG', { operation: 'consumer.subscribe', message: 'no topics' });
    }
    this.listener = listener;
    this.membership.subscribe(topics);
  }

  get subscribed(): boolean {
    return this.membership.subscribed;
  }

  /** Called at the start of every poll(): (re)join when needed, then auto-commit what was returned. */
  async beforePoll(signal: AbortSignal): Promise<void> {
    await this.membership.ensureActive(signal);
    // The caller stopped waiting for a join still under way: poll() must return now, and a commit would
    // queue behind the pending JoinGroup on the coordinator connection (until every other member has
    // rejoined) only to carry the generation that join ends.
    if (signal.aborted) return;
    if (this.clock.nowMs() >= this.nextCommittedFetchMs) await this.positionAtCommitted();
    if (this.o.autoCommit && this.clock.nowMs() >= this.nextAutoCommitMs && this.autoCommitting === null) {
      this.nextAutoCommitMs = this.clock.nowMs() + this.o.autoCommitIntervalMs;
      // In the background, as Kafka's automatic commits: poll() goes on fetching while a coordinator that
      // stopped answering holds the commit (QA: a paused coordinator stopped every partition's reading).
      // One at a time, so an older commit cannot land after a newer one. A failed one is tried again at the
      // next interval; a stale generation is noticed by the heartbeat, which rejoins.
      const committing: Promise<void> = this.commitPositions(this.consumer.assignment(), true)
        .catch(() => undefined)
        .finally(() => {
          if (this.autoCommitting === committing) this.autoCommitting = null;
        });
      this.autoCommitting = committing;
    }
  }

  /** Waits for an automatic commit under way: a commit after it must not be overtaken by it. */
  private async afterAutoCommit(): Promise<void> {
    await this.autoCommitting;
  }

  /** Commits `offsets`, or the current position of every assigned partition. */
  async commit(offsets?: readonly CommittedOffset[]): Promise<void> {
    await this.afterAutoCommit();
    if (offsets === undefined) return this.commitPositions(this.consumer.assignment(), false);
    await this.sendCommit(offsets);
  }

  /** The group's committed offsets (-1: none) for the given partitions. */
  committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    return this.fetchCommitted(partitions);
  }

  /** Whether a partition waits for its committed offset: the consumer must not start it elsewhere. */
  awaitsCommitted(tp: TopicPartition): boolean {
    return this.awaitingCommitted.has(topicPartitionKey(tp));
  }

  metadata(): GroupMetadata {
    const { memberId, generation, groupInstanceId } = this.membership.identity;
    return { groupId: this.o.groupId, memberId, generation, groupInstanceId };
  }

  /** Commits positions (autoCommit), then leaves (dynamic members) or keeps its place (static). */
  async close(): Promise<void> {
    await this.afterAutoCommit();
    if (this.o.autoCommit && this.membership.generation >= 0) {
      await this.commitPositions(this.consumer.assignment(), true).catch(() => undefined);
    }
    await this.membership.close();
  }

  /** Commits, tells the application, then lets the partitions go whatever it threw. */
  private async revoked(partitions: TopicPartition[]): Promise<void> {
    await this.afterAutoCommit();
    if (this.o.autoCommit) await this.commitPositions(partitions, true).catch(() => undefined);
    try {
      await this.listener.onRevoked?.(partitions);
    } finally {
      this.release(partitions);
    }
  }

  /** Tells the application, commits nothing (the group ended this member's session), lets them go. */
  private async lost(partitions: TopicPartition[]): Promise<void> {
    try {
      const onLost = this.listener.onLost ?? this.listener.onRevoked;
      await onLost?.call(this.listener, partitions);
    } finally {
      this.release(partitions);
    }
  }

  /** Nothing of these is read after this; one assigned again starts from its committed offset. */
  private release(partitions: readonly TopicPartition[]): void {
    const gone = new Set(partitions.map(topicPartitionKey));
    for (const key of gone) {
      this.awaitingCommitted.delete(key);
      this.lastCommitted.delete(key);
    }
    this.consumer.assign(this.consumer.assignment().filter((tp) => !gone.has(topicPartitionKey(tp))));
  }

  /**
   * Takes the assignment, then tries once for the new partitions' committed offsets, so the application's
   * listener usually sees their positions; a coordinator that cannot answer now delays only those
   * partitions (later polls try again), never the membership, which a failure here would make rejoin.
   */
  private async assigned(assignment: TopicPartition[], added: TopicPartition[]): Promise<void> {
    this.consumer.assign(assignment);
    for (const tp of added) this.awaitingCommitted.set(topicPartitionKey(tp), tp);
    this.nextCommittedFetchMs = 0;
    await this.positionAtCommitted().catch(() => undefined);
    await this.listener.onAssigned?.(added);
  }

  /**
   * One try at the committed offsets of the partitions waiting for them. Each found becomes its partition's
   * position unless the application has positioned it meanwhile (seek); a partition the group never
   * committed is left to the consumer's autoOffsetReset. A retriable failure keeps them waiting until a
   * later poll, after a backoff; any other is thrown (from poll()).
   */
  private async positionAtCommitted(): Promise<void> {
    const waiting = [...this.awaitingCommitted.values()];
    if (waiting.length === 0) return;
    let found: CommittedOffset[];
    try {
      found = await this.fetchCommitted(waiting, 0);
    } catch (err) {
      const waitMs = backoffMs(this.committedFailures++, this.retryBackoff, this.random);
      this.nextCommittedFetchMs = this.clock.nowMs() + waitMs;
      if (isRetriable(err)) return;
      throw err;
    }
    this.committedFailures = 0;
    for (const c of found) {
      const key = topicPartitionKey(c);
      if (!this.awaitingCommitted.delete(key)) continue; // revoked meanwhile
      if (c.offset >= 0 && this.consumer.position(c) === undefined) this.consumer.seek(c, c.offset);
      this.lastCommitted.set(key, c.offset);
    }
  }

  /** OffsetFetch, tried again up to `retries` times while the coordinator moves. */
  private async fetchCommitted(
    partitions: readonly TopicPartition[],
    retries?: number,
  ): Promise<CommittedOffset[]> {
    const res = await this.membership.coordinator.withRetry(async () => {
      const r = await this.membership.coordinator.request(ApiKey.OffsetFetch, {
        groupId: this.o.groupId,
        partitions: partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
      });
      if (r.error !== null) throw fromWireError(r.error, 'consumer.committed');
      return r;
    }, retries);
    return res.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset,
      metadata: p.metadata,
    }));
  }

  private async commitPositions(partitions: readonly TopicPartition[], onlyMoved: boolean): Promise<void> {
    const offsets: CommittedOffset[] = [];
    for (const tp of partitions) {
      const position = this.consumer.position(tp);
      if (position === undefined) continue;
      if (onlyMoved && this.lastCommitted.get(topicPartitionKey(tp)) === position) continue;
      offsets.push({ topic: tp.topic, partition: tp.partition, offset: position });
    }
    if (offsets.length > 0) await this.sendCommit(offsets, onlyMoved);
  }

  /**
   * One OffsetCommit as this member. An automatic commit skips partitions refused as going backwards
   * (after a seek back, progress is recorded again once it passes the committed offset).
   */
  private async sendCommit(offsets: readonly CommittedOffset[], automatic = false): Promise<void> {
    const res = await this.membership.coordinator.withRetry(async () => {
      const identity = this.membership.identity;
      const r = await this.membership.coordinator.request(ApiKey.OffsetCommit, {
        groupId: this.o.groupId,
        generation: identity.generation,
        memberId: identity.memberId,
        groupInstanceId: identity.groupInstanceId,
        reset: false,
        partitions: offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: o.offset,
          metadata: o.metadata ?? '',
        })),
      });
      if (r.error !== null) {
        const e = fromWireError(r.error, 'consumer.commit');
        // Refused because the group ended this member's session: its partitions are lost (the heartbeat
        // may not have noticed yet); unless a join since then already gave it a new identity.
        const current = identity.generation >= 0 && this.membership.generation === identity.generation;
        if ((e.code === 'UNKNOWN_MEMBER_ID' || e.code === 'ILLEGAL_GENERATION') && current) {
          this.membership.markSessionLost(e.code);
        }
        throw e;
      }
      return r;
    });
    for (const [i, p] of res.partitions.entries()) {
      if (p.error === null) {
        const committed = offsets[i];
        if (committed !== undefined) this.lastCommitted.set(topicPartitionKey(committed), committed.offset);
        continue;
      }
      const e = fromWireError(p.error, 'consumer.commit');
      if (automatic && e.code === 'OFFSET_REGRESSION') continue;
      throw e;
    }
  }
}
