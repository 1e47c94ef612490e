/**
 * DescribeCluster's data: the broker registry, the metadata quorum's leader and term, per-broker replica,
 * leader and pending move counts, the imbalance score and under-replicated partitions. Cluster mode reads the local replica
 * of the metadata store (a follower may lag the leader by a few milliseconds; no read-index round trip, so
 * `cluster status` answers even without a quorum). A single-node broker describes itself through the same
 * code path, as a one-broker metadata image built from its catalog.
 */

import { imbalanceScore } from '../cluster/load.js';
import { toClusterView } from '../cluster/metadata-view.js';
import { NO_CLIENT_QUOTA_OVERRIDES } from '../metadata/client-quota-rules.js';
import { SUPPORTED_FEATURE_LEVEL } from '../metadata/feature-levels.js';
import type { MetadataView } from '../metadata/state.js';
import type { BrokerRecord, PartitionRecord, TopicRecord } from '../metadata/types.js';
import type {
  ClusterBrokerDescription,
  DescribeClusterResponse,
  MetadataReplicaDescription,
} from '../protocol/messages.js';
import type { FollowerProgress } from '../raft/core/raft.js';
import type { ClusterInfoProvider, LocalBrokerFacts } from './handlers/context.js';

/** The parts of a ClusterNode DescribeCluster reads (structural, so tests can pass a fake). */
export interface MetadataQuorumSource {
  status(): Omit<QuorumFacts, 'replication'> & {
    readonly id: number;
    readonly role: string;
    readonly lastIndex: number;
  };
  readonly raft: { progress(): readonly FollowerProgress[] };
  /** Milliseconds since a peer's Raft traffic last arrived; undefined if it never did. */
  peerSilentForMs(brokerId: number): number | undefined;
  readonly store: { snapshotView(): MetadataView };
}

/** The quorum facts that do not live in the metadata image. */
export interface QuorumFacts {
  /** Raft leader id; 0 (Raft's "none") and negatives become -1 on the wire. */
  readonly leaderId: number;
  readonly term: number;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  /** The members' replication as the leader sees it; empty elsewhere. */
  readonly replication: readonly MetadataReplicaDescription[];
}

/** Pure: one DescribeCluster answer from a metadata image and the quorum's leader and term. */
export function describeCluster(
  view: MetadataView,
  quorum: QuorumFacts,
  local: Pick<LocalBrokerFacts, 'self' | 'clusterId'>,
  heartbeatTimeoutMs: number,
): DescribeClusterResponse {
  const replicas = new Map<number, number>();
  const leaders = new Map<number, number>();
  let partitions = 0;
  let underReplicated = 0;
  for (const topic of view.topics.values()) {
    for (const p of topic.partitions) {
      partitions += 1;
      if (p.isr.length < p.replicas.length) underReplicated += 1;
      for (const id of p.replicas) replicas.set(id, (replicas.get(id) ?? 0) + 1);
      if (p.leader >= 0) leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
    }
  }
  // A move drops its old replica from the list at once, but completes only once the new replica is in sync,
  // which the leader says only after its Raft group stopped counting the old one (rebalance-executor.ts).
  // Until then the partition still sits on the old broker: counting the list alone showed a draining broker
  // empty while groups still needed it, and an operator following the runbook stopped it too early.
  const movingOff = new Map<number, number>();
  for (const m of view.moves.values()) {
    movingOff.set(m.from, (movingOff.get(m.from) ?? 0) + 1);
    const p = view.topics.get(m.topic)?.partitions[m.partition];
    if (p !== undefined && !p.replicas.includes(m.from))
      replicas.set(m.from, (replicas.get(m.from) ?? 0) + 1);
  }
  const brokers: ClusterBrokerDescription[] = [...view.brokers.values()]
    .sort((a, b) => a.id - b.id)
    .map((b) => ({
      id: b.id,
      host: b.clientAddress.host,
      port: b.clientAddress.port,
      rack: b.rack,
      state: b.state,
      peerHost: b.peerAddress.host,
      peerPort: b.peerAddress.port,
      epoch: b.epoch,
      lastHeartbeatMs: Math.max(0, b.lastHeartbeatMs),
      replicas: replicas.get(b.id) ?? 0,
      leaders: leaders.get(b.id) ?? 0,
      movingOff: movingOff.get(b.id) ?? 0,
      featureLevel: b.featureLevel,
    }));
  const imbalance = imbalanceScore(toClusterView(view, { heartbeatTimeoutMs }));
  return {
    clusterId: local.clusterId(),
    brokerId: local.self.id,
    metadataLeaderId: quorum.leaderId > 0 ? quorum.leaderId : -1,
    metadataTerm: quorum.term,
    metadataVersion: view.version,
    metadataVoters: [...quorum.voters].sort((a, b) => a - b),
    metadataLearners: [...quorum.learners].sort((a, b) => a - b),
    metadataReplication: [...quorum.replication].sort((a, b) => a.brokerId - b.brokerId),
    brokers,
    imbalance: {
      score: imbalance.score,
      replicaScore: imbalance.replicaScore,
      leaderScore: imbalance.leaderScore,
    },
    partitions,
    underReplicatedPartitions: underReplicated,
    featureLevel: view.featureLevel,
    supportedFeatureLevel: SUPPORTED_FEATURE_LEVEL,
  };
}

/** Cluster mode: the metadata store's local image and the metadata Raft group's status. */
export function quorumClusterInfo(
  source: MetadataQuorumSource,
  heartbeatTimeoutMs: number,
): (local: Pick<LocalBrokerFacts, 'self' | 'clusterId'>) => DescribeClusterResponse {
  return (local) => {
    const status = source.status();
    const quorum = {
      leaderId: status.leaderId,
      term: status.term,
      voters: status.voters,
      learners: status.learners,
      replication: status.role === 'leader' ? replicationOf(source, status.id, status.lastIndex) : [],
    };
    return describeCluster(source.store.snapshotView(), quorum, local, heartbeatTimeoutMs);
  };
}

/** The leader's view of each member's metadata log (itself: its last index, heard from now). */
function replicationOf(
  source: MetadataQuorumSource,
  selfId: number,
  lastIndex: number,
): MetadataReplicaDescription[] {
  const others = source.raft
    .progress()
    .filter((p) => p.id !== selfId)
    .map((p) => ({
      brokerId: p.id,
      matchIndex: p.match,
      lag: Math.max(0, lastIndex - p.match),
      silentMs: Math.round(source.peerSilentForMs(p.id) ?? -1),
    }));
  return [{ brokerId: selfId, matchIndex: lastIndex, lag: 0, silentMs: 0 }, ...others];
}

/**
 * A single-node broker: itself, alive, leading its own (metadata-less) cluster and every partition its
 * catalog reports. Term and version are 0: there is no metadata log.
 */
export const singleNodeClusterInfo: ClusterInfoProvider = (local) =>
  describeCluster(
    selfImage(local),
    { leaderId: local.self.id, term: 0, voters: [local.self.id], learners: [], replication: [] },
    local,
    0,
  );

function selfImage(local: LocalBrokerFacts): MetadataView {
  const self: BrokerRecord = {
    id: local.self.id,
    clientAddress: { host: local.self.host, port: local.self.port },
    // No peer listener without cluster mode.
    peerAddress: { host: '', port: 0 },
    rack: local.self.rack,
    state: 'alive',
    lastHeartbeatMs: 0,
    capacityHint: 1,
    epoch: 0,
    registeredVersion: 0,
    featureLevel: SUPPORTED_FEATURE_LEVEL,
  };
  const topics = new Map<string, TopicRecord>();
  for (const t of local.catalog.listTopics()) {
    const partitions: PartitionRecord[] = [];
    for (let p = 0; p < t.partitions; p++) {
      const placement = local.catalog.placement(t.name, p);
      partitions.push({
        partition: p,
        replicas: placement?.replicas ?? [local.self.id],
        leader: placement?.leaderId ?? local.self.id,
        leaderEpoch: placement?.leaderEpoch ?? 0,
        isr: placement?.isr ?? [local.self.id],
      });
    }
    topics.set(t.name, {
      name: t.name,
      partitions,
      replicationFactor: t.replicationFactor,
      configs: t.configs,
      internal: t.internal,
      createdVersion: 0,
    });
  }
  return {
    version: 0,
    brokers: new Map([[self.id, self]]),
    topics,
    moves: new Map(),
    clusterConfig: {},
    // A single node is its whole cluster: everything its build supports is in use.
    featureLevel: SUPPORTED_FEATURE_LEVEL,
    clusterId: null,
    // Not read from this view: a single node's overrides live in its catalog (local-catalog.ts).
    clientQuotas: NO_CLIENT_QUOTA_OVERRIDES,
  };
}
