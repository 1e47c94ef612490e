/**
 * What request handlers need from the broker's partitions and topics. The single-node broker serves these
 * straight from the local log manager (local-catalog.ts); in cluster mode they come from the replicated
 * metadata store (cluster-catalog.ts). Replicated partitions (one Raft group each) will implement the same
 * interfaces, so handlers do not change when replication arrives.
 */
import type {
  Acks,
  AlterConfigsResource,
  BrokerInfo,
  ConfigEntry,
  ConfigResource,
  CreatePartitionsSpec,
  CreateTopicSpec,
} from '../protocol/messages.js';
import type { Deadline } from '../resilience/deadline.js';
import type { ReadBufferSource } from '../storage/read-buffers.js';

export interface AppendOutcome {
  baseOffset: number;
  logAppendTimeMs: number;
}

export interface ReadOutcome {
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
}

export interface ServedPartition {
  /**
   * Validates, stamps and appends whole batches; resolves once acknowledged per `acks` (default all): a
   * single-node log once durable per the fsync policy, a replica per its replication (replica/). `deadline`
   * (the request's) abandons the wait for acknowledgement, never a batch already in the log: the outcome
   * is then unknown to the caller, as a timed-out produce is in Kafka.
   */
  append(batches: Buffer, acks?: Acks, deadline?: Deadline): Promise<AppendOutcome>;
  /**
   * Whole batches from the one containing `offset`, at least one even if larger than maxBytes. `buffers`:
   * where the read's buffer comes from (a fetch answer borrows, see storage/read-buffers.ts).
   */
  read(offset: number, maxBytes: number, buffers?: ReadBufferSource): Promise<ReadOutcome>;
  highWatermark(): number;
  logStartOffset(): number;
  sizeBytes(): number;
  offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null>;
  /** Calls `listener` whenever the high watermark advances; returns the unsubscribe function. */
  onHighWatermark(listener: (highWatermark: number) => void): () => void;
  /**
   * Names this replica's current spell of leadership: it changes whenever leadership was lost and won
   * again (a replica's Raft term while it leads; always 0 for a single-node log), -1 when not leading.
   * State derived from the log (group coordinators) is rebuilt when it changes.
   */
  leadership(): number;
  /**
   * Resolves once this copy is confirmed to lead still (a quorum answered after the call, Raft's read
   * index); rejects with NOT_LEADER or a timeout otherwise. Reads that a replaced leader must not answer
   * from its old state (a paused group coordinator's committed offsets) wait for it. Absent: the only copy,
   * which always leads.
   */
  confirmLeadership?(): Promise<void>;
}

/** What a fetch reads of a partition: its leader's copy, or an in-sync follower's (followerReads). */
export type PartitionReads = Pick<
  ServedPartition,
  'read' | 'highWatermark' | 'logStartOffset' | 'onHighWatermark'
>;

/** Where a Fetch v1 (a consumer that may read from followers) reads a partition on this broker. */
export interface ReadSource {
  readonly reads: PartitionReads;
  /** This broker follows: it serves only what it has committed, and never points elsewhere. */
  readonly follower: boolean;
}

export interface TopicInfo {
  name: string;
  partitions: number;
  replicationFactor: number;
  internal: boolean;
  /** The topic's own overrides (DescribeTopics shows them); not the cluster-wide defaults it inherits. */
  configs: Record<string, string>;
  /**
   * Which creation of this name: a topic deleted and created again has another (the metadata version that
   * created it in a cluster, its creation time on a single node). Group offsets remember it, so offsets
   * committed for a deleted topic do not carry over to a new topic of the same name.
   */
  incarnation: number;
}

/** Where a partition lives, as Metadata and DescribeTopics report it. */
export interface PartitionPlacement {
  /** The broker serving the partition's data; -1 when none is known. */
  leaderId: number;
  leaderEpoch: number;
  /** Ordered: the first is the preferred leader. */
  replicas: number[];
  isr: number[];
  /** Placed by an operator's assignment, which the rebalancer keeps (cluster mode; absent: false). */
  pinned?: boolean;
  /** An operator's reassignment not reached yet (cluster mode; absent: none). */
  targetReplicas?: number[];
}

export interface TopicCatalog {
  listTopics(): TopicInfo[];
  topic(name: string): TopicInfo | undefined;
  /** Brokers clients may connect to (alive or draining), sorted by id. */
  brokers(): BrokerInfo[];
  /** The metadata leader's broker id (Metadata's controllerId); -1 when none is known. */
  controllerId(): number;
  /** undefined when the topic or partition is unknown. */
  placement(topic: string, partition: number): PartitionPlacement | undefined;
  /**
   * The partition's data, when this broker serves it. Throws UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER (another
   * broker leads it) or LEADER_NOT_AVAILABLE (this broker leads it but its log is not open yet).
   */
  partition(topic: string, partition: number): ServedPartition;
  /**
   * Fetch v1's source: the leader's copy, or this broker's follower copy while it is a replica in the
   * partition's in-sync set and hears from a current leader (replica/follower-reads.ts). Otherwise throws
   * as partition() does: NOT_LEADER naming the leader sends the consumer back there. Absent (a single node):
   * partition().
   */
  readSource?(topic: string, partition: number): ReadSource;
  /**
   * Leader only: the replica a consumer in `clientRack` should fetch from instead of this one (an in-sync
   * replica in that rack, replica/read-replica-selector.ts), or -1 to read here. Absent: always -1.
   */
  preferredReadReplica?(topic: string, partition: number, clientRack: string): number;
  /**
   * The high watermark this broker knows for a partition it holds a copy of, leader or follower (a
   * follower's trails the leader's by a replication round trip); undefined when it holds none.
   */
  highWatermarkHere(topic: string, partition: number): number | undefined;
  /** `deadline`: the client request's; a metadata proposal made for it carries it (cluster mode). */
  createTopic(spec: CreateTopicSpec, deadline?: Deadline): Promise<void>;
  /** Checks a spec without creating anything (CreateTopics validateOnly). */
  validateTopic(spec: CreateTopicSpec): void;
  deleteTopic(name: string, deadline?: Deadline): Promise<void>;
  /**
   * DeleteRecords on a partition led here: advances its log start to `offset` (-1: the high watermark),
   * durably, and resolves with the new log start. UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER,
   * LEADER_NOT_AVAILABLE as `partition`; OFFSET_OUT_OF_RANGE above the high watermark; in cluster mode
   * FEATURE_NOT_FINALIZED. Below the log start it changes nothing and resolves with the log start.
   */
  deleteRecords(
    request: { readonly topic: string; readonly partition: number; readonly offset: number },
    deadline?: Deadline,
  ): Promise<number>;
  /**
   * Grows a topic to `spec.count` partitions (CreatePartitions), placed by `spec.assignments` if given;
   * with `validateOnly` it only checks. UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS (not more than now,
   * over the limit), INVALID_REPLICA_ASSIGNMENT, and in cluster mode INVALID_REPLICATION_FACTOR (fewer alive
   * brokers than the topic's replication factor, when the broker places).
   */
  createPartitions(spec: CreatePartitionsSpec, validateOnly: boolean, deadline?: Deadline): Promise<void>;
  /**
   * Every topic-level key of a topic (or of the cluster's topic defaults) with its effective value and
   * source. Throws UNKNOWN_TOPIC_OR_PARTITION.
   */
  describeConfigs(resource: ConfigResource): ConfigEntry[];
  /**
   * An incremental config change, applied to the running partitions. Throws UNKNOWN_TOPIC_OR_PARTITION,
   * INVALID_TOPIC_CONFIG (unknown key, bad value), INVALID_REQUEST (a change this mode cannot make).
   */
  alterConfigs(change: AlterConfigsResource, validateOnly: boolean, deadline?: Deadline): Promise<void>;
}
