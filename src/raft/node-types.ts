import type { ConfState, Entry, NodeId, Role } from './core/types.js';
import type { RaftLogger } from './logger.js';
import type { RaftStorage } from './storage/types.js';
import type { RaftTransport } from './transport/types.js';

/** The replicated state machine. `apply` runs once per committed entry, in log order, on every node. */
export interface StateMachine {
  apply(entry: Entry): Promise<unknown> | unknown;
  snapshot(): Promise<Uint8Array> | Uint8Array;
  restore(data: Uint8Array): Promise<void> | void;
}

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Tags every message so many groups can share a transport; default `'default'`. */
  readonly groupId?: string;
  readonly storage: RaftStorage;
  readonly stateMachine: StateMachine;
  readonly transport: RaftTransport;
  /** `external`: a RaftHost ticks this node and routes its messages. */
  readonly mode?: 'standalone' | 'hosted';
  /** 100 ms ticks with a 10-tick election timeout: a new leader within ~1-2 s of losing the old one. */
  readonly tickIntervalMs?: number;
  readonly electionTimeoutTicks?: number;
  readonly heartbeatIntervalTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /**
   * Hosted groups only: an idle group goes quiet (RaftCore.quiesce) while the host hears from its members'
   * processes; the host ignores it when its transport cannot tell (RaftTransport.heardFromWithin).
   */
  readonly quiesce?: boolean;
  readonly maxInflightMsgs?: number;
  readonly maxInflightBytes?: number;
  readonly maxSizePerMsgBytes?: number;
  readonly proposalTimeoutMs?: number;
  readonly maxPendingProposals?: number;
  /** Take a state machine snapshot and compact the log every this many applied entries. */
  readonly snapshotIntervalEntries?: number;
  /** Entries kept below a snapshot so slightly-behind followers catch up without one. */
  readonly snapshotKeepEntries?: number;
  /**
   * Taking or installing one snapshot longer than this is reported to `onTimeout` as `raft.snapshot`, while
   * it still runs. Reported, not cut short: it runs inside the ordered persist-and-apply step, which a
   * node cannot abandon half way without breaking its log.
   */
  readonly snapshotTimeoutMs?: number;
  /** Counts and logs timeouts (observability's timeoutObserver). */
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
  readonly random?: () => number;
  readonly now?: () => number;
  readonly logger?: RaftLogger;
}

export interface RaftNodeEvents {
  'role-change': [{ role: Role; term: number }];
  'leader-change': [{ leaderId: NodeId; term: number }];
  'term-change': [{ term: number }];
  commit: [{ commitIndex: number }];
  applied: [{ appliedIndex: number }];
  'conf-change': [{ conf: ConfState; index: number }];
  /** Leader: a follower answered an append (its match may have moved: votersHolding). */
  'follower-ack': [NodeId];
  /** The node stopped because storage or the state machine failed; it must be restarted. */
  fatal: [Error];
}

export interface RaftNodeStatus {
  readonly id: NodeId;
  readonly groupId: string;
  readonly role: Role;
  readonly term: number;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /**
   * The highest commit index a leader told this node since it started (its own while it leads): applied
   * up to there, a restarted or replaced node has caught up with what was committed when it came back.
   */
  readonly leaderCommitIndex: number;
  readonly lastIndex: number;
  /** The last index this node's own storage holds durably. */
  readonly durableIndex: number;
  readonly voters: readonly NodeId[];
  /** Non-empty only while in a joint configuration. */
  readonly votersOutgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Milliseconds since the commit index last moved (undefined before the first commit). */
  readonly lastCommitAgeMs: number | undefined;
  readonly pendingProposals: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}
