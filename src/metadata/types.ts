import type { ErrorCode } from '../errors/index.js';

/** Broker ids are Raft node ids: positive integers. `NO_LEADER` marks a partition without a leader hint. */
export type BrokerId = number;
export const NO_LEADER = -1;

export type BrokerState = 'starting' | 'alive' | 'draining' | 'failed' | 'decommissioned';
export const BROKER_STATES: readonly BrokerState[] = [
  'starting',
  'alive',
  'draining',
  'failed',
  'decommissioned',
];

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Records are immutable: an update replaces the record, so a view taken earlier never changes under you. */
export interface BrokerRecord {
  readonly id: BrokerId;
  /** Where producers and consumers connect. */
  readonly clientAddress: HostPort;
  /** Where other brokers connect (Raft, RPC). */
  readonly peerAddress: HostPort;
  readonly rack: string | null;
  readonly state: BrokerState;
  /** Written by the coordinator from its own clock (a value in the command; apply never reads a clock). */
  readonly lastHeartbeatMs: number;
  /** Relative capacity for capacity-aware placement (1 = a standard broker). */
  readonly capacityHint: number;
  /** Incremented on every registration, so a restarted broker's incarnation is distinguishable. */
  readonly epoch: number;
  readonly registeredVersion: number;
  /**
   * The highest cluster feature level the broker's build supports (feature-levels.ts), as its registration or
   * a later heartbeat said; 1 for a build before feature levels (and in images restored from its snapshots).
   */
  readonly featureLevel: number;
}

export interface PartitionRecord {
  readonly partition: number;
  readonly replicas: readonly BrokerId[];
  /** A hint: the partition's own Raft group decides; NO_LEADER when unknown. */
  readonly leader: BrokerId;
  /** Bumped on every replica-set or leader change; the compare-and-set token of those commands. */
  readonly leaderEpoch: number;
  readonly isr: readonly BrokerId[];
  /**
   * Placed by an operator's replica assignment (cluster/manual-assignment.ts): the rebalancer keeps its
   * replicas where they are (docs/cluster.md, "Pinned partitions"). Present, as true, only on a pinned
   * partition, so images and snapshots of clusters without pins are what they were before pins existed.
   */
  readonly pinned?: true;
  /**
   * The replica list an operator asked for (alterPartitionAssignments) while the rebalancer still moves the
   * partition towards it, one replica at a time; absent once the replicas are that list's brokers (or
   * the partition was unpinned). Only ever on a pinned partition.
   */
  readonly targetReplicas?: readonly BrokerId[];
  /**
   * The log start DeleteRecords advanced the partition to (advanceLogStart): every replica's log hides the
   * offsets below it and frees the segments wholly below it. Never lowered; absent until first set, so
   * images and snapshots of clusters that never deleted records are what they were before.
   */
  readonly logStartFloor?: number;
}

export interface TopicRecord {
  readonly name: string;
  readonly partitions: readonly PartitionRecord[];
  readonly replicationFactor: number;
  /** Overrides only; see `effectiveTopicConfig` for the merge with cluster defaults. */
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
  readonly createdVersion: number;
}

/** A rebalancer move in flight: recorded so a new coordinator continues it after failover. */
export type MoveState = 'pending' | 'adding' | 'removing';
export const MOVE_STATES: readonly MoveState[] = ['pending', 'adding', 'removing'];

/**
 * A move's `from` when it only adds a replica, or its `to` when it only removes one (a reassignment that
 * changes the replication factor); never both.
 */
export const NO_BROKER = -1;

export interface MoveRecord {
  readonly topic: string;
  readonly partition: number;
  /** NO_BROKER: the move only adds `to`. */
  readonly from: BrokerId;
  /** NO_BROKER: the move only removes `from`. */
  readonly to: BrokerId;
  readonly state: MoveState;
  readonly recordedVersion: number;
}

/** What apply() answers. Domain errors are values (every replica computes the same one), never throws. */
export type ApplyResult =
  | {
      readonly ok: true;
      readonly version: number;
      /** heartbeat: ids in the batch that are not registered (their beats were ignored). */
      readonly unknownBrokerIds?: readonly BrokerId[];
      /** updateReplicaSet / updateLeader: the partition's new epoch. */
      readonly leaderEpoch?: number;
      /** updateInSyncSets: each item's outcome, in the order of the command's items. */
      readonly inSyncSets?: readonly InSyncSetResult[];
      /** allocateProducerIds: the first id of the reserved block (the block is [first, first + count)). */
      readonly firstProducerId?: number;
    }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly version: number };

/**
 * One item of updateInSyncSets: applied (with the partition's new epoch) or refused. A refusal carries its code
 * only: results are remembered with their request ids (RECENT_REQUESTS_MAX of them, in every snapshot), and
 * a message per refused partition would make one result of a large batch weigh as much as the batch.
 */
export type InSyncSetResult =
  | { readonly ok: true; readonly leaderEpoch: number }
  | { readonly ok: false; readonly code: ErrorCode };

export function moveKey(topic: string, partition: number, from: BrokerId, to: BrokerId): string {
  return `${topic}\u0000${partition}\u0000${from}\u0000${to}`;
}
