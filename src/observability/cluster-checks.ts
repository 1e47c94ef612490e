/**
 * Pure judgements behind the cluster health checks (`raft`, `metadata`, `coordinator`): plain facts in, a
 * status and a one-line message out. The broker's cluster node gathers the facts (Raft status, transport,
 * breaker, coordinator) and registers the checks; these functions decide, so every rule is unit-tested
 * without a cluster. Each rule's threshold comes from config where one exists; see docs/observability.md.
 */
import type { CheckResult } from './health.js';

/** Votes needed to commit among `voters` voters. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export interface RaftFacts {
  /** False once the node stopped (a fatal storage or state machine error). */
  readonly running: boolean;
  readonly fatalError?: string;
  readonly role: string;
  readonly term: number;
  /** 0 when none is known. */
  readonly leaderId: number;
  readonly voterCount: number;
  /** Voters this node hears from, itself included (only meaningful for a voter). */
  readonly votersReachable: number;
  /** Milliseconds since the commit index last moved (undefined before the first commit). */
  readonly lastCommitAgeMs: number | undefined;
  /**
   * A commit older than this is degraded. Brokers heartbeat through the metadata log, so a working group
   * commits every `resilience.timeouts.heartbeat_interval`; the cluster node passes
   * `resilience.timeouts.heartbeat_timeout`, the silence after which the coordinator marks a broker failed.
   */
  readonly commitStaleMs: number;
  /**
   * This broker was decommissioned, has left the registry and is not a metadata voter: the metadata leader
   * no longer replicates to it, so it commits nothing, by design.
   */
  readonly decommissioned?: boolean;
  /**
   * Set while this broker does not vote: the voters it contacts (cluster.voters, itself left out), and
   * whether it is a learner of the group by its own log. A new broker knows no voters until the leader
   * replicates to it, and a non-voter cannot judge the quorum, so "quorum lost: 0 of 0 voters reachable"
   * would misdescribe a broker that is still finding the leader.
   */
  readonly nonVoter?: { readonly via: readonly number[]; readonly learner: boolean };
}

/**
 * Raft: unhealthy when stopped, without a known leader, or (on the leader) hearing from fewer voters than a
 * quorum; degraded when some voter is unreachable from here or nothing committed for `commitStaleMs`.
 *
 * A follower that knows a leader is inside that leader's lease, and the leader steps down without a quorum
 * (check-quorum), so "leader known" already implies a quorum somewhere; what a follower itself hears is
 * reported (degraded) but not counted against the quorum: in five voters, a follower cut off from two
 * peers still has a working group.
 *
 * A decommissioned broker that left the cluster is healthy: it is correctly idle, waiting to be stopped,
 * and judging it as a member ("no commit", later "no leader") paged on-call for it. It is not ready
 * (HealthRegistry.setRetired); liveness stays, as a restart would register it anew.
 */
export function judgeRaft(f: RaftFacts): CheckResult {
  const quorum = quorumOf(f.voterCount);
  const reach = `${f.votersReachable} of ${f.voterCount} voters reachable, quorum ${quorum}`;
  if (!f.running) {
    return {
      status: 'unhealthy',
      message: `metadata raft stopped${f.fatalError ? `: ${f.fatalError}` : ''}`,
    };
  }
  if (f.decommissioned === true) {
    return {
      status: 'healthy',
      message:
        'decommissioned: no longer a cluster member (unregistered, not a metadata voter); nothing to serve, stop this broker',
    };
  }
  if (f.role === 'leader' && f.votersReachable < quorum) {
    return { status: 'unhealthy', message: `quorum lost: leader hears ${reach}` };
  }
  if (f.leaderId === 0 && f.nonVoter !== undefined && f.nonVoter.via.length > 0) {
    const { via, learner } = f.nonVoter;
    const through = `${via.length === 1 ? 'voter' : 'voters'} ${via.join(', ')} (cluster.voters)`;
    return {
      status: 'unhealthy',
      message: learner
        ? `no metadata leader reached yet through ${through}; this broker is a learner (role ${f.role}, term ${f.term})`
        : `joining: no metadata leader reached yet through ${through}; not a member of the metadata group yet`,
    };
  }
  if (f.leaderId === 0) {
    const lost = f.votersReachable < quorum ? 'quorum lost: ' : '';
    return {
      status: 'unhealthy',
      message: `${lost}no metadata leader known (role ${f.role}, term ${f.term}; ${reach})`,
    };
  }
  const leader = f.role === 'leader' ? 'leader is this broker' : `leader is ${f.leaderId}`;
  if (f.lastCommitAgeMs !== undefined && f.lastCommitAgeMs > f.commitStaleMs) {
    return {
      status: 'degraded',
      message: `${leader}; no commit for ${f.lastCommitAgeMs} ms (over ${f.commitStaleMs} ms); ${reach}`,
    };
  }
  if (f.votersReachable < f.voterCount) {
    return { status: 'degraded', message: `${leader}; ${reach}` };
  }
  const commit =
    f.lastCommitAgeMs === undefined ? 'no commit yet' : `last commit ${f.lastCommitAgeMs} ms ago`;
  return { status: 'healthy', message: `${leader}; ${commit}; ${reach}` };
}

export interface MetadataFacts {
  readonly raftRunning: boolean;
  readonly fatalError?: string;
  /** 0 when none is known. */
  readonly leaderId: number;
  readonly breaker: 'closed' | 'open' | 'half-open';
  /** Milliseconds since the breaker opened (only read while open). */
  readonly breakerOpenForMs: number;
  /** `resilience.circuit_breaker.timeout`. */
  readonly breakerOpenTimeoutMs: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** How long the state machine has been behind the commit index without applying anything (0 when not behind). */
  readonly applyStalledMs: number;
  /** `resilience.timeouts.proposal`: a proposal not applied within this fails, so a longer stall is stuck. */
  readonly applyStallMaxMs: number;
  /** null when the metadata dir is writable, else why not. */
  readonly storageError: string | null;
}

/**
 * The metadata store (spec: can propose, FSM applying, storage accessible): unhealthy when Raft stopped, the
 * log's directory is not writable, committed entries stopped applying for longer than the proposal
 * timeout, no leader is known, or the `metadata` breaker is open (writes fail fast with CIRCUIT_OPEN);
 * degraded while the breaker is half-open or its open timeout has passed (the next write is a trial).
 */
export function judgeMetadata(f: MetadataFacts): CheckResult {
  if (!f.raftRunning) {
    return {
      status: 'unhealthy',
      message: `metadata raft stopped${f.fatalError ? `: ${f.fatalError}` : ''}`,
    };
  }
  if (f.storageError !== null) {
    return { status: 'unhealthy', message: `metadata storage not writable: ${f.storageError}` };
  }
  const lag = f.commitIndex - f.appliedIndex;
  if (lag > 0 && f.applyStalledMs > f.applyStallMaxMs) {
    return {
      status: 'unhealthy',
      message: `state machine stuck: applied ${f.appliedIndex} of ${f.commitIndex} committed, nothing applied for ${f.applyStalledMs} ms (over ${f.applyStallMaxMs} ms)`,
    };
  }
  if (f.leaderId === 0) {
    return { status: 'unhealthy', message: 'cannot propose: no metadata leader known' };
  }
  if (f.breaker === 'open' && f.breakerOpenForMs < f.breakerOpenTimeoutMs) {
    return {
      status: 'unhealthy',
      message: `cannot propose: metadata circuit breaker open for ${f.breakerOpenForMs} ms (writes fail with CIRCUIT_OPEN for up to ${f.breakerOpenTimeoutMs} ms)`,
    };
  }
  if (f.breaker !== 'closed') {
    return { status: 'degraded', message: 'metadata circuit breaker half-open: trial writes only' };
  }
  return {
    status: 'healthy',
    message: `can propose; applied ${f.appliedIndex} of ${f.commitIndex} committed; storage writable`,
  };
}

export interface CoordinatorFacts {
  readonly running: boolean;
  /** The broker is shutting down (its coordinator stops on the way out). */
  readonly draining: boolean;
  readonly lastTickMs: number | null;
  readonly active: boolean;
  readonly lastRebalanceMs: number | null;
  readonly rebalancesInProgress: number;
  readonly oldestRebalanceStartedMs: number | null;
  readonly imbalanceScore: number | null;
  readonly lastError: string | null;
  readonly nowMs: number;
  /** `resilience.timeouts.rebalance`: a rebalance running longer is stuck. */
  readonly rebalanceTimeoutMs: number;
  /** A driver that has not ticked for this long is stuck (COORDINATOR_STALL_MS). */
  readonly tickStallMs: number;
}

/**
 * The driver ticks every 100 ms; 50 missed ticks is a stalled driver, not a busy event loop (the check
 * itself runs on the same loop, so a merely slow loop delays both).
 */
export const COORDINATOR_STALL_MS = 5_000;

/**
 * The coordinator (spec: running and not stuck, last rebalance, rebalances in progress): unhealthy when
 * its driver stopped outside shutdown, has stopped ticking, or a rebalance has run longer than
 * `resilience.timeouts.rebalance`; otherwise healthy, active on the metadata leader or standby elsewhere.
 */
export function judgeCoordinator(f: CoordinatorFacts): CheckResult {
  if (!f.running) {
    // Registered just before the driver starts, and stopped on the way out: neither is a fault.
    if (f.lastTickMs === null) return { status: 'healthy', message: 'coordinator starting' };
    if (f.draining) return { status: 'healthy', message: 'coordinator stopped: broker shutting down' };
    return { status: 'unhealthy', message: 'coordinator stuck: its driver stopped ticking (not running)' };
  }
  if (f.lastTickMs !== null && f.nowMs - f.lastTickMs > f.tickStallMs) {
    return {
      status: 'unhealthy',
      message: `coordinator stuck: no tick for ${f.nowMs - f.lastTickMs} ms (over ${f.tickStallMs} ms)`,
    };
  }
  if (f.oldestRebalanceStartedMs !== null && f.nowMs - f.oldestRebalanceStartedMs > f.rebalanceTimeoutMs) {
    return {
      status: 'unhealthy',
      message: `coordinator stuck: a rebalance has run for ${f.nowMs - f.oldestRebalanceStartedMs} ms (over resilience.timeouts.rebalance ${f.rebalanceTimeoutMs} ms); ${f.rebalancesInProgress} in progress`,
    };
  }
  if (!f.active) return { status: 'healthy', message: 'standby (another broker leads the metadata group)' };
  const rebalance =
    f.lastRebalanceMs === null
      ? 'no rebalance check yet'
      : `last rebalance check ${f.nowMs - f.lastRebalanceMs} ms ago`;
  const error = f.lastError === null ? '' : `; last error: ${f.lastError}`;
  return {
    status: 'healthy',
    message: `running on this broker; ${rebalance}; ${f.rebalancesInProgress} rebalances in progress; imbalance ${f.imbalanceScore ?? 'unknown'}${error}`,
  };
}

export interface ReplicasFacts {
  /** The first reconcile pass since start finished: every replica assigned here then was opened (or failed). */
  readonly loaded: boolean;
  readonly open: number;
  readonly led: number;
  readonly underReplicated: number;
}

/**
 * Counts for readiness, so a restarted broker is ready only once it has opened the replicas metadata
 * assigns it: opening hundreds takes seconds to tens of seconds, and a rolling restart that moved on to the
 * next broker meanwhile took a second replica of each of those partitions away.
 */
export function judgeReplicas(f: ReplicasFacts): CheckResult {
  if (!f.loaded)
    return { status: 'unhealthy', message: `opening partition replicas (${f.open} open so far)` };
  return {
    status: f.underReplicated > 0 ? 'degraded' : 'healthy',
    message: `${f.open} partition replicas here, ${f.led} led, ${f.underReplicated} of them under-replicated`,
  };
}

/**
 * The `partitions` check: what this broker has loaded. A single node's partitions are the log manager's
 * topics; in cluster mode they are the partition replicas hosted here (the log manager holds none, so its
 * topic count would say 0 on a busy broker). `replicaTopics`: the topic of each hosted replica.
 */
export function judgePartitions(
  f:
    | { readonly mode: 'single'; readonly topics: number }
    | { readonly mode: 'cluster'; readonly replicaTopics: readonly string[] },
): CheckResult {
  if (f.mode === 'single') return { status: 'healthy', message: `${f.topics} topics loaded` };
  const topics = new Set(f.replicaTopics).size;
  return {
    status: 'healthy',
    message: `${f.replicaTopics.length} partition replicas of ${topics} topics hosted`,
  };
}
