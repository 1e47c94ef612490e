/**
 * The shapes a consumer group is made of, shared by the pure membership state machine (group-machine.ts),
 * its persistence in `__consumer_offsets` (group records) and the coordinator that drives both.
 *
 * Protocol metadata and assignments are opaque bytes to the broker: the SDK's assignors define them
 * (src/client/assignors), exactly as Kafka's embedded consumer protocol does.
 */
import type { ErrorCode } from '../../errors/index.js';

/** Kafka's group states: Empty -> PreparingRebalance -> CompletingRebalance -> Stable; Dead once deleted. */
export type GroupPhase = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** One assignor a member supports, with its subscription for that assignor (opaque bytes). */
export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

/** A member as the group knows it (and as it is persisted with the group's generation). */
export interface MemberRecord {
  readonly memberId: string;
  /** Static membership (`group.instance.id`): the same id back within the session timeout keeps its place. */
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** The member's subscription bytes for the generation's chosen protocol. */
  readonly subscription: Buffer;
  /** What the leader assigned it in this generation (empty until SyncGroup completes). */
  readonly assignment: Buffer;
}

/**
 * What survives a coordinator failover: written to the group's `__consumer_offsets` partition whenever a
 * generation completes (leader's SyncGroup) or the group empties, read back by the next coordinator.
 */
export interface GroupSnapshot {
  readonly groupId: string;
  readonly generation: number;
  readonly protocolType: string;
  /** The chosen assignor; null while Empty. */
  readonly protocol: string | null;
  readonly leaderId: string | null;
  readonly members: readonly MemberRecord[];
  /** When this snapshot was written (the coordinator's clock). */
  readonly writtenAtMs: number;
}

export interface JoinGroupInput {
  /** Correlates the (possibly delayed) answer with the waiting request. */
  readonly requestId: number;
  readonly groupId: string;
  /** '' for a member joining for the first time: the coordinator assigns one and returns it. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  /** In the member's order of preference. */
  readonly protocols: readonly GroupProtocol[];
}

export interface JoinGroupResult {
  readonly error: ErrorCode | null;
  /** Why, when the catalogue's message for `error` would leave the member guessing (e.g. the allowed range). */
  readonly errorMessage?: string;
  readonly generation: number;
  readonly protocolType: string;
  readonly protocol: string | null;
  readonly leaderId: string;
  /** The member's id (new members learn theirs here, also on some errors). */
  readonly memberId: string;
  /** The leader only: every member with its subscription for the chosen protocol. Others: empty. */
  readonly members: readonly { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
  /**
   * True when a static leader rejoined a stable group: it gets the members but must not reassign (the
   * group keeps its generation and assignments).
   */
  readonly skipAssignment: boolean;
}

export interface SyncGroupInput {
  readonly requestId: number;
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly generation: number;
  /** Sent by the leader only: member id -> assignment bytes. */
  readonly assignments: readonly { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResult {
  readonly error: ErrorCode | null;
  readonly protocol: string | null;
  readonly assignment: Buffer;
}

export interface HeartbeatInput {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly generation: number;
}

export interface LeaveGroupInput {
  readonly groupId: string;
  readonly members: readonly { memberId: string; groupInstanceId: string | null }[];
}

/** What a member may commit offsets as: the generation and member id checks of OffsetCommit. */
export interface CommitIdentity {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** -1 with member id '' for a commit from outside the group (admin tools, simple consumers). */
  readonly generation: number;
}

/** Describes a group for DescribeGroups / `streambus group describe`. */
export interface GroupDescription {
  readonly groupId: string;
  readonly phase: GroupPhase;
  readonly generation: number;
  readonly protocolType: string;
  readonly protocol: string | null;
  readonly leaderId: string | null;
  readonly members: readonly {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    assignment: Buffer;
  }[];
}

/**
 * What the machine asks its driver to do. Answers to JoinGroup and SyncGroup may wait (the join barrier,
 * the leader's assignment), so they come out as effects tagged with the request they answer.
 */
export type GroupEffect =
  | { readonly kind: 'join-response'; readonly requestId: number; readonly result: JoinGroupResult }
  | { readonly kind: 'sync-response'; readonly requestId: number; readonly result: SyncGroupResult }
  /**
   * Persist this snapshot; once it is durable deliver `then` (SyncGroup answers wait for the write, as in
   * Kafka, so an assignment nobody can recover is never handed out). On failure the driver delivers
   * `otherwise` when there is one, else calls `persistFailed(generation)`.
   */
  | {
      readonly kind: 'persist';
      readonly snapshot: GroupSnapshot;
      readonly then: readonly GroupEffect[];
      readonly otherwise?: readonly GroupEffect[];
    }
  /** A generation completed or the group emptied/died: for metrics and logs. */
  | {
      readonly kind: 'rebalanced';
      readonly generation: number;
      readonly members: number;
      readonly durationMs: number;
    }
  | { readonly kind: 'member-removed'; readonly memberId: string; readonly reason: MemberRemoval };

export type MemberRemoval = 'session-timeout' | 'rebalance-timeout' | 'left' | 'fenced';
