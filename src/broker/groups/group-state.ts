/**
 * The data of one consumer group and the phase transitions every request path shares (the barrier, the
 * leader's sync, removals, emptying). GroupMachine (group-machine.ts) owns the request handlers and is the
 * only user; nothing here reads a clock or does I/O.
 */
import type { ErrorCode } from '../../errors/index.js';
import { invariant } from '../../errors/index.js';
import {
  EMPTY_BYTES,
  type GroupMember,
  joinErrorEffect,
  selectProtocol,
  subscriptionFor,
  syncEffect,
  toRecord,
} from './group-member.js';
import type {
  GroupDescription,
  GroupEffect,
  GroupPhase,
  GroupSnapshot,
  MemberRemoval,
  SyncGroupInput,
} from './group-types.js';

export class GroupState {
  phase: GroupPhase = 'Empty';
  generation = 0;
  protocolType = '';
  protocol: string | null = null;
  leaderId: string | null = null;
  /** Insertion order = join order: the first member becomes leader when the old one is gone. */
  members = new Map<string, GroupMember>();
  /** group.instance.id -> the member id currently holding it. */
  readonly staticMembers = new Map<string, string>();
  rebalanceStartMs = 0;
  /**
   * The current rebalance's timeout: the largest rebalanceTimeoutMs of the members present when it began or
   * joining during it. It never shrinks mid-rebalance (a member leaving does not pull the deadline into the
   * past); Kafka fixes it when the rebalance begins.
   */
  rebalanceTimeoutMs = 0;
  initialDelayEndMs: number | null = null;
  syncDeadlineMs: number | null = null;
  /** The answers riding on the last generation's persist, re-answered with an error if it fails. */
  lastPersist: { generation: number; answers: readonly GroupEffect[] } | null = null;

  constructor(
    readonly groupId: string,
    private readonly initialRebalanceDelayMs: number,
  ) {}

  static fromSnapshot(snapshot: GroupSnapshot, initialRebalanceDelayMs: number, nowMs: number): GroupState {
    const g = new GroupState(snapshot.groupId, initialRebalanceDelayMs);
    g.generation = snapshot.generation;
    g.protocolType = snapshot.protocolType;
    for (const r of snapshot.members) {
      invariant(snapshot.protocol !== null, 'a snapshot with members has a protocol');
      g.members.set(r.memberId, {
        memberId: r.memberId,
        groupInstanceId: r.groupInstanceId,
        clientId: r.clientId,
        clientHost: r.clientHost,
        sessionTimeoutMs: r.sessionTimeoutMs,
        rebalanceTimeoutMs: r.rebalanceTimeoutMs,
        protocols: [{ name: snapshot.protocol, metadata: r.subscription }],
        assignment: r.assignment,
        sessionDeadlineMs: nowMs + r.sessionTimeoutMs,
        pendingJoinRequestId: null,
        pendingSyncRequestId: null,
      });
      if (r.groupInstanceId !== null) g.staticMembers.set(r.groupInstanceId, r.memberId);
    }
    if (g.members.size > 0) {
      g.phase = 'Stable';
      g.protocol = snapshot.protocol;
      g.leaderId = snapshot.leaderId !== null && g.members.has(snapshot.leaderId) ? snapshot.leaderId : null;
    }
    return g;
  }

  describe(): GroupDescription {
    return {
      groupId: this.groupId,
      phase: this.phase,
      generation: this.generation,
      protocolType: this.protocolType,
      protocol: this.protocol,
      leaderId: this.leaderId,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: m.assignment,
      })),
    };
  }

  snapshot(nowMs: number): GroupSnapshot {
    return {
      groupId: this.groupId,
      generation: this.generation,
      protocolType: this.protocolType,
      protocol: this.protocol,
      leaderId: this.leaderId,
      members: [...this.members.values()].map((m) => toRecord(m, this.protocol)),
      writtenAtMs: nowMs,
    };
  }

  prepareRebalance(nowMs: number, initialDelay: boolean, effects: GroupEffect[]): void {
    // Syncs waiting on a generation that will never complete must learn it now. Their session was on hold
    // while they waited, so it restarts from this answer (as Kafka does).
    for (const m of this.members.values()) {
      if (m.pendingSyncRequestId !== null) {
        effects.push(syncEffect(m.pendingSyncRequestId, 'REBALANCE_IN_PROGRESS', null, EMPTY_BYTES));
        m.pendingSyncRequestId = null;
        m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
      }
    }
    this.phase = 'PreparingRebalance';
    this.rebalanceStartMs = nowMs;
    this.rebalanceTimeoutMs = this.maxRebalanceTimeoutMs();
    this.syncDeadlineMs = null;
    this.initialDelayEndMs =
      initialDelay && this.initialRebalanceDelayMs > 0
        ? Math.min(nowMs + this.initialRebalanceDelayMs, this.rebalanceDeadlineMs())
        : null;
  }

  /** Completes the barrier once every member waits on a join (and the initial delay is over). */
  maybeCompleteJoin(nowMs: number, effects: GroupEffect[]): void {
    if (this.phase !== 'PreparingRebalance') return;
    if (this.members.size > 0) {
      if (this.initialDelayEndMs !== null) return;
      for (const m of this.members.values()) if (m.pendingJoinRequestId === null) return;
    }
    this.completeJoin(nowMs, effects);
  }

  completeJoin(nowMs: number, effects: GroupEffect[]): void {
    for (const m of [...this.members.values()]) {
      // Only reached with non-joiners when the rebalance timeout has passed.
      if (m.pendingJoinRequestId === null) {
        this.removeMember(m, 'rebalance-timeout', 'UNKNOWN_MEMBER_ID', effects);
      }
    }
    this.initialDelayEndMs = null;
    this.generation += 1;
    if (this.members.size === 0) {
      this.becomeEmpty(nowMs, effects);
      return;
    }
    const all = [...this.members.values()];
    const leader = (this.leaderId === null ? undefined : this.members.get(this.leaderId)) ?? all[0];
    invariant(leader !== undefined, 'a non-empty group has a leader candidate');
    this.leaderId = leader.memberId;
    this.protocol = selectProtocol(leader, all);
    this.phase = 'CompletingRebalance';
    this.syncDeadlineMs = nowMs + this.maxRebalanceTimeoutMs();
    const leaderMembers = this.memberMetadata();
    for (const m of all) {
      const requestId = m.pendingJoinRequestId;
      invariant(requestId !== null, 'every member left at the barrier has a pending join');
      m.pendingJoinRequestId = null;
      m.assignment = EMPTY_BYTES;
      m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
      const isLeader = m === leader;
      effects.push({
        kind: 'join-response',
        requestId,
        result: {
          error: null,
          generation: this.generation,
          protocolType: this.protocolType,
          protocol: this.protocol,
          leaderId: leader.memberId,
          memberId: m.memberId,
          members: isLeader ? leaderMembers : [],
          skipAssignment: false,
        },
      });
    }
  }

  completeSync(assignments: SyncGroupInput['assignments'], nowMs: number, effects: GroupEffect[]): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    const answers: GroupEffect[] = [];
    for (const m of this.members.values()) {
      m.assignment = byMember.get(m.memberId) ?? EMPTY_BYTES;
      if (m.pendingSyncRequestId !== null) {
        answers.push(syncEffect(m.pendingSyncRequestId, null, this.protocol, m.assignment));
        m.pendingSyncRequestId = null;
        m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
      }
    }
    this.phase = 'Stable';
    this.syncDeadlineMs = null;
    this.lastPersist = { generation: this.generation, answers };
    // biome-ignore lint/suspicious/noThenProperty: group-types.ts names the persist continuation 'then'
    effects.push({ kind: 'persist', snapshot: this.snapshot(nowMs), then: answers });
    effects.push(this.rebalancedEffect(nowMs));
  }

  becomeEmpty(nowMs: number, effects: GroupEffect[]): void {
    this.phase = 'Empty';
    this.protocol = null;
    this.leaderId = null;
    this.syncDeadlineMs = null;
    this.initialDelayEndMs = null;
    // biome-ignore lint/suspicious/noThenProperty: group-types.ts names the persist continuation 'then'
    effects.push({ kind: 'persist', snapshot: this.snapshot(nowMs), then: [] });
    effects.push(this.rebalancedEffect(nowMs));
  }

  rebalancedEffect(nowMs: number): GroupEffect {
    return {
      kind: 'rebalanced',
      generation: this.generation,
      members: this.members.size,
      durationMs: nowMs - this.rebalanceStartMs,
    };
  }

  /** After members were removed: a settled group rebalances; a rebalancing one may now pass its barrier. */
  afterRemoval(nowMs: number, effects: GroupEffect[]): void {
    if (this.phase === 'Stable' || this.phase === 'CompletingRebalance') {
      this.prepareRebalance(nowMs, false, effects);
    }
    this.maybeCompleteJoin(nowMs, effects);
  }

  removeMember(m: GroupMember, reason: MemberRemoval, pendingError: ErrorCode, effects: GroupEffect[]) {
    this.answerPending(m, pendingError, effects);
    this.members.delete(m.memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === m.memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    if (this.leaderId === m.memberId) this.leaderId = null;
    effects.push({ kind: 'member-removed', memberId: m.memberId, reason });
  }

  answerPending(m: GroupMember, error: ErrorCode, effects: GroupEffect[]): void {
    if (m.pendingJoinRequestId !== null) {
      effects.push(joinErrorEffect(m.pendingJoinRequestId, m.memberId, error));
    }
    if (m.pendingSyncRequestId !== null) {
      effects.push(syncEffect(m.pendingSyncRequestId, error, null, EMPTY_BYTES));
    }
    m.pendingJoinRequestId = null;
    m.pendingSyncRequestId = null;
  }

  /**
   * Kafka's validateMember: with an instance id, it must map to this member id (another holder means this
   * id was fenced); a known member id claiming a different instance id is fenced too. Without an instance
   * id the member id must be known (Kafka accepts a static member that omits its instance id).
   */
  checkIdentity(memberId: string, groupInstanceId: string | null): ErrorCode | null {
    if (groupInstanceId !== null) {
      const holder = this.staticMembers.get(groupInstanceId);
      if (holder === memberId) return null;
      if (holder !== undefined || this.members.has(memberId)) return 'FENCED_INSTANCE_ID';
      return 'UNKNOWN_MEMBER_ID';
    }
    return this.members.has(memberId) ? null : 'UNKNOWN_MEMBER_ID';
  }

  member(memberId: string): GroupMember {
    const m = this.members.get(memberId);
    invariant(m !== undefined, `member ${memberId} is not in the group`);
    return m;
  }

  /** Members waiting on a join or sync are kept alive: the coordinator, not the client, is slow. */
  sessionExpires(m: GroupMember): boolean {
    return m.pendingJoinRequestId === null && m.pendingSyncRequestId === null;
  }

  maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  rebalanceDeadlineMs(): number {
    return this.rebalanceStartMs + this.rebalanceTimeoutMs;
  }

  /** A member joining a rebalance under way may bring a longer rebalance timeout. */
  widenRebalance(m: GroupMember): void {
    if (this.phase === 'PreparingRebalance') {
      this.rebalanceTimeoutMs = Math.max(this.rebalanceTimeoutMs, m.rebalanceTimeoutMs);
    }
  }

  memberMetadata(): { memberId: string; groupInstanceId: string | null; metadata: Buffer }[] {
    return [...this.members.values()].map((o) => ({
      memberId: o.memberId,
      groupInstanceId: o.groupInstanceId,
      metadata: subscriptionFor(o, this.protocol),
    }));
  }

  currentGenerationAnswer(m: GroupMember, requestId: number, skipAssignment: boolean): GroupEffect {
    const isLeader = m.memberId === this.leaderId;
    return {
      kind: 'join-response',
      requestId,
      result: {
        error: null,
        generation: this.generation,
        protocolType: this.protocolType,
        protocol: this.protocol,
        leaderId: this.leaderId ?? '',
        memberId: m.memberId,
        members: isLeader ? this.memberMetadata() : [],
        skipAssignment: isLeader && skipAssignment,
      },
    };
  }
}
