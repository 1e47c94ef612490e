import { invariant } from '../../errors/index.js';
import type { NodeId, RaftLogStorage } from './types.js';

export interface RaftCoreConfig {
  readonly id: NodeId;
  readonly storage: RaftLogStorage;
  /** Randomness in [0, 1), seeded by the caller: election timeouts are drawn from [et, 2et). */
  readonly random: () => number;
  /** Followers wait this many ticks without hearing from a leader before campaigning. */
  readonly electionTimeoutTicks?: number;
  readonly heartbeatIntervalTicks?: number;
  /** Ask for votes without bumping the term first, so a rejoining node cannot disrupt a leader. */
  readonly preVote?: boolean;
  /** A leader steps down when it has not heard from a quorum for an election timeout. */
  readonly checkQuorum?: boolean;
  /** Bytes of entries in one append message (at least one entry is always sent). */
  readonly maxSizePerMsgBytes?: number;
  /** Append messages in flight per follower while replicating. */
  readonly maxInflightMsgs?: number;
  /** Bytes in flight per follower; 0 means no byte limit. */
  readonly maxInflightBytes?: number;
  /** Bytes of committed entries handed out per Ready. */
  readonly maxCommittedSizePerReadyBytes?: number;
  /** When false a follower answers a proposal with "not leader" instead of forwarding it. */
  readonly proposalForwarding?: boolean;
  /** The last index the state machine already reflects (when it persists its own applied index). */
  readonly applied?: number;
  /**
   * Idle groups may go quiet (RaftCore.quiesce): only for a driver that reports silent peers (silentPeer),
   * since a quiet follower's election timer no longer notices a leader that went away.
   */
  readonly quiesce?: boolean;
}

export type ResolvedConfig = Required<Omit<RaftCoreConfig, 'applied'>> & { readonly applied: number };

export function resolveConfig(c: RaftCoreConfig): ResolvedConfig {
  const r: ResolvedConfig = {
    id: c.id,
    storage: c.storage,
    random: c.random,
    electionTimeoutTicks: c.electionTimeoutTicks ?? 10,
    heartbeatIntervalTicks: c.heartbeatIntervalTicks ?? 1,
    preVote: c.preVote ?? true,
    checkQuorum: c.checkQuorum ?? true,
    maxSizePerMsgBytes: c.maxSizePerMsgBytes ?? 1024 * 1024,
    maxInflightMsgs: c.maxInflightMsgs ?? 256,
    maxInflightBytes: c.maxInflightBytes ?? 32 * 1024 * 1024,
    maxCommittedSizePerReadyBytes: c.maxCommittedSizePerReadyBytes ?? 16 * 1024 * 1024,
    proposalForwarding: c.proposalForwarding ?? true,
    quiesce: c.quiesce ?? false,
    applied: c.applied ?? 0,
  };
  invariant(Number.isInteger(r.id) && r.id > 0, `raft node id must be a positive integer, got ${r.id}`);
  invariant(r.heartbeatIntervalTicks >= 1, 'heartbeatIntervalTicks must be >= 1');
  invariant(
    r.electionTimeoutTicks > r.heartbeatIntervalTicks,
    'electionTimeoutTicks must be greater than heartbeatIntervalTicks',
  );
  invariant(r.maxInflightMsgs >= 1, 'maxInflightMsgs must be >= 1');
  return r;
}
