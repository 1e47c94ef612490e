/**
 * A consumer's membership in its group, the client half of the group protocol: find the coordinator,
 * JoinGroup (the leader runs the chosen assignor over every member's subscription), SyncGroup, then
 * heartbeat in the background until the coordinator asks for a rebalance. The consumer calls `ensureActive`
 * from poll(); whenever it returns, `owned` is this member's assignment for the current generation.
 *
 * Revocation follows the chosen assignor's protocol: eager revokes everything before rejoining; cooperative
 * revokes only what the new assignment takes away, then rejoins once so those partitions reach their new
 * owner (KIP-429). The consumer commits revoked partitions in `onRevoked` (at-least-once).
 *
 * A listener that throws neither undoes the assignment nor fails the join: failing it would make this member
 * rejoin, which rebalances the whole group, and a listener that always throws would do so forever. As in
 * Kafka, the first such error is thrown from the next ensureActive() (so from poll()) instead. So is a
 * member's subscription the leader cannot decode (that member gets nothing; the others are assigned) and an
 * error of the assignor itself. An assignment this member cannot decode makes it leave the group, for good.
 *
 * Partitions are lost, not revoked, when the coordinator says this member's session is over (unknown member,
 * stale generation): another member may own them already, so nothing of them is committed; the listener's
 * onLost hears of them at the next ensureActive(), before the member joins again without them (KIP-429).
 *
 * All requests go to the coordinator over a connection of this member's own (coordinator-link.ts).
 */
import { type ErrorCode, StreamBusError, toStreamBusError } from '../errors/index.js';
import { ApiKey, fromWireError, type WireError } from '../protocol/index.js';
import {
  assignorByName,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  reconcileAssignment,
} from './assignors/index.js';
import type { Assignor, MemberSubscription, TopicPartition } from './assignors/types.js';
import { type BackoffPolicy, backoffMs, delay } from './backoff.js';
import type { Cluster } from './cluster.js';
import { CoordinatorLink, coordinatorMoved } from './coordinator-link.js';
import type { Random, Timers } from './timers.js';
import { untilAborted } from './until-aborted.js';

export interface MembershipOptions {
  groupId: string;
  /** Static membership: a restart with the same id within the session timeout keeps the assignment. */
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Assignor names in order of preference. */
  assignors: readonly string[];
  retryBackoff: BackoffPolicy;
  /**
   * Consecutive failed joins ensureActive() rides out before it throws the last one (the consumer's
   * `retries`: unbounded by default, so a coordinator outage is a pause). Past it, each ensureActive()
   * tries once more and throws again until a join succeeds, as poll() does for fetches.
   */
  joinRetries: number;
}

/** Called during the join; what they throw comes out of the next ensureActive(), after the join. */
export interface MembershipListener {
  /** Partitions leaving this member: commit their progress here. */
  onRevoked(partitions: TopicPartition[]): Promise<void>;
  /** This member's new full assignment, and which of it is new. */
  onAssigned(assignment: TopicPartition[], added: TopicPartition[]): Promise<void>;
  /** Partitions this member no longer owns because its session ended: too late to commit them. */
  onLost(partitions: TopicPartition[]): Promise<void>;
}

/** Errors after which another try cannot help: they surface from poll(). */
const FATAL: ReadonlySet<ErrorCode> = new Set([
  'FENCED_INSTANCE_ID',
  'INCONSISTENT_GROUP_PROTOCOL',
  'INVALID_SESSION_TIMEOUT',
  'GROUP_MAX_SIZE_REACHED',
  'INVALID_REQUEST',
]);

const PROTOCOL_TYPE = 'consumer';

/** What the leader assigned from: every member's subscribed topics and the partition counts it saw. */
interface AssignedCounts {
  readonly topics: readonly string[];
  readonly counts: ReadonlyMap<string, number>;
}

export class GroupMembership {
  memberId = '';
  generation = -1;
  private protocol: string | null = null;
  private owned: TopicPartition[] = [];
  private topics: string[] = [];
  private rejoinNeeded = true;
  private stable = false;
  private fatal: StreamBusError | null = null;
  /**
   * The first error since ensureActive() last reported one that must reach the application but not fail
   * the join: a listener's, or the assignment's (boxed: anything is thrown).
   */
  private unreported: { error: unknown } | null = null;
  /** The coordinator ended this member's session: what it owns is lost, at the next join. */
  private sessionLost = false;
  private heartbeatTimer: unknown = null;
  private failures = 0;
  /** The last failed join's error once `joinRetries` ran out: the next ensureActive() throws it. */
  private gaveUp: StreamBusError | null = null;
  private closed = false;
  private readonly closing = new AbortController();
  /**
   * The partition count of every subscribed topic when this member, as the group's leader, last assigned
   * (an unknown topic absent); null on other members. A change seen later (partitions added, a topic
   * created) makes the leader rejoin so the new partitions get owners, as Kafka's leader does.
   */
  private assignedCounts: AssignedCounts | null = null;
  /** The join in progress (shared by every ensureActive call until it settles). */
  private joining: Promise<void> | null = null;
  private readonly assignors: Assignor[];
  /** Commits and offset fetches go to the coordinator through this too. */
  readonly coordinator: CoordinatorLink;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: MembershipOptions,
    private readonly listener: MembershipListener,
    private readonly timers: Timers,
    private readonly random: Random,
  ) {
    this.assignors = options.assignors.map((name) => assignorByName(name));
    this.coordinator = new CoordinatorLink(cluster, options.groupId, options.retryBackoff, timers, random);
  }

  /** Changes the subscription; the next ensureActive() rejoins with it. */
  subscribe(topics: readonly string[]): void {
    this.topics = [...new Set(topics)].sort();
    this.rejoinNeeded = true;
  }

  assignment(): TopicPartition[] {
    return [...this.owned];
  }

  /** Whether subscribe() named any topics yet. */
  get subscribed(): boolean {
    return this.topics.length > 0;
  }

  /** Whether commits now carry a valid generation (stable or rebalancing with the current one). */
  get identity(): { memberId: string; generation: number; groupInstanceId: string | null } {
    return {
      memberId: this.memberId,
      generation: this.generation,
      groupInstanceId: this.options.groupInstanceId,
    };
  }

  /**
   * Joins (or rejoins) until this member holds a stable assignment, or `signal` aborts the wait. The join
   * itself is not abandoned with the caller's wait: a JoinGroup answered but never followed by SyncGroup
   * would start the rebalance over for everyone, so the next call waits for the same join. Retriable
   * failures back off and try again; FATAL ones throw, and so does a listener's error, once (after the join).
   */
  async ensureActive(signal: AbortSignal): Promise<void> {
    if (this.fatal !== null) throw this.fatal;
    if (this.rejoinNeeded || !this.stable) {
      this.joining ??= this.joinUntilStable().finally(() => {
        this.joining = null;
      });
      await untilAborted(this.joining, signal);
      if (this.fatal !== null) throw this.fatal;
      const gaveUp = this.gaveUp;
      this.gaveUp = null;
      if (gaveUp !== null) throw gaveUp;
    }
    const failed = this.unreported;
    this.unreported = null;
    if (failed !== null) throw failed.error;
  }

  private async joinUntilStable(): Promise<void> {
    while (!this.closed && (this.rejoinNeeded || !this.stable)) {
      try {
        await this.joinAndSync();
        this.failures = 0;
      } catch (err) {
        const e = toStreamBusError(err, 'group.join');
        if (FATAL.has(e.code)) {
          this.fatal = e;
          return;
        }
        if (e.code === 'UNKNOWN_MEMBER_ID' || e.code === 'ILLEGAL_GENERATION') this.endSession(e.code);
        // Not one of ours: a fault in the assignor or this client, which no retry fixes by itself; it goes
        // on retrying (the group needs this member) but the application hears of it.
        if (!(err instanceof StreamBusError)) this.unreported ??= { error: err };
        if (coordinatorMoved(e)) this.coordinator.drop();
        const outOfRetries = this.failures >= this.options.joinRetries;
        const waitMs = backoffMs(this.failures++, this.options.retryBackoff, this.random);
        // Backing off before giving up too: a caller that polls again at once does not spin on joins.
        await delay(waitMs, this.timers, this.closing.signal).catch(() => undefined);
        if (outOfRetries) {
          this.gaveUp = new StreamBusError(e.code, {
            operation: 'group.join',
            message: `group ${this.options.groupId}: no stable membership after ${this.failures} tries: ${e.message}`,
            metadata: { groupId: this.options.groupId, tries: this.failures },
            cause: e,
          });
          return;
        }
      }
    }
  }

  /** Dynamic members leave (their partitions move at once); static members keep their place. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.stopHeartbeats();
    if (this.options.groupInstanceId === null) await this.leave();
    await this.coordinator.close();
  }

  /** LeaveGroup, best effort: the coordinator removes a silent member after its session timeout anyway. */
  private async leave(): Promise<void> {
    if (this.memberId === '') return;
    await this.coordinator
      .request(ApiKey.LeaveGroup, {
        groupId: this.options.groupId,
        members: [{ memberId: this.memberId, groupInstanceId: this.options.groupInstanceId }],
      })
      .catch(() => undefined);
    this.memberId = '';
  }

  /**
   * The coordinator no longer knows this member (UNKNOWN_MEMBER_ID) or its generation (ILLEGAL_GENERATION):
   * it was removed, and its partitions may be someone else's by now. Commits would be refused; the next join
   * starts afresh (a new member id after UNKNOWN_MEMBER_ID) and first hands what it owned to onLost.
   */
  markSessionLost(code: 'UNKNOWN_MEMBER_ID' | 'ILLEGAL_GENERATION'): void {
    // A join under way settles this itself: sent with the identity the refusal was about, it fails the same
    // way if the session is over, and otherwise starts a new one, which a mark now would end at once.
    if (this.joining !== null) return;
    this.endSession(code);
    this.rejoinNeeded = true;
  }

  private endSession(code: 'UNKNOWN_MEMBER_ID' | 'ILLEGAL_GENERATION'): void {
    if (code === 'UNKNOWN_MEMBER_ID') this.memberId = '';
    this.generation = -1;
    this.sessionLost = true;
  }

  private async joinAndSync(): Promise<void> {
    this.stopHeartbeats();
    this.stable = false;
    if (this.sessionLost) {
      this.sessionLost = false;
      if (this.owned.length > 0) {
        const lost = this.owned;
        this.owned = [];
        await this.notify(() => this.listener.onLost(lost));
      }
    }
    // Eager: everything owned is given up before rejoining (nothing is consumed twice meanwhile).
    if (this.eager() && this.owned.length > 0) {
      const revoked = this.owned;
      this.owned = [];
      await this.notify(() => this.listener.onRevoked(revoked));
    }
    const join = await this.coordinator.request(
      ApiKey.JoinGroup,
      {
        groupId: this.options.groupId,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
        protocolType: PROTOCOL_TYPE,
        protocols: this.assignors.map((a) => ({
          name: a.name,
          metadata: encodeSubscription({
            topics: this.topics,
            ownedPartitions: this.owned,
            generation: this.generation,
          }),
        })),
      },
      this.options.rebalanceTimeoutMs + 5_000,
    );
    if (join.memberId !== '') this.memberId = join.memberId;
    throwIf(join.error, 'group.join');
    if (this.closed) return;
    this.generation = join.generation;
    this.protocol = join.protocol;
    this.assignedCounts = null;
    const assignments =
      join.leaderId === this.memberId && !join.skipAssignment
        ? await this.assign(join.protocol, join.members)
        : [];
    const sync = await this.coordinator.request(
      ApiKey.SyncGroup,
      {
        groupId: this.options.groupId,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
        generation: this.generation,
        assignments,
      },
      this.options.rebalanceTimeoutMs + 5_000,
    );
    throwIf(sync.error, 'group.sync');
    if (!canDecodeAssignment(sync.assignment)) {
      // The leader speaks another client version. Taking the assignment as empty would leave its partitions
      // unread (the leader counts them as this member's), and rejoining would get the same one back, each
      // time rebalancing the whole group: this member leaves instead, so the others take them, and fails.
      await this.leave();
      throw new StreamBusError('INCONSISTENT_GROUP_PROTOCOL', {
        operation: 'group.sync',
        message: "the assignment from the group's leader cannot be decoded: this member left the group",
      });
    }
    const assigned = decodeAssignment(sync.assignment).partitions;
    const change = reconcileAssignment(this.owned, assigned, this.eager() ? 'eager' : 'cooperative');
    if (change.revoked.length > 0) await this.notify(() => this.listener.onRevoked(change.revoked));
    this.owned = assigned;
    await this.notify(() => this.listener.onAssigned(assigned, change.added));
    this.stable = true;
    // Cooperative: what was revoked goes to its new owner in one more rebalance.
    this.rejoinNeeded = !this.eager() && change.rejoin;
    this.scheduleHeartbeat();
  }

  /** Calls a listener; what it throws is kept for ensureActive() rather than failing the join. */
  private async notify(call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (error) {
      this.unreported ??= { error };
    }
  }

  /** The leader's job: run the chosen assignor over every member's subscription. */
  private async assign(
    protocol: string | null,
    members: readonly { memberId: string; groupInstanceId: string | null; metadata: Buffer }[],
  ): Promise<{ memberId: string; assignment: Buffer }[]> {
    const assignor = this.assignors.find((a) => a.name === protocol);
    if (assignor === undefined) {
      throw new StreamBusError('INCONSISTENT_GROUP_PROTOCOL', {
        operation: 'group.assign',
        message: `the coordinator chose assignor ${protocol}, which this member does not have`,
      });
    }
    const subscriptions: MemberSubscription[] = [];
    const undecodable: string[] = [];
    for (const m of members) {
      try {
        const subscription = decodeSubscription(m.metadata);
        subscriptions.push({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, subscription });
      } catch {
        undecodable.push(m.memberId);
      }
    }
    // Such a member gets nothing rather than the whole group nothing (failing here would leave every member
    // waiting for this leader's SyncGroup, and a rejoin would meet the same subscription again).
    if (undecodable.length > 0) {
      this.unreported ??= {
        error: new StreamBusError('INCONSISTENT_GROUP_PROTOCOL', {
          operation: 'group.assign',
          message: `the subscriptions of members ${undecodable.join(', ')} cannot be decoded: they are assigned nothing`,
        }),
      };
    }
    const topics = [...new Set(subscriptions.flatMap((s) => s.subscription.topics))];
    this.cluster.invalidateMetadata(); // new topics or partitions must be seen by the assignment
    const partitionsPerTopic = await this.partitionCounts(topics);
    this.assignedCounts = { topics, counts: partitionsPerTopic };
    const plan = assignor.assign(subscriptions, partitionsPerTopic);
    return members.map((m) => ({
      memberId: m.memberId,
      assignment: encodeAssignment(plan.get(m.memberId) ?? []),
    }));
  }

  /** Partition counts from the client's metadata; an unknown topic is left out (it gets no partitions). */
  private async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const topic of topics) {
      try {
        counts.set(topic, await this.cluster.partitionCount(topic));
      } catch {
        // Unknown for now: a later check or rebalance picks it up once it exists.
      }
    }
    return counts;
  }

  /** The leader's check, with metadata as fresh as the client keeps it (metadataMaxAgeMs). */
  private async partitionsChanged(assigned: AssignedCounts): Promise<boolean> {
    const now = await this.partitionCounts(assigned.topics);
    return assigned.topics.some((t) => assigned.counts.get(t) !== now.get(t));
  }

  private eager(): boolean {
    const assignor = this.assignors.find((a) => a.name === this.protocol);
    return assignor === undefined || assignor.rebalanceProtocol === 'eager';
  }

  private scheduleHeartbeat(delayMs = this.options.heartbeatIntervalMs): void {
    this.stopHeartbeats();
    if (this.closed) return;
    this.heartbeatTimer = this.timers.setTimeout(() => {
      this.heartbeatTimer = null;
      void this.heartbeat();
    }, delayMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) this.timers.clearTimeout(this.heartbeatTimer as never);
    this.heartbeatTimer = null;
  }

  /**
   * One heartbeat, and the next one scheduled. Heartbeats go on after the coordinator asks for a rejoin:
   * the rejoin waits for the application's next poll(), which may take up to the rebalance timeout, and
   * the coordinator removes a member that has not rejoined yet once its session lapses (Kafka's heartbeat
   * thread keeps going too, KIP-62). They stop when the join starts, or when this member's session is
   * over (unknown member, generation gone) and only a new join can help.
   */
  private async heartbeat(): Promise<void> {
    if (this.closed || !this.stable) return;
    const generation = this.generation;
    let sessionOver = false;
    let coordinatorLost = false;
    try {
      // A heartbeat is answered at once by a coordinator that runs. One that stopped answering without
      // closing the connection (paused, cut off) is given up on well inside the session, not after the
      // 30 s request timeout: by then the partition's new coordinator would have expired this member, and
      // its partitions would be read again by others (Kafka's client marks such a coordinator unknown too).
      const res = await this.coordinator.request(
        ApiKey.Heartbeat,
        {
          groupId: this.options.groupId,
          memberId: this.memberId,
          groupInstanceId: this.options.groupInstanceId,
          generation: this.generation,
        },
        heartbeatTimeoutMs(this.options),
      );
      throwIf(res.error, 'group.heartbeat');
      const assigned = this.assignedCounts;
      if (assigned !== null && (await this.partitionsChanged(assigned)) && this.assignedCounts === assigned) {
        this.rejoinNeeded = true;
      }
    } catch (err) {
      // A join started meanwhile (heartbeats now overlap the wait for poll()): it hears the group's news
      // itself, and an answer about the generation before it would only ask for one rebalance too many.
      if (!this.stable || this.generation !== generation) return;
      const e = toStreamBusError(err, 'group.heartbeat');
      if (FATAL.has(e.code)) this.fatal = e;
      else if (e.code === 'UNKNOWN_MEMBER_ID' || e.code === 'ILLEGAL_GENERATION') {
        this.markSessionLost(e.code);
        sessionOver = true;
      } else if (e.code === 'REBALANCE_IN_PROGRESS') {
        this.rejoinNeeded = true;
      } else if (coordinatorMoved(e)) {
        // The new coordinator restored the group: keep heartbeating there, soon (the session runs on).
        this.coordinator.drop();
        coordinatorLost = true;
      }
    }
    if (this.fatal === null && !sessionOver) {
      this.scheduleHeartbeat(coordinatorLost ? HEARTBEAT_RETRY_MS : undefined);
    }
  }
}

/** How soon a heartbeat is tried again after the coordinator moved or stopped answering. */
const HEARTBEAT_RETRY_MS = 200;

/** A third of the session, at least a heartbeat interval: the wait for a heartbeat's answer. */
function heartbeatTimeoutMs(o: { sessionTimeoutMs: number; heartbeatIntervalMs: number }): number {
  return Math.max(o.heartbeatIntervalMs, Math.floor(o.sessionTimeoutMs / 3));
}

function throwIf(error: WireError | null, operation: string): void {
  if (error !== null) throw fromWireError(error, operation);
}

function canDecodeAssignment(assignment: Buffer): boolean {
  try {
    decodeAssignment(assignment);
    return true;
  } catch {
    return false;
  }
}
