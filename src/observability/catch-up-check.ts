/**
 * The `metadata_catch_up` check (pure; cluster-health.ts feeds it): a cluster broker is not ready until it
 * has applied the metadata that was committed when it came back. A broker restarted on an empty data dir
 * (docs/operations.md, "Replace a dead broker") knows a leader within a heartbeat, so `raft` is healthy at
 * once, while its metadata is still the bootstrap entries: no topics, no brokers. Ready then sent clients
 * to a broker answering UNKNOWN_TOPIC_OR_PARTITION for topics that exist.
 *
 * The target is the first commit index a leader told this broker after it started (RaftNodeStatus
 * `leaderCommitIndex`); once applied, the check stays healthy for the life of the process, so a broker that
 * lags under load later does not flap out of readiness (the `metadata` check reports a stalled apply).
 */
import type { CheckResult } from './health.js';

export type CatchUp =
  | { readonly caughtUp: true }
  /** `targetIndex` 0: no leader has told this broker its commit index yet. */
  | { readonly caughtUp: false; readonly targetIndex: number };

export const CATCH_UP_START: CatchUp = { caughtUp: false, targetIndex: 0 };

export interface CatchUpFacts {
  readonly role: string;
  readonly appliedIndex: number;
  /** The highest commit index a leader told this node since it started (its own while it leads). */
  readonly leaderCommitIndex: number;
}

/** The next state from the current Raft status. */
export function nextCatchUp(prev: CatchUp, f: CatchUpFacts): CatchUp {
  if (prev.caughtUp) return prev;
  // A leader's commit index is the cluster's: it has nothing to catch up with.
  if (f.role === 'leader') return { caughtUp: true };
  const targetIndex = prev.targetIndex > 0 ? prev.targetIndex : f.leaderCommitIndex;
  if (targetIndex > 0 && f.appliedIndex >= targetIndex) return { caughtUp: true };
  return { caughtUp: false, targetIndex };
}

export function judgeCatchUp(c: CatchUp, appliedIndex: number): CheckResult {
  if (c.caughtUp)
    return { status: 'healthy', message: 'applied the metadata committed when this broker started' };
  if (c.targetIndex === 0) return { status: 'unhealthy', message: 'waiting for the metadata leader' };
  return {
    status: 'unhealthy',
    message: `catching up with the metadata leader: applied ${appliedIndex} of ${c.targetIndex}`,
  };
}
