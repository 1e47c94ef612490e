/**
 * The consumer-group APIs' bodies (version 0): finding a group's coordinator, the membership protocol
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed offsets (OffsetCommit, OffsetFetch) and group
 * administration (ListGroups, DescribeGroups, DeleteGroups, OffsetDelete). Same conventions as messages.ts.
 *
 * Subscriptions (`protocols[].metadata`) and assignments are opaque bytes to the broker: the SDK's assignors
 * (src/client/assignors) define them, as Kafka's embedded consumer protocol does.
 */
import type { WireError } from './messages.js';

// FindCoordinator
export interface FindCoordinatorRequest {
  groupId: string;
}
export interface FindCoordinatorResponse {
  error: WireError | null;
  /** The broker leading the group's `__consumer_offsets` partition; -1 with an error. */
  nodeId: number;
  host: string;
  port: number;
}

// JoinGroup
export interface JoinGroupRequest {
  groupId: string;
  /** '' on a member's first join: the coordinator assigns one and returns it. */
  memberId: string;
  /** Static membership (Kafka's group.instance.id); null for a dynamic member. */
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  /** How long the coordinator waits for every member to rejoin during a rebalance. */
  rebalanceTimeoutMs: number;
  /** 'consumer' for the SDK's consumers. */
  protocolType: string;
  /** Assignor names with this member's subscription for each, in order of preference. */
  protocols: { name: string; metadata: Buffer }[];
}
export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}
export interface JoinGroupResponse {
  error: WireError | null;
  generation: number;
  protocolType: string;
  /** The chosen assignor; null with an error. */
  protocol: string | null;
  leaderId: string;
  memberId: string;
  /** The leader only: every member with its subscription for the chosen assignor. */
  members: JoinGroupMember[];
  /** A static leader rejoining a stable group: it must not compute a new assignment. */
  skipAssignment: boolean;
}

// SyncGroup
export interface SyncGroupRequest {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  generation: number;
  /** The leader's assignment of every member; empty from the others. */
  assignments: { memberId: string; assignment: Buffer }[];
}
export interface SyncGroupResponse {
  error: WireError | null;
  protocol: string | null;
  assignment: Buffer;
}

// Heartbeat
export interface HeartbeatRequest {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  generation: number;
}
export interface HeartbeatResponse {
  /** REBALANCE_IN_PROGRESS tells the member to rejoin. */
  error: WireError | null;
}

// LeaveGroup
export interface LeaveGroupRequest {
  groupId: string;
  members: { memberId: string; groupInstanceId: string | null }[];
}
export interface LeaveGroupResponse {
  error: WireError | null;
  members: { memberId: string; groupInstanceId: string | null; error: WireError | null }[];
}

// OffsetCommit
export interface OffsetCommitPartition {
  topic: string;
  partition: number;
  /** The next offset to consume (Kafka's convention: last processed + 1). */
  offset: number;
  /** Free text stored with the offset. */
  metadata: string;
}
export interface OffsetCommitRequest {
  groupId: string;
  /** -1 with memberId '' for a commit from outside the group (admin tools); the group must be empty. */
  generation: number;
  memberId: string;
  groupInstanceId: string | null;
  /**
   * An explicit reset (admin, empty group only): offsets may move backwards. Without it a commit below
   * the committed offset is refused with OFFSET_REGRESSION.
   */
  reset: boolean;
  partitions: OffsetCommitPartition[];
}
/** An answer of a group-level error and one error (or none) per partition: OffsetCommit's, OffsetDelete's. */
export interface PartitionErrorsResponse {
  error: WireError | null;
  partitions: { topic: string; partition: number; error: WireError | null }[];
}

/** `error`: a group-level failure (not coordinator, unknown member, illegal generation...). */
export type OffsetCommitResponse = PartitionErrorsResponse;

// OffsetFetch
export interface OffsetFetchRequest {
  groupId: string;
  /** null = every partition the group has committed. */
  partitions: { topic: string; partition: number }[] | null;
}
export interface CommittedOffset {
  topic: string;
  partition: number;
  /** -1 when the group never committed this partition. */
  offset: number;
  metadata: string;
  /** When the commit was written (the coordinator's clock); -1 when none. */
  commitTimestampMs: number;
  error: WireError | null;
}
export interface OffsetFetchResponse {
  error: WireError | null;
  partitions: CommittedOffset[];
}

// ListGroups
export type ListGroupsRequest = Record<string, never>;
export interface ListGroupsResponse {
  error: WireError | null;
  /** The groups coordinated by the answering broker (ask every broker for the full list). */
  groups: { groupId: string; protocolType: string; state: string }[];
}

// DescribeGroups
export interface DescribeGroupsRequest {
  groupIds: string[];
}
export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** The member's assignment bytes (decode with the SDK's assignor codec). */
  assignment: Buffer;
}
export interface DescribedGroup {
  groupId: string;
  error: WireError | null;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  state: string;
  generation: number;
  protocolType: string;
  protocol: string | null;
  leaderId: string | null;
  members: GroupMemberDescription[];
}
export interface DescribeGroupsResponse {
  groups: DescribedGroup[];
}

// DeleteGroups
export interface DeleteGroupsRequest {
  groupIds: string[];
}
export interface DeleteGroupsResponse {
  /** NON_EMPTY_GROUP while the group has members; GROUP_ID_NOT_FOUND when there is nothing to delete. */
  groups: { groupId: string; error: WireError | null }[];
}

// OffsetDelete
export interface OffsetDeleteRequest {
  groupId: string;
  partitions: { topic: string; partition: number }[];
}
/**
 * `error`: GROUP_ID_NOT_FOUND when the group has nothing to delete from; NON_EMPTY_GROUP when it has members
 * whose subscriptions the coordinator cannot read; coordinator errors. Per partition: GROUP_SUBSCRIBED_TO_TOPIC
 * while a member subscribes to the topic; none without a committed offset.
 */
export type OffsetDeleteResponse = PartitionErrorsResponse;
