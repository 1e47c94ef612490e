/**
 * One consumer group's membership state machine (Kafka's classic group protocol), pure and deterministic:
 * the coordinator feeds it requests and the current time and carries out the effects it returns (deliver
 * answers, persist snapshots). No clock, timers or randomness inside; member ids come from an injected
 * generator, and `nextDeadlineMs()` tells the driver when to call `tick` next.
 *
 * Choices where Kafka is loose or where this machine differs:
 * - Initial delay: an Empty group's first rebalance waits until `initialRebalanceDelayMs` passes with no new
 *   member joining (each new joiner pushes the end to now + delay), capped at rebalance start + the largest
 *   rebalance timeout. Kafka extends in whole delay steps when its timer fires; the bound is the same.
 * - Rebalance timeout = the largest `rebalanceTimeoutMs` among the members present at the rebalance start or
 *   joining during it, measured from the start (Kafka fixes it at the start; ours only grows, never shrinks).
 *   Members that have not re-joined by then are removed, static ones too (Kafka keeps static ones).
 * - A member waiting on a pending JoinGroup or SyncGroup is never session-expired (Kafka keeps both alive).
 * - The leader must sync within the rebalance timeout from the start of CompletingRebalance, else the group
 *   rebalances again (pending syncs answered REBALANCE_IN_PROGRESS).
 * - A second JoinGroup/SyncGroup from a member whose earlier one is still waiting supersedes it: the older
 *   request is answered REBALANCE_IN_PROGRESS so nothing waits forever.
 * - A static member replaced in a Stable group without a protocol change keeps the generation; the group is
 *   persisted with the new member id before the member is answered (as Kafka stores the group then): a
 *   coordinator taking over from an older snapshot would fence the live member as the one it replaced.
 * - `rebalanced` is emitted when the generation completes (leader's SyncGroup) or the group empties.
 * - After `shutdown()` the machine is Dead and answers everything NOT_COORDINATOR.
 */
import type { ErrorCode } from '../../errors/index.js';
import { invariant } from '../../errors/index.js';
import {
  EMPTY_BYTES,
  type GroupMember,
  joinErrorEffect,
  memberFromJoin,
  sameProtocols,
  selectProtocol,
  supportsProtocols,
  syncEffect,
  updateFromJoin,
} from './group-member.js';
import { GroupState } from './group-state.js';
import type {
  CommitIdentity,
  GroupDescription,
  GroupEffect,
  GroupPhase,
  GroupSnapshot,
  HeartbeatInput,
  JoinGroupInput,
  LeaveGroupInput,
  SyncGroupInput,
} from './group-types.js';

export interface GroupMachineOptions {
  /** Kafka `group.initial.rebalance.delay.ms`: how long an Empty group's first rebalance waits for joiners. */
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Most members the group admits. */
  maxSize: number;
  newMemberId(clientId: string): string;
}

export interface LeaveOutcome {
  results: { memberId: string; groupInstanceId: string | null; error: ErrorCode | null }[];
  effects: GroupEffect[];
}

export class GroupMachine {
  private s: GroupState;

  constructor(
    readonly groupId: string,
    private readonly options: GroupMachineOptions,
  ) {
    invariant(options.initialRebalanceDelayMs >= 0, 'initialRebalanceDelayMs must be >= 0');
    invariant(options.minSessionTimeoutMs <= options.maxSessionTimeoutMs, 'min session timeout above max');
    invariant(options.maxSize >= 1, 'maxSize must be >= 1');
    this.s = new GroupState(groupId, options.initialRebalanceDelayMs);
  }

  /** A new coordinator after failover: members from the snapshot, Stable (Empty if none), fresh sessions. */
  static restore(snapshot: GroupSnapshot, options: GroupMachineOptions, nowMs: number): GroupMachine {
    const g = new GroupMachine(snapshot.groupId, options);
    g.s = GroupState.fromSnapshot(snapshot, options.initialRebalanceDelayMs, nowMs);
    return g;
  }

  get phase(): GroupPhase {
    return this.s.phase;
  }
  get generation(): number {
    return this.s.generation;
  }
  get memberCount(): number {
    return this.s.members.size;
  }
  get protocolType(): string {
    return this.s.protocolType;
  }

  /** Every member's subscription bytes, for every assignor it offered (OffsetDelete reads their topics). */
  subscriptions(): Buffer[] {
    return [...this.s.members.values()].flatMap((m) => m.protocols.map((p) => p.metadata));
  }

  join(input: JoinGroupInput, nowMs: number): GroupEffect[] {
    if (this.s.phase === 'Dead') return [joinErrorEffect(input.requestId, input.memberId, 'NOT_COORDINATOR')];
    const { minSessionTimeoutMs: min, maxSessionTimeoutMs: max } = this.options;
    if (input.sessionTimeoutMs < min || input.sessionTimeoutMs > max) {
      // The bounds are the broker's config: a member cannot know them unless the refusal says them.
      const message = `session timeout ${input.sessionTimeoutMs} ms is outside the broker's groups.session_timeout_min..max (${min}..${max} ms)`;
      return [joinErrorEffect(input.requestId, input.memberId, 'INVALID_SESSION_TIMEOUT', message)];
    }
    if (input.memberId === '') {
      const holder =
        input.groupInstanceId === null ? undefined : this.s.staticMembers.get(input.groupInstanceId);
      return holder === undefined
        ? this.joinNewMember(input, nowMs)
        : this.replaceStaticMember(input, holder, nowMs);
    }
    const error = this.s.checkIdentity(input.memberId, input.groupInstanceId);
    if (error !== null) return [joinErrorEffect(input.requestId, input.memberId, error)];
    return this.joinKnownMember(this.s.member(input.memberId), input, nowMs);
  }

  sync(input: SyncGroupInput, nowMs: number): GroupEffect[] {
    const answer = (error: ErrorCode): GroupEffect[] => [
      syncEffect(input.requestId, error, null, EMPTY_BYTES),
    ];
    if (this.s.phase === 'Dead') return answer('NOT_COORDINATOR');
    const error = this.s.checkIdentity(input.memberId, input.groupInstanceId);
    if (error !== null) return answer(error);
    if (input.generation !== this.s.generation) return answer('ILLEGAL_GENERATION');
    const m = this.s.member(input.memberId);
    m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
    if (this.s.phase === 'PreparingRebalance') return answer('REBALANCE_IN_PROGRESS');
    if (this.s.phase === 'Stable') return [syncEffect(input.requestId, null, this.s.protocol, m.assignment)];
    invariant(this.s.phase === 'CompletingRebalance', `sync in phase ${this.s.phase}`);
    const effects: GroupEffect[] = [];
    if (m.pendingSyncRequestId !== null) {
      effects.push(syncEffect(m.pendingSyncRequestId, 'REBALANCE_IN_PROGRESS', null, EMPTY_BYTES));
    }
    m.pendingSyncRequestId = input.requestId;
    if (m.memberId === this.s.leaderId) this.s.completeSync(input.assignments, nowMs, effects);
    return effects;
  }

  heartbeat(input: HeartbeatInput, nowMs: number): ErrorCode | null {
    if (this.s.phase === 'Dead') return 'NOT_COORDINATOR';
    const error = this.s.checkIdentity(input.memberId, input.groupInstanceId);
    if (error !== null) return error;
    if (input.generation !== this.s.generation) return 'ILLEGAL_GENERATION';
    const m = this.s.member(input.memberId);
    m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
    return this.s.phase === 'PreparingRebalance' ? 'REBALANCE_IN_PROGRESS' : null;
  }

  leave(input: LeaveGroupInput, nowMs: number): LeaveOutcome {
    const results: LeaveOutcome['results'] = [];
    const effects: GroupEffect[] = [];
    let removed = false;
    for (const { memberId, groupInstanceId } of input.members) {
      const result = (error: ErrorCode | null) => results.push({ memberId, groupInstanceId, error });
      if (this.s.phase === 'Dead') {
        result('NOT_COORDINATOR');
        continue;
      }
      // By instance id a member id may be omitted (admin removal, as Kafka's KIP-345 allows).
      const target =
        groupInstanceId === null ? memberId : (this.s.staticMembers.get(groupInstanceId) ?? memberId);
      const error =
        groupInstanceId !== null && memberId === '' && this.s.staticMembers.has(groupInstanceId)
          ? null
          : this.s.checkIdentity(memberId, groupInstanceId);
      if (error === null) {
        this.s.removeMember(this.s.member(target), 'left', 'UNKNOWN_MEMBER_ID', effects);
        removed = true;
      }
      result(error);
    }
    if (removed) this.s.afterRemoval(nowMs, effects);
    return { results, effects };
  }

  tick(nowMs: number): GroupEffect[] {
    if (this.s.phase === 'Dead') return [];
    const effects: GroupEffect[] = [];
    const expired = [...this.s.members.values()].filter(
      (m) => this.s.sessionExpires(m) && nowMs >= m.sessionDeadlineMs,
    );
    for (const m of expired) this.s.removeMember(m, 'session-timeout', 'UNKNOWN_MEMBER_ID', effects);
    if (expired.length > 0) this.s.afterRemoval(nowMs, effects);
    if (this.s.phase === 'PreparingRebalance') {
      const delayEnd = this.s.initialDelayEndMs;
      if (delayEnd !== null && nowMs >= delayEnd) this.s.initialDelayEndMs = null;
      if (nowMs >= this.s.rebalanceDeadlineMs()) this.s.completeJoin(nowMs, effects);
      else this.s.maybeCompleteJoin(nowMs, effects);
    } else if (this.s.phase === 'CompletingRebalance' && nowMs >= (this.s.syncDeadlineMs ?? Infinity)) {
      // The leader never sent its assignment in time: start over rather than keep followers waiting.
      this.s.prepareRebalance(nowMs, false, effects);
    }
    return effects;
  }

  /** The earliest time at which `tick` will act, or null when nothing is scheduled. */
  nextDeadlineMs(): number | null {
    if (this.s.phase === 'Dead') return null;
    const times: number[] = [];
    for (const m of this.s.members.values()) if (this.s.sessionExpires(m)) times.push(m.sessionDeadlineMs);
    if (this.s.phase === 'PreparingRebalance') {
      times.push(this.s.rebalanceDeadlineMs());
      if (this.s.initialDelayEndMs !== null) times.push(this.s.initialDelayEndMs);
    }
    if (this.s.phase === 'CompletingRebalance' && this.s.syncDeadlineMs !== null) {
      times.push(this.s.syncDeadlineMs);
    }
    return times.length === 0 ? null : Math.min(...times);
  }

  persistFailed(generation: number, nowMs: number): GroupEffect[] {
    if (this.s.phase === 'Dead' || this.s.lastPersist?.generation !== generation) return [];
    const effects: GroupEffect[] = this.s.lastPersist.answers.map((a) =>
      a.kind === 'sync-response'
        ? syncEffect(a.requestId, 'COORDINATOR_NOT_AVAILABLE', null, EMPTY_BYTES)
        : a,
    );
    this.s.lastPersist = null;
    if (generation === this.s.generation && this.s.phase === 'Stable') {
      this.s.prepareRebalance(nowMs, false, effects);
      this.s.maybeCompleteJoin(nowMs, effects);
    }
    return effects;
  }

  /**
   * OffsetCommit's checks, in Kafka's order. generation -1 commits (admin tools, simple consumers) are
   * accepted only while the group is Empty; against a live group they get UNKNOWN_MEMBER_ID, as Kafka.
   */
  validateCommit(identity: CommitIdentity, nowMs: number): ErrorCode | null {
    if (this.s.phase === 'Dead') return 'NOT_COORDINATOR';
    if (identity.generation < 0 && this.s.phase === 'Empty') return null;
    if (identity.generation < 0 && identity.memberId === '' && identity.groupInstanceId === null) {
      return 'UNKNOWN_MEMBER_ID';
    }
    const error = this.s.checkIdentity(identity.memberId, identity.groupInstanceId);
    if (error !== null) return error;
    if (identity.generation !== this.s.generation) return 'ILLEGAL_GENERATION';
    // The member holds the new generation but not yet its assignment: it cannot own what it commits.
    if (this.s.phase === 'CompletingRebalance') return 'REBALANCE_IN_PROGRESS';
    const m = this.s.member(identity.memberId);
    m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
    return null;
  }

  shutdown(): GroupEffect[] {
    const effects: GroupEffect[] = [];
    for (const m of this.s.members.values()) this.s.answerPending(m, 'NOT_COORDINATOR', effects);
    this.s.phase = 'Dead';
    this.s.lastPersist = null;
    return effects;
  }

  describe(): GroupDescription {
    return this.s.describe();
  }

  snapshot(nowMs: number): GroupSnapshot {
    return this.s.snapshot(nowMs);
  }

  // --- joins -------------------------------------------------------------------------------------------

  private joinNewMember(input: JoinGroupInput, nowMs: number): GroupEffect[] {
    const all = [...this.s.members.values()];
    if (!supportsProtocols(this.s.protocolType, all, input.protocolType, input.protocols)) {
      return [joinErrorEffect(input.requestId, '', 'INCONSISTENT_GROUP_PROTOCOL')];
    }
    if (this.s.members.size >= this.options.maxSize) {
      return [joinErrorEffect(input.requestId, '', 'GROUP_MAX_SIZE_REACHED')];
    }
    const memberId = this.options.newMemberId(input.clientId);
    invariant(memberId !== '' && !this.s.members.has(memberId), `member id generator repeated '${memberId}'`);
    const m = memberFromJoin(memberId, input, nowMs, EMPTY_BYTES);
    this.s.members.set(memberId, m);
    if (m.groupInstanceId !== null) this.s.staticMembers.set(m.groupInstanceId, memberId);
    if (this.s.members.size === 1) this.s.protocolType = input.protocolType;
    const effects: GroupEffect[] = [];
    this.s.widenRebalance(m);
    if (this.s.phase === 'PreparingRebalance' && this.s.initialDelayEndMs !== null) {
      const cap = this.s.rebalanceDeadlineMs();
      this.s.initialDelayEndMs = Math.max(
        this.s.initialDelayEndMs,
        Math.min(nowMs + this.options.initialRebalanceDelayMs, cap),
      );
    }
    this.awaitRebalance(m, input.requestId, nowMs, effects);
    return effects;
  }

  private joinKnownMember(m: GroupMember, input: JoinGroupInput, nowMs: number): GroupEffect[] {
    const others = [...this.s.members.values()].filter((o) => o !== m);
    if (!supportsProtocols(this.s.protocolType, others, input.protocolType, input.protocols)) {
      return [joinErrorEffect(input.requestId, m.memberId, 'INCONSISTENT_GROUP_PROTOCOL')];
    }
    m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
    const unchanged = sameProtocols(m.protocols, input.protocols);
    const isLeader = m.memberId === this.s.leaderId;
    // A member that missed its JoinGroup answer, or a follower re-joining a stable group, gets the current
    // generation back; the leader re-joining a stable group asks for a new assignment (Kafka).
    if (unchanged && (this.s.phase === 'CompletingRebalance' || (this.s.phase === 'Stable' && !isLeader))) {
      return [this.s.currentGenerationAnswer(m, input.requestId, false)];
    }
    const effects: GroupEffect[] = [];
    updateFromJoin(m, input);
    this.awaitRebalance(m, input.requestId, nowMs, effects);
    return effects;
  }

  /** A known group.instance.id with member id '': the new id takes the old member's place; the old is fenced. */
  private replaceStaticMember(input: JoinGroupInput, oldId: string, nowMs: number): GroupEffect[] {
    const old = this.s.member(oldId);
    const others = [...this.s.members.values()].filter((o) => o !== old);
    if (!supportsProtocols(this.s.protocolType, others, input.protocolType, input.protocols)) {
      return [joinErrorEffect(input.requestId, '', 'INCONSISTENT_GROUP_PROTOCOL')];
    }
    const memberId = this.options.newMemberId(input.clientId);
    invariant(memberId !== '' && !this.s.members.has(memberId), `member id generator repeated '${memberId}'`);
    const effects: GroupEffect[] = [];
    this.s.answerPending(old, 'FENCED_INSTANCE_ID', effects);
    const m = memberFromJoin(memberId, input, nowMs, old.assignment);
    // Keep the old member's place in join order, so leader succession does not change.
    this.s.members = new Map([...this.s.members].map(([id, o]) => (id === oldId ? [memberId, m] : [id, o])));
    invariant(old.groupInstanceId !== null, 'only a static member is replaced');
    this.s.staticMembers.set(old.groupInstanceId, memberId);
    if (this.s.leaderId === oldId) this.s.leaderId = memberId;
    effects.push({ kind: 'member-removed', memberId: oldId, reason: 'fenced' });
    if (this.s.phase === 'Stable' && this.keepsAssignment(old, m)) {
      effects.push({
        kind: 'persist',
        snapshot: this.s.snapshot(nowMs),
        // biome-ignore lint/suspicious/noThenProperty: group-types.ts names the persist continuation 'then'
        then: [this.s.currentGenerationAnswer(m, input.requestId, true)],
        // Not durable: the member joins again (with its instance id, replacing this id) rather than hold
        // an id a new coordinator would not know.
        otherwise: [joinErrorEffect(input.requestId, '', 'COORDINATOR_NOT_AVAILABLE')],
      });
      return effects;
    }
    this.awaitRebalance(m, input.requestId, nowMs, effects);
    return effects;
  }

  /**
   * A static replacement keeps the generation while the vote still chooses the generation's protocol
   * (Kafka's check). Its subscription bytes are not compared: a restarted member's differ by construction
   * (they carry what it owned, which a new process does not know), so comparing them would rebalance on
   * every restart. A static member restarted with different topics therefore keeps its old assignment
   * until the next rebalance.
   */
  private keepsAssignment(_old: GroupMember, replacement: GroupMember): boolean {
    const protocol = this.s.protocol;
    if (protocol === null || !replacement.protocols.some((p) => p.name === protocol)) return false;
    const all = [...this.s.members.values()];
    const leader = (this.s.leaderId === null ? undefined : this.s.members.get(this.s.leaderId)) ?? all[0];
    return leader !== undefined && selectProtocol(leader, all) === protocol;
  }

  /** Parks the member's join at the barrier, starting a rebalance if none is under way. */
  private awaitRebalance(m: GroupMember, requestId: number, nowMs: number, effects: GroupEffect[]): void {
    if (m.pendingJoinRequestId !== null) {
      effects.push(joinErrorEffect(m.pendingJoinRequestId, m.memberId, 'REBALANCE_IN_PROGRESS'));
    }
    m.pendingJoinRequestId = requestId;
    if (this.s.phase !== 'PreparingRebalance') {
      this.s.prepareRebalance(nowMs, this.s.phase === 'Empty', effects);
    }
    this.s.widenRebalance(m);
    this.s.maybeCompleteJoin(nowMs, effects);
  }

  // --- small queries -----------------------------------------------------------------------------------
}
