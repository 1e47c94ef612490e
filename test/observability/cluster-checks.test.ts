/**
 * The rules of the cluster health checks (raft, metadata, coordinator), one guarantee per test, on plain
 * facts: no cluster, no clock.
 */
import { describe, expect, it } from 'vitest';
import {
  type CoordinatorFacts,
  judgeCoordinator,
  judgeMetadata,
  judgePartitions,
  judgeRaft,
  judgeReplicas,
  type MetadataFacts,
  quorumOf,
  type RaftFacts,
} from '../../src/observability/cluster-checks.js';

const raft: RaftFacts = {
  running: true,
  role: 'follower',
  term: 4,
  leaderId: 2,
  voterCount: 3,
  votersReachable: 3,
  lastCommitAgeMs: 120,
  commitStaleMs: 3_000,
};

describe('raft check', () => {
  it('needs a majority: 2 of 3, 3 of 5, 1 of 1', () => {
    expect([quorumOf(1), quorumOf(3), quorumOf(4), quorumOf(5)]).toEqual([1, 2, 3, 3]);
  });

  it('is healthy with a leader, every voter heard and a recent commit', () => {
    const r = judgeRaft(raft);
    expect(r.status).toBe('healthy');
    expect(r.message).toBe('leader is 2; last commit 120 ms ago; 3 of 3 voters reachable, quorum 2');
  });

  it('is unhealthy without a known leader, naming role, term and reachability', () => {
    const r = judgeRaft({ ...raft, leaderId: 0, role: 'candidate', votersReachable: 1 });
    expect(r.status).toBe('unhealthy');
    expect(r.message).toBe(
      'quorum lost: no metadata leader known (role candidate, term 4; 1 of 3 voters reachable, quorum 2)',
    );
    // An election with a quorum still around is not called a lost quorum.
    expect(judgeRaft({ ...raft, leaderId: 0, votersReachable: 2 }).message).toMatch(/^no metadata leader/);
  });

  it('says a broker outside the group is still joining, naming the voters it contacts, not a lost quorum', () => {
    const joining = { ...raft, leaderId: 0, term: 0, voterCount: 0, votersReachable: 0 };
    expect(judgeRaft({ ...joining, nonVoter: { via: [1], learner: false } })).toEqual({
      status: 'unhealthy',
      message:
        'joining: no metadata leader reached yet through voter 1 (cluster.voters); not a member of the metadata group yet',
    });
    const learner = judgeRaft({
      ...raft,
      leaderId: 0,
      votersReachable: 0,
      nonVoter: { via: [1, 2], learner: true },
    });
    expect(learner.message).toBe(
      'no metadata leader reached yet through voters 1, 2 (cluster.voters); this broker is a learner (role follower, term 4)',
    );
    // Once it knows the leader, it is judged like any member.
    expect(judgeRaft({ ...raft, nonVoter: { via: [1], learner: true } }).status).toBe('healthy');
  });

  it('is unhealthy on a leader that hears fewer voters than a quorum', () => {
    const r = judgeRaft({ ...raft, role: 'leader', leaderId: 1, votersReachable: 1 });
    expect(r).toEqual({
      status: 'unhealthy',
      message: 'quorum lost: leader hears 1 of 3 voters reachable, quorum 2',
    });
  });

  it('does not count a follower in its leader lease as quorum lost (the leader holds the quorum)', () => {
    const r = judgeRaft({ ...raft, voterCount: 5, votersReachable: 2 });
    expect(r.status).toBe('degraded');
    expect(r.message).toBe('leader is 2; 2 of 5 voters reachable, quorum 3');
  });

  it('is degraded when a voter is unreachable but the quorum holds', () => {
    expect(judgeRaft({ ...raft, votersReachable: 2 }).status).toBe('degraded');
  });

  it('is degraded when nothing committed for longer than the stale bound', () => {
    const r = judgeRaft({ ...raft, lastCommitAgeMs: 3_001 });
    expect(r.status).toBe('degraded');
    expect(r.message).toBe(
      'leader is 2; no commit for 3001 ms (over 3000 ms); 3 of 3 voters reachable, quorum 2',
    );
    expect(judgeRaft({ ...raft, lastCommitAgeMs: 3_000 }).status).toBe('healthy');
    expect(judgeRaft({ ...raft, lastCommitAgeMs: undefined }).message).toMatch(/no commit yet/);
  });

  it('is healthy on a decommissioned broker that left the cluster, which commits nothing by design', () => {
    // Removed from the metadata group, it hears no commits: judged as a member it went "degraded: no commit"
    // (and "no leader" once the group elected another), paging on-call for a broker correctly idle.
    const left = { ...raft, lastCommitAgeMs: 60_000, votersReachable: 0, decommissioned: true };
    const r = judgeRaft(left);
    expect(r.status).toBe('healthy');
    expect(r.message).toMatch(/^decommissioned: no longer a cluster member/);
    expect(judgeRaft({ ...left, leaderId: 0 }).status).toBe('healthy');
    expect(judgeRaft({ ...left, running: false }).status).toBe('unhealthy');
  });

  it('is unhealthy once Raft stopped on a fatal error, whatever else holds', () => {
    const r = judgeRaft({ ...raft, running: false, fatalError: 'EIO: write failed' });
    expect(r).toEqual({ status: 'unhealthy', message: 'metadata raft stopped: EIO: write failed' });
  });

  it('says "leader is this broker" on the leader', () => {
    expect(judgeRaft({ ...raft, role: 'leader', leaderId: 1 }).message).toMatch(/^leader is this broker;/);
  });
});

const metadata: MetadataFacts = {
  raftRunning: true,
  leaderId: 1,
  breaker: 'closed',
  breakerOpenForMs: 0,
  breakerOpenTimeoutMs: 30_000,
  commitIndex: 40,
  appliedIndex: 40,
  applyStalledMs: 0,
  applyStallMaxMs: 5_000,
  storageError: null,
};

describe('metadata check', () => {
  it('is healthy when it can propose, applies what commits and can write its log', () => {
    expect(judgeMetadata(metadata)).toEqual({
      status: 'healthy',
      message: 'can propose; applied 40 of 40 committed; storage writable',
    });
  });

  it('cannot propose without a leader', () => {
    expect(judgeMetadata({ ...metadata, leaderId: 0 })).toEqual({
      status: 'unhealthy',
      message: 'cannot propose: no metadata leader known',
    });
  });

  it('cannot propose while the breaker is open; degraded once its open timeout passed or half-open', () => {
    const open = judgeMetadata({ ...metadata, breaker: 'open', breakerOpenForMs: 1_200 });
    expect(open.status).toBe('unhealthy');
    expect(open.message).toMatch(/circuit breaker open for 1200 ms.*CIRCUIT_OPEN/);
    expect(judgeMetadata({ ...metadata, breaker: 'open', breakerOpenForMs: 30_000 }).status).toBe('degraded');
    expect(judgeMetadata({ ...metadata, breaker: 'half-open' }).status).toBe('degraded');
  });

  it('is unhealthy when committed entries stop applying for longer than the proposal timeout', () => {
    const stuck = { ...metadata, appliedIndex: 38, applyStalledMs: 5_001 };
    expect(judgeMetadata(stuck)).toEqual({
      status: 'unhealthy',
      message: 'state machine stuck: applied 38 of 40 committed, nothing applied for 5001 ms (over 5000 ms)',
    });
    // Behind but moving (or behind for less than the bound) is normal.
    expect(judgeMetadata({ ...stuck, applyStalledMs: 5_000 }).status).toBe('healthy');
  });

  it('is unhealthy when the log directory is not writable', () => {
    const r = judgeMetadata({ ...metadata, storageError: 'EROFS: read-only file system' });
    expect(r).toEqual({
      status: 'unhealthy',
      message: 'metadata storage not writable: EROFS: read-only file system',
    });
  });

  it('is unhealthy once Raft stopped', () => {
    expect(judgeMetadata({ ...metadata, raftRunning: false }).message).toBe('metadata raft stopped');
  });
});

const coordinator: CoordinatorFacts = {
  running: true,
  draining: false,
  lastTickMs: 10_000,
  active: true,
  lastRebalanceMs: 8_000,
  rebalancesInProgress: 0,
  oldestRebalanceStartedMs: null,
  imbalanceScore: 0,
  lastError: null,
  nowMs: 10_050,
  rebalanceTimeoutMs: 30_000,
  tickStallMs: 5_000,
};

describe('coordinator check', () => {
  it('is healthy while ticking, active or standby', () => {
    expect(judgeCoordinator(coordinator)).toEqual({
      status: 'healthy',
      message:
        'running on this broker; last rebalance check 2050 ms ago; 0 rebalances in progress; imbalance 0',
    });
    expect(judgeCoordinator({ ...coordinator, active: false }).message).toMatch(/^standby/);
  });

  it('is stuck when a rebalance has run longer than resilience.timeouts.rebalance', () => {
    const r = judgeCoordinator({
      ...coordinator,
      rebalancesInProgress: 2,
      oldestRebalanceStartedMs: -20_000,
    });
    expect(r.status).toBe('unhealthy');
    expect(r.message).toBe(
      'coordinator stuck: a rebalance has run for 30050 ms (over resilience.timeouts.rebalance 30000 ms); 2 in progress',
    );
    const young = { ...coordinator, rebalancesInProgress: 1, oldestRebalanceStartedMs: -19_950 };
    expect(judgeCoordinator(young).status).toBe('healthy');
  });

  it('is stuck when its driver stopped ticking', () => {
    const r = judgeCoordinator({ ...coordinator, nowMs: 15_001 });
    expect(r).toEqual({
      status: 'unhealthy',
      message: 'coordinator stuck: no tick for 5001 ms (over 5000 ms)',
    });
  });

  it('is stuck when its driver is not running, except before its first tick or while the broker drains', () => {
    expect(judgeCoordinator({ ...coordinator, running: false }).status).toBe('unhealthy');
    expect(judgeCoordinator({ ...coordinator, running: false, lastTickMs: null }).status).toBe('healthy');
    expect(judgeCoordinator({ ...coordinator, running: false, draining: true }).status).toBe('healthy');
  });

  it('reports the last coordinator error in its message without judging it', () => {
    const r = judgeCoordinator({ ...coordinator, lastError: 'updateBroker: CIRCUIT_OPEN' });
    expect(r.status).toBe('healthy');
    expect(r.message).toMatch(/last error: updateBroker: CIRCUIT_OPEN$/);
  });
});

describe('replicas check', () => {
  it('holds readiness back until the replicas assigned at start are open, then degrades only on under-replication', () => {
    const facts = { loaded: false, open: 120, led: 40, underReplicated: 0 };
    expect(judgeReplicas(facts)).toEqual({
      status: 'unhealthy',
      message: 'opening partition replicas (120 open so far)',
    });
    expect(judgeReplicas({ ...facts, loaded: true }).status).toBe('healthy');
    expect(judgeReplicas({ ...facts, loaded: true, underReplicated: 2 })).toEqual({
      status: 'degraded',
      message: '120 partition replicas here, 40 led, 2 of them under-replicated',
    });
  });
});

describe('partitions check', () => {
  it("counts a single node's topics, and in cluster mode the replicas hosted here and their topics", () => {
    expect(judgePartitions({ mode: 'single', topics: 4 })).toEqual({
      status: 'healthy',
      message: '4 topics loaded',
    });
    expect(judgePartitions({ mode: 'cluster', replicaTopics: ['a', 'a', 'b', 'a'] })).toEqual({
      status: 'healthy',
      message: '4 partition replicas of 2 topics hosted',
    });
  });
});
