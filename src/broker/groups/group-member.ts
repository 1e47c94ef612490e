/**
 * A consumer group member as the state machine tracks it, plus the small pure helpers the machine uses to
 * compare and choose assignor protocols and to build answers. No clock, no I/O.
 */
import type { ErrorCode } from '../../errors/index.js';
import { invariant } from '../../errors/index.js';
import type {
  GroupEffect,
  GroupProtocol,
  JoinGroupInput,
  JoinGroupResult,
  MemberRecord,
} from './group-types.js';

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

/** Mutable bookkeeping for one member; never leaves the machine (MemberRecord is the public shape). */
export interface GroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** In the member's order of preference. After a restore only the chosen protocol is known (as Kafka). */
  protocols: readonly GroupProtocol[];
  assignment: Buffer;
  sessionDeadlineMs: number;
  /** The JoinGroup request waiting at the barrier (PreparingRebalance only). */
  pendingJoinRequestId: number | null;
  /** The SyncGroup request waiting for the leader's assignment (CompletingRebalance only). */
  pendingSyncRequestId: number | null;
}

/** A member as a JoinGroup describes it (a static replacement passes the assignment it inherits). */
export function memberFromJoin(
  memberId: string,
  input: JoinGroupInput,
  nowMs: number,
  assignment: Buffer,
): GroupMember {
  return {
    memberId,
    groupInstanceId: input.groupInstanceId,
    clientId: input.clientId,
    clientHost: input.clientHost,
    sessionTimeoutMs: input.sessionTimeoutMs,
    rebalanceTimeoutMs: input.rebalanceTimeoutMs,
    protocols: input.protocols,
    assignment,
    sessionDeadlineMs: nowMs + input.sessionTimeoutMs,
    pendingJoinRequestId: null,
    pendingSyncRequestId: null,
  };
}

export function updateFromJoin(m: GroupMember, input: JoinGroupInput): void {
  m.clientId = input.clientId;
  m.clientHost = input.clientHost;
  m.sessionTimeoutMs = input.sessionTimeoutMs;
  m.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
  m.protocols = input.protocols;
}

/** Kafka's `matches`: the same protocols, in the same order, with the same metadata bytes. */
export function sameProtocols(a: readonly GroupProtocol[], b: readonly GroupProtocol[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => {
    const q = b[i];
    return q !== undefined && p.name === q.name && p.metadata.equals(q.metadata);
  });
}

/** Names every given member supports (the candidates a protocol is chosen from). */
function commonProtocolNames(members: readonly GroupMember[]): Set<string> {
  const [first, ...rest] = members;
  const names = new Set(first === undefined ? [] : first.protocols.map((p) => p.name));
  for (const m of rest) {
    const own = new Set(m.protocols.map((p) => p.name));
    for (const n of names) if (!own.has(n)) names.delete(n);
  }
  return names;
}

/**
 * Can a member with this protocol type and these protocols join alongside `others`? An empty type or an
 * empty protocol list never can; with nobody else any can; otherwise the type must match the group's and
 * the member must support at least one protocol every other member supports.
 */
export function supportsProtocols(
  groupProtocolType: string,
  others: readonly GroupMember[],
  protocolType: string,
  protocols: readonly GroupProtocol[],
): boolean {
  if (protocolType === '' || protocols.length === 0) return false;
  if (others.length === 0) return true;
  if (protocolType !== groupProtocolType) return false;
  const common = commonProtocolNames(others);
  return protocols.some((p) => common.has(p.name));
}

/**
 * Chooses the generation's assignor: among the protocols every member supports, each member votes for
 * its most preferred one; most votes wins. Ties go to the protocol the leader prefers (Kafka leaves ties
 * to map iteration order; we make them deterministic).
 */
export function selectProtocol(leader: GroupMember, members: readonly GroupMember[]): string {
  const common = commonProtocolNames(members);
  invariant(common.size > 0, 'group members share no protocol (join should have refused one)');
  const votes = new Map<string, number>();
  for (const m of members) {
    const choice = m.protocols.find((p) => common.has(p.name));
    if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestVotes = -1;
  for (const p of leader.protocols) {
    const v = votes.get(p.name) ?? 0;
    if (common.has(p.name) && v > bestVotes) {
      best = p.name;
      bestVotes = v;
    }
  }
  invariant(best !== null, 'the leader supports no common protocol');
  return best;
}

/** The member's subscription bytes for the chosen protocol (empty if it has none). */
export function subscriptionFor(member: GroupMember, protocol: string | null): Buffer {
  return member.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
}

export function toRecord(member: GroupMember, protocol: string | null): MemberRecord {
  return {
    memberId: member.memberId,
    groupInstanceId: member.groupInstanceId,
    clientId: member.clientId,
    clientHost: member.clientHost,
    sessionTimeoutMs: member.sessionTimeoutMs,
    rebalanceTimeoutMs: member.rebalanceTimeoutMs,
    subscription: subscriptionFor(member, protocol),
    assignment: member.assignment,
  };
}

export function joinErrorEffect(
  requestId: number,
  memberId: string,
  error: ErrorCode,
  errorMessage?: string,
): GroupEffect {
  const result: JoinGroupResult = {
    error,
    ...(errorMessage === undefined ? {} : { errorMessage }),
    generation: -1,
    protocolType: '',
    protocol: null,
    leaderId: '',
    memberId,
    members: [],
    skipAssignment: false,
  };
  return { kind: 'join-response', requestId, result };
}

export function syncEffect(
  requestId: number,
  error: ErrorCode | null,
  protocol: string | null,
  assignment: Buffer,
): GroupEffect {
  return { kind: 'sync-response', requestId, result: { error, protocol, assignment } };
}
