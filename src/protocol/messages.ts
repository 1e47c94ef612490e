/**
 * The request and response bodies of every API, version 0. These types are the contract between the broker
 * handlers (src/broker/handlers) and the client SDK (src/client); the codec (src/protocol/apis/<api>/v0.ts)
 * turns them into msgpack bodies and back, validating untrusted input on decode.
 *
 * Conventions: offsets and timestamps are JS numbers (safe to 2^53); `records` fields carry one or more
 * whole Kafka RecordBatch v2 batches as raw bytes; a `WireError` of null means success.
 */
import type { ErrorCategory } from '../errors/index.js';
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from './config-messages.js';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from './group-messages.js';

export type * from './config-messages.js';
export type * from './group-messages.js';

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  ApiVersions: 4,
  CreateTopics: 5,
  DeleteTopics: 6,
  DescribeTopics: 7,
  ListTopics: 8,
  DescribeCluster: 9,
  AlterBroker: 10,
  InitProducerId: 11,
  FindCoordinator: 12,
  JoinGroup: 13,
  SyncGroup: 14,
  Heartbeat: 15,
  LeaveGroup: 16,
  OffsetCommit: 17,
  OffsetFetch: 18,
  ListGroups: 19,
  DescribeGroups: 20,
  DeleteGroups: 21,
  DescribeConfigs: 22,
  AlterConfigs: 23,
  CreatePartitions: 24,
  AlterQuorum: 25,
  OffsetDelete: 26,
  AlterPartitionAssignments: 27,
  DeleteRecords: 28,
} as const;
export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];

export const API_NAMES: Record<ApiKey, string> = {
  0: 'Produce',
  1: 'Fetch',
  2: 'ListOffsets',
  3: 'Metadata',
  4: 'ApiVersions',
  5: 'CreateTopics',
  6: 'DeleteTopics',
  7: 'DescribeTopics',
  8: 'ListTopics',
  9: 'DescribeCluster',
  10: 'AlterBroker',
  11: 'InitProducerId',
  12: 'FindCoordinator',
  13: 'JoinGroup',
  14: 'SyncGroup',
  15: 'Heartbeat',
  16: 'LeaveGroup',
  17: 'OffsetCommit',
  18: 'OffsetFetch',
  19: 'ListGroups',
  20: 'DescribeGroups',
  21: 'DeleteGroups',
  22: 'DescribeConfigs',
  23: 'AlterConfigs',
  24: 'CreatePartitions',
  25: 'AlterQuorum',
  26: 'OffsetDelete',
  27: 'AlterPartitionAssignments',
  28: 'DeleteRecords',
};

/** An error as it travels: the catalogue's wire code, its category (so old clients can still decide), text. */
export interface WireError {
  code: number;
  category: ErrorCategory;
  message: string;
  /**
   * The size limit a request broke, in bytes, when it was refused as a whole for its size (FRAME_TOO_LARGE:
   * the broker's limits.frame_bytes_max), so the client can keep its next requests under it. Only in whole
   * error responses; per-partition errors never carry it (wireErrorOut).
   */
  limitBytes?: number;
}

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string;
}

/** acks: 0 = no response, 1 = leader appended (and fsynced per policy), -1 = all in-sync replicas. */
export type Acks = 0 | 1 | -1;

// ApiVersions
export type ApiVersionsRequest = Record<string, never>;
export interface ApiVersionsResponse {
  apis: { apiKey: number; minVersion: number; maxVersion: number }[];
  brokerVersion: string;
}

// Metadata
export interface MetadataRequest {
  /** null = all topics. */
  topics: string[] | null;
}
export interface BrokerInfo {
  id: number;
  host: string;
  port: number;
  rack: string | null;
}
export interface PartitionMetadata {
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  error: WireError | null;
}
export interface TopicMetadata {
  name: string;
  error: WireError | null;
  internal: boolean;
  partitions: PartitionMetadata[];
}
export interface MetadataResponse {
  clusterId: string;
  controllerId: number;
  brokers: BrokerInfo[];
  topics: TopicMetadata[];
}

// CreateTopics
export interface CreateTopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Topic-level overrides, e.g. retention_ms, segment_bytes. Values are strings as in Kafka. */
  configs: Record<string, string>;
  /**
   * The operator's own placement (Kafka's replica assignment): partition p's replicas, preferred leader
   * first. Null or absent: the broker places. With it, `partitions` and `replicationFactor` are -1 or match.
   */
  assignments?: number[][] | null;
}
export interface CreateTopicsRequest {
  topics: CreateTopicSpec[];
  timeoutMs: number;
  validateOnly: boolean;
}
export interface TopicResult {
  name: string;
  error: WireError | null;
}
export interface CreateTopicsResponse {
  topics: TopicResult[];
}

// CreatePartitions
export interface CreatePartitionsSpec {
  name: string;
  /** The topic's new total partition count: partitions are only added, never removed. */
  count: number;
  /** The added partitions' replicas (one list per added partition, as in CreateTopicSpec); null: broker places. */
  assignments?: number[][] | null;
}
export interface CreatePartitionsRequest {
  topics: CreatePartitionsSpec[];
  timeoutMs: number;
  validateOnly: boolean;
}
export interface CreatePartitionsResponse {
  topics: TopicResult[];
}

// DeleteTopics
export interface DeleteTopicsRequest {
  topics: string[];
  timeoutMs: number;
}
export interface DeleteTopicsResponse {
  topics: TopicResult[];
}

// ListTopics
export type ListTopicsRequest = Record<string, never>;
export interface ListTopicsResponse {
  topics: { name: string; partitions: number; internal: boolean }[];
}

// DescribeTopics
export interface DescribeTopicsRequest {
  topics: string[];
}
export interface PartitionDescription {
  partition: number;
  leaderId: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number;
  highWatermark: number;
  sizeBytes: number;
  /**
   * v1: placed by an operator's replica assignment, which the rebalancer keeps (docs/cluster.md, "Pinned
   * partitions"). Absent from a v0 answer (a broker of a build before pins).
   */
  pinned?: boolean;
  /**
   * v2: the replica list an operator reassigned the partition to, while its replicas are not that list yet
   * (docs/cluster.md, "Reassigning and unpinning"). Absent when none is in progress, and from a v0 or v1
   * answer (a broker of a build before it).
   */
  targetReplicas?: number[];
}
export interface TopicDescription {
  name: string;
  error: WireError | null;
  partitions: PartitionDescription[];
  configs: Record<string, string>;
}
export interface DescribeTopicsResponse {
  topics: TopicDescription[];
}

// DescribeCluster
export type DescribeClusterRequest = Record<string, never>;
/** Broker states as the metadata store records them. */
export type ClusterBrokerState = 'starting' | 'alive' | 'draining' | 'failed' | 'decommissioned';
export interface ClusterBrokerDescription {
  id: number;
  /** Client listener (what producers and consumers connect to). */
  host: string;
  port: number;
  rack: string | null;
  state: ClusterBrokerState;
  /** Inter-broker listener; empty host and port 0 on a single-node broker (no peer listener). */
  peerHost: string;
  peerPort: number;
  /** Registration count: a restarted broker comes back with a higher epoch. */
  epoch: number;
  /** Last heartbeat as recorded by the metadata leader (ms since the epoch); 0 when never. */
  lastHeartbeatMs: number;
  /**
   * Partitions on this broker: its replica list names it, or a move off it is still pending (the
   * partition's Raft group may still count it as a voter until the move completes).
   */
  replicas: number;
  /** Partitions this broker leads (per the metadata leader hint). */
  leaders: number;
  /** Recorded moves off this broker that have not completed (their new replica not in sync yet). */
  movingOff: number;
  /** v1: the highest cluster feature level the broker's build supports (1 for builds before feature levels). */
  featureLevel?: number;
}
export interface ClusterImbalance {
  /** max(replicaScore, leaderScore); 0 means as balanced as whole numbers allow. */
  score: number;
  replicaScore: number;
  leaderScore: number;
}
export interface MetadataReplicaDescription {
  brokerId: number;
  /** Highest metadata log index known to be on the broker. */
  matchIndex: number;
  /** Entries behind the leader's last index. */
  lag: number;
  /** Milliseconds since the leader last heard from it (0 for the leader itself); -1 when never. */
  silentMs: number;
}
export interface DescribeClusterResponse {
  clusterId: string;
  /** The broker that answered. */
  brokerId: number;
  /** The metadata Raft leader, -1 when none is known. */
  metadataLeaderId: number;
  metadataTerm: number;
  metadataVersion: number;
  /** The metadata group's voters and learners as the answering broker knows them (sorted). */
  metadataVoters: number[];
  metadataLearners: number[];
  /**
   * Each voter's and learner's replication of the metadata log as the metadata leader sees it (the leader
   * included); empty when the answering broker does not lead the metadata group (Kafka's DescribeQuorum).
   */
  metadataReplication: MetadataReplicaDescription[];
  brokers: ClusterBrokerDescription[];
  imbalance: ClusterImbalance;
  partitions: number;
  /** Partitions whose in-sync replica list is shorter than their replica list. */
  underReplicatedPartitions: number;
  /** v1: the cluster's finalized feature level (docs/operations.md, "Cluster feature levels"). */
  featureLevel?: number;
  /** v1: the highest feature level the answering broker's build supports. */
  supportedFeatureLevel?: number;
}

// AlterBroker
/**
 * What an operator asks of a broker: `drain` moves its replicas and leadership away and keeps new ones off
 * it, `undrain` makes it a normal member again, `decommission` drains it and then removes it from the
 * cluster (it stops heartbeating; restarting it registers it anew).
 */
export type BrokerAction = 'drain' | 'undrain' | 'decommission';
export interface AlterBrokerRequest {
  brokerId: number;
  action: BrokerAction;
}
export interface AlterBrokerResponse {
  error: WireError | null;
  /** The broker's state once the change applied; null with an error. */
  state: ClusterBrokerState | null;
}

// AlterQuorum
/**
 * An operator's change of the metadata quorum: `add-voter` promotes a registered broker (a metadata learner)
 * to voter; `remove-voter` demotes a voter (it stays a learner). Answered by the metadata leader only.
 */
export type QuorumAction = 'add-voter' | 'remove-voter';
export interface AlterQuorumRequest {
  brokerId: number;
  action: QuorumAction;
}
/** The metadata group's members. */
export interface QuorumMembership {
  voters: number[];
  learners: number[];
}
export interface AlterQuorumResponse {
  error: WireError | null;
  /** The membership once the change applied; empty lists with an error. */
  voters: number[];
  learners: number[];
}

// AlterPartitionAssignments
/** One partition's change: `replicas` reassigns (and pins) it to that list, preferred leader first; null unpins it. */
export interface PartitionAssignmentSpec {
  partition: number;
  replicas: number[] | null;
}
export interface AlterPartitionAssignmentsRequest {
  topic: string;
  partitions: PartitionAssignmentSpec[];
}
/** All listed partitions changed (null) or none did (the error names the partition at fault). */
export interface AlterPartitionAssignmentsResponse {
  error: WireError | null;
}

// DeleteRecords
export interface DeleteRecordsPartition {
  topic: string;
  partition: number;
  /** The partition's new log start: records below it are deleted. -1: the high watermark (all of them). */
  offset: number;
}
export interface DeleteRecordsRequest {
  partitions: DeleteRecordsPartition[];
  timeoutMs: number;
}
export interface DeleteRecordsPartitionResult {
  topic: string;
  partition: number;
  error: WireError | null;
  /** The partition's log start once the request applied; -1 with an error. */
  lowWatermark: number;
}
export interface DeleteRecordsResponse {
  partitions: DeleteRecordsPartitionResult[];
}

// InitProducerId
/**
 * An idempotent producer's identity: batches carry (producerId, producerEpoch, baseSequence) and a
 * partition leader drops a retried batch it already has. Ids are unique across the cluster.
 */
export type InitProducerIdRequest = Record<string, never>;
export interface InitProducerIdResponse {
  error: WireError | null;
  /** -1 with an error. */
  producerId: number;
  producerEpoch: number;
}

// Produce
export interface ProducePartitionData {
  topic: string;
  partition: number;
  /** One or more whole record batches. */
  records: Buffer;
}
export interface ProduceRequest {
  acks: Acks;
  timeoutMs: number;
  partitions: ProducePartitionData[];
}
export interface ProducePartitionResult {
  topic: string;
  partition: number;
  error: WireError | null;
  /** Offset of the first record of the first batch; -1 on error. */
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /**
   * With NOT_LEADER: the broker this one's replica knows as the partition's leader (its Raft group, which
   * runs ahead of metadata while a new leader's publication is on its way; Kafka's KIP-951); -1 otherwise.
   */
  leaderHint: number;
}
export interface ProduceResponse {
  partitions: ProducePartitionResult[];
}

// Fetch
export interface FetchPartition {
  topic: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}
export interface FetchRequest {
  /** Long poll: wait up to maxWaitMs for minBytes to be available. */
  maxWaitMs: number;
  minBytes: number;
  /** Response size cap; at least one whole batch is returned even if larger. */
  maxBytes: number;
  partitions: FetchPartition[];
  /**
   * v1: the consumer's rack (Kafka's client.rack; "" for none). A v1 fetch may be answered by an in-sync
   * follower; a leader given a rack may point the consumer at a replica there (preferredReadReplica).
   * Absent at v0, which only a partition's leader answers.
   */
  rackId?: string;
}
export interface FetchPartitionResult {
  topic: string;
  partition: number;
  error: WireError | null;
  highWatermark: number;
  logStartOffset: number;
  /** With NOT_LEADER: the leader this broker's replica knows (as ProducePartitionResult's); -1 otherwise. */
  leaderHint: number;
  /** Whole batches starting with the one containing fetchOffset (may begin before it). */
  records: Buffer;
  /**
   * v1: the replica the consumer should fetch this partition from (a follower in its rack), sent instead of
   * records; -1 (or absent, v0): read from the broker that answered.
   */
  preferredReadReplica?: number;
}
export interface FetchResponse {
  partitions: FetchPartitionResult[];
}

// ListOffsets
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export interface ListOffsetsPartition {
  topic: string;
  partition: number;
  /** -1 latest (high watermark), -2 earliest (log start), otherwise the first offset with timestamp >= it. */
  timestamp: number;
}
export interface ListOffsetsRequest {
  partitions: ListOffsetsPartition[];
}
export interface ListOffsetsPartitionResult {
  topic: string;
  partition: number;
  error: WireError | null;
  /** -1 when no record has a timestamp >= the one asked for. */
  offset: number;
  timestamp: number;
}
export interface ListOffsetsResponse {
  partitions: ListOffsetsPartitionResult[];
}

/** Maps each api key to its request and response body types. */
export interface ApiTypes {
  [ApiKey.Produce]: { request: ProduceRequest; response: ProduceResponse };
  [ApiKey.Fetch]: { request: FetchRequest; response: FetchResponse };
  [ApiKey.ListOffsets]: { request: ListOffsetsRequest; response: ListOffsetsResponse };
  [ApiKey.Metadata]: { request: MetadataRequest; response: MetadataResponse };
  [ApiKey.ApiVersions]: { request: ApiVersionsRequest; response: ApiVersionsResponse };
  [ApiKey.CreateTopics]: { request: CreateTopicsRequest; response: CreateTopicsResponse };
  [ApiKey.DeleteTopics]: { request: DeleteTopicsRequest; response: DeleteTopicsResponse };
  [ApiKey.DescribeTopics]: { request: DescribeTopicsRequest; response: DescribeTopicsResponse };
  [ApiKey.ListTopics]: { request: ListTopicsRequest; response: ListTopicsResponse };
  [ApiKey.DescribeCluster]: { request: DescribeClusterRequest; response: DescribeClusterResponse };
  [ApiKey.AlterBroker]: { request: AlterBrokerRequest; response: AlterBrokerResponse };
  [ApiKey.InitProducerId]: { request: InitProducerIdRequest; response: InitProducerIdResponse };
  [ApiKey.FindCoordinator]: { request: FindCoordinatorRequest; response: FindCoordinatorResponse };
  [ApiKey.JoinGroup]: { request: JoinGroupRequest; response: JoinGroupResponse };
  [ApiKey.SyncGroup]: { request: SyncGroupRequest; response: SyncGroupResponse };
  [ApiKey.Heartbeat]: { request: HeartbeatRequest; response: HeartbeatResponse };
  [ApiKey.LeaveGroup]: { request: LeaveGroupRequest; response: LeaveGroupResponse };
  [ApiKey.OffsetCommit]: { request: OffsetCommitRequest; response: OffsetCommitResponse };
  [ApiKey.OffsetFetch]: { request: OffsetFetchRequest; response: OffsetFetchResponse };
  [ApiKey.ListGroups]: { request: ListGroupsRequest; response: ListGroupsResponse };
  [ApiKey.DescribeGroups]: { request: DescribeGroupsRequest; response: DescribeGroupsResponse };
  [ApiKey.DeleteGroups]: { request: DeleteGroupsRequest; response: DeleteGroupsResponse };
  [ApiKey.DescribeConfigs]: { request: DescribeConfigsRequest; response: DescribeConfigsResponse };
  [ApiKey.AlterConfigs]: { request: AlterConfigsRequest; response: AlterConfigsResponse };
  [ApiKey.CreatePartitions]: { request: CreatePartitionsRequest; response: CreatePartitionsResponse };
  [ApiKey.AlterQuorum]: { request: AlterQuorumRequest; response: AlterQuorumResponse };
  [ApiKey.OffsetDelete]: { request: OffsetDeleteRequest; response: OffsetDeleteResponse };
  [ApiKey.AlterPartitionAssignments]: {
    request: AlterPartitionAssignmentsRequest;
    response: AlterPartitionAssignmentsResponse;
  };
  [ApiKey.DeleteRecords]: { request: DeleteRecordsRequest; response: DeleteRecordsResponse };
}
export type RequestOf<K extends ApiKey> = ApiTypes[K]['request'];
export type ResponseOf<K extends ApiKey> = ApiTypes[K]['response'];
