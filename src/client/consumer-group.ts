/**
 * What a consumer with a `groupId` adds to the plain consumer: group membership (group-membership.ts)
 * driving the assignment, starting positions from committed offsets, and commits (manual, and automatic
 * every `autoCommitIntervalMs` plus on revocation and close).
 *
 * At-least-once: the positions committed are those of messages already returned by poll(), and a
 * partition's position is committed before the partition is given up, so its next owner starts where
 * this one stopped (or earlier, never later).
 */
import { StreamBusError } from '../errors/index.js';
import { ApiKey, fromWireError } from '../protocol/index.js';
import { type TopicPartition, topicPartitionKey } from './assignors/types.js';
import type { BackoffPolicy } from './backoff.js';
import type { Cluster } from './cluster.js';
import { GroupMembership } from './group-membership.js';
import type { Random, Timers } from './timers.js';

export interface RebalanceListener {
  /** Before partitions leave this consumer (after their positions were committed, with autoCommit). */
  onRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  /** After partitions arrive (positions set from committed offsets or autoOffsetReset). */
  onAssigned?(partitions: TopicPartition[]): void | Promise<void>;
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
  assign(list: readonly TopicPartition[]): Promise<void>;
  assignment(): TopicPartition[];
  position(tp: TopicPartition): number | undefined;
  seek(tp: TopicPartition, offset: number): void;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string;
}

export class ConsumerGroup {
  private readonly membership: GroupMembership;
  private readonly o: Required<Omit<GroupOptions, 'groupInstanceId'>> & { groupInstanceId: string | null };
  private listener: RebalanceListener = {};
  private nextAutoCommitMs = 0;
  /** Last committed offset per partition: auto-commit skips partitions that did not move. */
  private readonly lastCommitted = new Map<string, number>();

  constructor(
    cluster: Cluster,
    private readonly consumer: AssignableConsumer,
    options: GroupOptions,
    private readonly clock: { nowMs(): number },
    timers: Timers,
    random: Random,
    retryBackoff: BackoffPolicy,
  ) {
    this.o = { ...GROUP_DEFAULTS, ...options, groupInstanceId: options.groupInstanceId ?? null };
    if (this.o.heartbeatIntervalMs >= this.o.sessionTimeoutMs) {
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'consumer.group',
        message: `heartbeatIntervalMs (${this.o.heartbeatIntervalMs}) must be below sessionTimeoutMs (${this.o.sessionTimeoutMs})`,
      });
    }
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
      },
      {
        onRevoked: (partitions) => this.revoked(partitions),
        onAssigned: (assignment, added) => this.assigned(assignment, added),
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

  /** Called at the start of every poll(): (re)join when needed, then auto-commit what was returned. */
  async beforePoll(signal: AbortSignal): Promise<void> {
    await this.membership.ensureActive(signal);
    // The caller stopped waiting for a join still under way: poll() must return now, and a commit would
    // queue behind the pending JoinGroup on the coordinator connection (until every other member has
    // rejoined) only to carry the generation that join ends.
    if (signal.aborted) return;
    if (this.o.autoCommit && this.clock.nowMs() >= this.nextAutoCommitMs) {
      this.nextAutoCommitMs = this.clock.nowMs() + this.o.autoCommitIntervalMs;
      // A failed automatic commit is tried again at the next interval; a stale generation is noticed
      // by the heartbeat, which rejoins.
      await this.commitPositions(this.consumer.assignment(), true).catch(() => undefined);
    }
  }

  /** Commits `offsets`, or the current position of every assigned partition. */
  async commit(offsets?: readonly CommittedOffset[]): Promise<void> {
    if (offsets === undefined) return this.commitPositions(this.consumer.assignment(), false);
    await this.sendCommit(offsets);
  }

  /** The group's committed offsets (-1: none) for the given partitions. */
  async committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    const res = await this.membership.withCoordinatorRetry(async () => {
      const r = await this.membership.request(ApiKey.OffsetFetch, {
        groupId: this.o.groupId,
        partitions: partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
      });
      if (r.error !== null) throw fromWireError(r.error, 'consumer.committed');
      return r;
    });
    return res.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset,
      metadata: p.metadata,
    }));
  }

  get memberId(): string {
    return this.membership.memberId;
  }

  get generation(): number {
    return this.membership.generation;
  }

  /** Commits positions (autoCommit), then leaves (dynamic members) or keeps its place (static). */
  async close(): Promise<void> {
    if (this.o.autoCommit && this.membership.generation >= 0) {
      await this.commitPositions(this.consumer.assignment(), true).catch(() => undefined);
    }
    await this.membership.close();
  }

  private async revoked(partitions: TopicPartition[]): Promise<void> {
    if (this.o.autoCommit) await this.commitPositions(partitions, true).catch(() => undefined);
    await this.listener.onRevoked?.(partitions);
  }

  private async assigned(assignment: TopicPartition[], added: TopicPartition[]): Promise<void> {
    await this.consumer.assign(assignment);
    if (added.length > 0) {
      for (const c of await this.committed(added)) {
        if (c.offset >= 0) this.consumer.seek(c, c.offset);
        this.lastCommitted.set(topicPartitionKey(c), c.offset);
      }
    }
    await this.listener.onAssigned?.(added);
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
    const res = await this.membership.withCoordinatorRetry(async () => {
      const identity = this.membership.identity;
      const r = await this.membership.request(ApiKey.OffsetCommit, {
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
      if (r.error !== null) throw fromWireError(r.error, 'consumer.commit');
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
