/**
 * A cluster broker's health checks (`raft`, `metadata_catch_up`, `metadata`, `coordinator`, `brokers`) and the /health/raft body,
 * from the live metadata Raft node, store and coordinator. The judgements themselves are pure functions in
 * observability/cluster-checks.ts; this module gathers their facts.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerConfig } from '../config/types.js';
import { SUPPORTED_FEATURE_LEVEL } from '../metadata/feature-levels.js';
import type { MetadataStateMachine, MetadataStore } from '../metadata/index.js';
import { CATCH_UP_START, type CatchUp, judgeCatchUp, nextCatchUp } from '../observability/catch-up-check.js';
import {
  COORDINATOR_STALL_MS,
  judgeCoordinator,
  judgeMetadata,
  judgeRaft,
  quorumOf,
  type RaftFacts,
} from '../observability/cluster-checks.js';
import type { CheckResult } from '../observability/health.js';
import type { RaftHealthView } from '../observability/http-server.js';
import type { OpsStack } from '../observability/index.js';
import type { NodeId } from '../raft/core/types.js';
import type { RaftNode } from '../raft/node.js';
import type { RaftNodeStatus } from '../raft/node-types.js';
import { METADATA_DIR } from '../storage/log-manager.js';
import type { ClusterCoordinator } from './cluster-coordinator.js';

/** The checks run this often (the default 5 s would hold readiness back after an election). */
const RAFT_CHECK_INTERVAL_MS = 250;

export interface ClusterHealthSources {
  readonly config: BrokerConfig;
  readonly raft: RaftNode;
  readonly transport: { isHeardFrom(id: NodeId): boolean };
  readonly store: MetadataStore;
  readonly stateMachine: MetadataStateMachine;
  readonly coordinator: ClusterCoordinator;
  readonly nowMs: () => number;
  /** Set when the metadata Raft node stopped on a fatal error. */
  readonly raftFatal: () => string | undefined;
  /** True once this broker was decommissioned and then unregistered (it left the cluster). */
  readonly leftCluster: () => boolean;
  /** The other brokers cluster.voters names: where this broker joins through while outside the group. */
  readonly contactVoters: readonly NodeId[];
}

/** Registers the checks and the /health/raft body; returns what undoes it. */
export function registerClusterHealth(ops: OpsStack, s: ClusterHealthSources): () => void {
  ops.health.register({
    name: 'raft',
    critical: true,
    intervalMs: RAFT_CHECK_INTERVAL_MS,
    check: async () => judgeRaft(raftFacts(s, s.raft.status())),
  });
  let catchUp: CatchUp = CATCH_UP_START;
  ops.health.register({
    name: 'metadata_catch_up',
    // Not ready with metadata older than what was committed when this broker came back (catch-up-check.ts).
    critical: true,
    intervalMs: RAFT_CHECK_INTERVAL_MS,
    check: async () => {
      const status = s.raft.status();
      catchUp = nextCatchUp(catchUp, status);
      return judgeCatchUp(catchUp, status.appliedIndex);
    },
  });
  ops.health.register({
    name: 'metadata',
    // Readiness follows `raft`; a broker whose metadata writes fail still serves the partitions it leads.
    critical: false,
    intervalMs: RAFT_CHECK_INTERVAL_MS,
    check: metadataCheck(s),
  });
  ops.health.register({
    name: 'coordinator',
    critical: false,
    intervalMs: RAFT_CHECK_INTERVAL_MS,
    check: async () =>
      judgeCoordinator({
        ...s.coordinator.status(),
        draining: ops.health.isDraining(),
        nowMs: s.nowMs(),
        rebalanceTimeoutMs: s.config.resilience.timeouts.rebalanceMs,
        tickStallMs: COORDINATOR_STALL_MS,
      }),
  });
  ops.health.register({
    name: 'brokers',
    critical: false,
    intervalMs: RAFT_CHECK_INTERVAL_MS,
    check: async () => {
      const brokers = [...s.store.snapshotView().brokers.values()];
      const failed = brokers.filter((b) => b.state === 'failed').map((b) => b.id);
      const alive = brokers.filter((b) => b.state === 'alive').length;
      const newest = Math.max(0, ...brokers.map((b) => b.lastHeartbeatMs));
      const message = `${alive} of ${brokers.length} brokers alive${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}; newest heartbeat ${newest > 0 ? `${Math.max(0, s.nowMs() - newest)} ms ago` : 'none'}`;
      return { status: failed.length > 0 ? 'degraded' : 'healthy', message };
    },
  });
  ops.server?.setRaftHealthProvider(() => raftHealthView(s));
  return () => {
    for (const name of ['raft', 'metadata_catch_up', 'metadata', 'coordinator', 'brokers'])
      ops.health.unregister(name);
    ops.server?.setRaftHealthProvider(undefined);
  };
}

/** The /health/raft body: the `raft` check's judgement (see judgeRaft) over the live status. */
export function raftHealthView(src: ClusterHealthSources): RaftHealthView {
  const s = src.raft.status();
  const facts = raftFacts(src, s);
  const verdict = judgeRaft(facts);
  return {
    status: verdict.status,
    message: verdict.message ?? '',
    node_id: s.id,
    group: s.groupId,
    role: s.role,
    term: s.term,
    leader_id: s.leaderId !== 0 ? s.leaderId : null,
    commit_index: s.commitIndex,
    applied_index: s.appliedIndex,
    last_index: s.lastIndex,
    voters: s.voters,
    quorum: quorumOf(s.voters.length),
    voters_reachable: facts.votersReachable,
    last_commit_age_ms: s.lastCommitAgeMs ?? null,
    commit_stale_ms: facts.commitStaleMs,
    metadata_version: src.stateMachine.version,
    // A rolling upgrade is done once the cluster level reaches what every build supports (docs/operations.md).
    feature_level: { cluster: src.stateMachine.featureLevel, supported: SUPPORTED_FEATURE_LEVEL },
    brokers: [...src.store.snapshotView().brokers.values()].map((b) => ({
      id: b.id,
      state: b.state,
      client: `${b.clientAddress.host}:${b.clientAddress.port}`,
      peer: `${b.peerAddress.host}:${b.peerAddress.port}`,
      epoch: b.epoch,
      last_heartbeat_ms: b.lastHeartbeatMs,
      feature_level: b.featureLevel,
    })),
  };
}

/** What judgeRaft decides from: status, the voters this node hears, and the commit staleness bound. */
function raftFacts(src: ClusterHealthSources, s: RaftNodeStatus): RaftFacts {
  const heard = s.voters.filter((id) => id !== s.id && src.transport.isHeardFrom(id)).length;
  const fatal = src.raftFatal();
  const voter = s.voters.includes(s.id) || s.votersOutgoing.includes(s.id);
  return {
    running: fatal === undefined,
    ...(fatal === undefined ? {} : { fatalError: fatal }),
    role: s.role,
    term: s.term,
    leaderId: s.leaderId,
    voterCount: s.voters.length,
    votersReachable: heard + (s.voters.includes(s.id) ? 1 : 0),
    lastCommitAgeMs: s.lastCommitAgeMs,
    commitStaleMs: src.config.resilience.timeouts.heartbeatTimeoutMs,
    // A voter still counts for the quorum (docs say to demote it first): judge it as one.
    decommissioned: src.leftCluster() && !s.voters.includes(s.id),
    ...(voter ? {} : { nonVoter: { via: src.contactVoters, learner: s.learners.includes(s.id) } }),
  };
}

/**
 * The `metadata` check (judgeMetadata): can propose (leader known, breaker not open), the state machine
 * keeps applying what commits, the log's directory is writable. Remembers when applying last moved.
 */
function metadataCheck(src: ClusterHealthSources): () => Promise<CheckResult> {
  const dir = join(src.config.broker.dataDir, METADATA_DIR);
  let lastApplied = -1;
  let progressAtMs = src.nowMs();
  return async () => {
    const s = src.raft.status();
    const now = src.nowMs();
    if (s.appliedIndex !== lastApplied || s.appliedIndex >= s.commitIndex) {
      lastApplied = s.appliedIndex;
      progressAtMs = now;
    }
    let storageError: string | null = null;
    try {
      await access(dir, constants.W_OK);
    } catch (err) {
      storageError = err instanceof Error ? err.message : String(err);
    }
    const breaker = src.store.breaker.stats();
    const fatal = src.raftFatal();
    return judgeMetadata({
      raftRunning: fatal === undefined,
      ...(fatal === undefined ? {} : { fatalError: fatal }),
      leaderId: s.leaderId,
      breaker: breaker.state,
      breakerOpenForMs: breaker.openedAtMs === null ? 0 : Math.max(0, now - breaker.openedAtMs),
      breakerOpenTimeoutMs: src.config.resilience.circuitBreaker.timeoutMs,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      applyStalledMs: now - progressAtMs,
      applyStallMaxMs: src.config.resilience.timeouts.proposalMs,
      storageError,
    });
  };
}
