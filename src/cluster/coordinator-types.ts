import type { AliveCause, FailureCause, FailureDetectorConfig, ProbeFailures } from './failure-detector.js';
import type { BrokerId, ClusterView, LeaderChange, Move } from './types.js';

export interface CoordinatorConfig {
  readonly detector: FailureDetectorConfig;
  /** Periodic rebalance check; joins, failures, drains and grace expiries also trigger one. */
  readonly rebalanceIntervalMs: number;
  readonly probeIntervalMs: number;
  /** Passed to the driver with each probe: the ping RPC's own timeout. */
  readonly probeTimeoutMs: number;
  readonly failedGraceMs: number;
  readonly concurrentMovesMax: number;
  /** Balance moves stop once the replica imbalance is at or below this (see RebalanceOptions). */
  readonly replicaScoreMax: number;
  /** A proposal not visible in metadata after this long is proposed again. */
  readonly proposalTimeoutMs: number;
  /**
   * The driver abandons a plan's (or an adopted move's) writes after this long; recorded moves are adopted
   * again on a later tick and the planner plans afresh (resilience.timeouts.rebalance).
   */
  readonly rebalanceTimeoutMs: number;
}

/** Every event carries the driver's clock reading; the reducer never reads a clock. */
export type CoordinatorEvent =
  | { readonly type: 'becameLeader'; readonly nowMs: number; readonly view: ClusterView }
  | { readonly type: 'lostLeadership'; readonly nowMs: number }
  | { readonly type: 'brokerRegistered'; readonly nowMs: number; readonly brokerId: BrokerId }
  | {
      readonly type: 'heartbeat';
      readonly nowMs: number;
      readonly brokerId: BrokerId;
      readonly ready?: boolean;
    }
  | {
      readonly type: 'heartbeats';
      readonly nowMs: number;
      readonly beats: readonly { readonly brokerId: BrokerId; readonly ready?: boolean }[];
    }
  | {
      readonly type: 'tick';
      readonly nowMs: number;
      /** Milliseconds since the metadata commit index last moved (absent: not known). */
      readonly commitAgeMs?: number;
      /**
       * Broker id -> when this broker's Raft transport last received bytes from it (messages or keepalives:
       * its process runs and the network between them works). Heartbeats travel a different path
       * (forwarded metadata writes) that can stall while this one flows.
       */
      readonly heardFromMs?: Readonly<Record<number, number>>;
    }
  | {
      readonly type: 'probeResult';
      readonly nowMs: number;
      readonly brokerId: BrokerId;
      readonly ok: boolean;
    }
  | { readonly type: 'metadataApplied'; readonly nowMs: number; readonly view: ClusterView };

/** What the driver must do: write through the metadata store, or send an RPC. */
export type CoordinatorAction =
  | { readonly type: 'markBrokerFailed'; readonly brokerId: BrokerId; readonly cause: FailureCause }
  | { readonly type: 'markBrokerAlive'; readonly brokerId: BrokerId; readonly cause: AliveCause }
  /** A decommissioned broker holds no replica and no move involves it: remove it from the metadata. */
  | { readonly type: 'unregisterBroker'; readonly brokerId: BrokerId }
  | { readonly type: 'proposeReplicaMoves'; readonly moves: readonly Move[] }
  | { readonly type: 'proposeLeaderChanges'; readonly changes: readonly LeaderChange[] }
  | { readonly type: 'probeBroker'; readonly brokerId: BrokerId; readonly timeoutMs: number };

export interface HeartbeatRecord {
  readonly lastMs: number;
  readonly ready: boolean;
}

export interface CoordinatorState {
  readonly config: CoordinatorConfig;
  readonly role: 'standby' | 'leader';
  readonly leaderSinceMs: number | null;
  /** The newest clock reading seen; never goes backwards. */
  readonly nowMs: number;
  readonly view: ClusterView | null;
  /** Heartbeats live only here (not in Raft): a new coordinator starts every broker's window afresh. */
  readonly heartbeats: Readonly<Record<number, HeartbeatRecord>>;
  readonly probeFailures: ProbeFailures;
  /** Broker id -> when its probe was sent; one probe per broker at a time. */
  readonly probesInFlight: Readonly<Record<number, number>>;
  readonly lastProbeRoundMs: number | null;
  readonly lastRebalanceMs: number | null;
  readonly rebalanceDue: boolean;
  /**
   * Broker state changes proposed and not yet visible: key `${id}:${state}` -> proposed at
   * (`${id}:unregistered` for an unregistration, cleared when the broker leaves the view).
   */
  readonly awaitingStates: Readonly<Record<string, number>>;
  /** A plan proposed and not yet visible in a newer metadata version; no new plan until then. */
  readonly planInFlight: { readonly atMs: number; readonly version: number } | null;
  /** The latest `cluster_imbalance_score`; null before the first plan. */
  readonly imbalanceScore: number | null;
  /** Partition key -> when this coordinator last chose a new leader for it (balance moves are spaced). */
  readonly balancedAtMs: Readonly<Record<string, number>>;
  /**
   * The last tick at which this coordinator's metadata commits were stalled (see COMMIT_STALL_FRACTION);
   * null if never. Heartbeats reach it only through commits, so every broker's window restarts there.
   */
  readonly commitStalledAtMs: number | null;
}

export interface StepResult {
  readonly state: CoordinatorState;
  readonly actions: readonly CoordinatorAction[];
}
