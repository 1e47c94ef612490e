/**
 * Plain-data inputs and outputs of the cluster control plane's pure logic. The driver adapts the metadata
 * store's records to these types; nothing here knows about Raft, RPC, timers or the store.
 */

export type BrokerId = number;

/** A partition without a known leader (the same sentinel as the metadata store's). */
export const NO_LEADER = -1;

export type BrokerState = 'starting' | 'alive' | 'draining' | 'failed' | 'decommissioned';

export interface BrokerView {
  readonly id: BrokerId;
  readonly rack: string | null;
  readonly state: BrokerState;
  /**
   * When `state` was entered (ms). The rebalancer's failure grace runs from here. If the store keeps no
   * such time, the driver passes `lastHeartbeatMs + heartbeatTimeoutMs` for failed brokers.
   */
  readonly stateSinceMs: number;
  readonly lastHeartbeatMs: number;
  /** Relative capacity (1 = a standard broker). A broker with weight <= 0 receives nothing. */
  readonly capacityWeight: number;
}

export interface PartitionView {
  readonly partition: number;
  /** Ordered: the first replica is the preferred leader. */
  readonly replicas: readonly BrokerId[];
  /** NO_LEADER when unknown. */
  readonly leader: BrokerId;
  readonly leaderEpoch: number;
  readonly isr: readonly BrokerId[];
  /**
   * Placed by an operator's assignment: its replicas move only off a draining or decommissioned broker
   * (never for balance, nor off a failed broker), and it is led by the first in-sync eligible replica in
   * list order (docs/cluster.md, "Pinned partitions"). Absent: false.
   */
  readonly pinned?: boolean;
  /**
   * The replica list an operator reassigned the partition to (always pinned then), while its replicas are
   * not that list's brokers yet: the rebalancer moves one replica at a time towards it (docs/cluster.md,
   * "Reassigning and unpinning").
   */
  readonly targetReplicas?: readonly BrokerId[];
}

export type PlacementStrategy = 'round-robin' | 'rack-aware' | 'capacity-aware';

export interface TopicView {
  readonly name: string;
  readonly partitions: readonly PartitionView[];
  /**
   * How the topic was placed (informational: the rebalancer prefers distinct racks for every topic, and its
   * balance moves never reduce a partition's distinct racks whatever the strategy).
   */
  readonly placement?: PlacementStrategy;
}

export type MoveReason =
  | 'broker-failed'
  | 'broker-draining'
  | 'broker-decommissioned'
  | 'reassignment'
  | 'rebalance';

/**
 * A move's `from` when it only adds a replica, or its `to` when it only removes one: the steps of a
 * reassignment that changes the replication factor (the metadata store's NO_BROKER, the same value).
 */
export const NO_BROKER = -1;

/**
 * One replica of one partition moves from one broker to another. `to` takes `from`'s position in the
 * replica list, so a move of the first replica also moves the preferred leader. With `from` NO_BROKER the
 * move only adds `to` (at the end of the list); with `to` NO_BROKER it only removes `from`. A move is a
 * self-contained step recorded in the metadata store, so a new coordinator continues it after failover.
 */
export interface Move {
  readonly topic: string;
  readonly partition: number;
  readonly from: BrokerId;
  readonly to: BrokerId;
  readonly reason: MoveReason;
}

export type LeaderChangeReason = 'preferred-leader' | 'leader-unavailable' | 'leader-spread';

export interface LeaderChange {
  readonly topic: string;
  readonly partition: number;
  /** NO_LEADER when the partition has none. */
  readonly from: BrokerId;
  readonly to: BrokerId;
  readonly reason: LeaderChangeReason;
}

export interface ClusterView {
  /** The metadata version this view was read at (increases with every applied change). */
  readonly version: number;
  readonly brokers: readonly BrokerView[];
  readonly topics: readonly TopicView[];
  /** Moves recorded in the store and not finished yet; they count against the concurrency limit. */
  readonly pendingMoves: readonly Move[];
}

export interface PartitionAssignment {
  readonly partition: number;
  /** Ordered: `replicas[0]` is the preferred leader. */
  readonly replicas: readonly BrokerId[];
  readonly leader: BrokerId;
}
