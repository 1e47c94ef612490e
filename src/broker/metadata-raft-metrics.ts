/**
 * The metadata Raft group's raft_* metrics (the raft_* names describe that group only): proposals and their
 * commit latency, counted on the store's way into Raft, and the group's voters, commit and applied index and
 * leader changes, from its events.
 */
import type { MetadataRaft } from '../metadata/index.js';
import type { MetricsRegistry } from '../observability/index.js';
import type { RaftNode } from '../raft/node.js';
import type { CallOptions } from '../raft/node-types.js';

/** The store's view of Raft, counting proposals and their commit latency (raft_proposal*). */
export function measuredRaft(raft: RaftNode, metrics: MetricsRegistry, nowMs: () => number): MetadataRaft {
  return {
    id: raft.id,
    status: () => raft.status(),
    readIndex: (options?: CallOptions) => raft.readIndex(options),
    propose: async (data: Uint8Array, options?: CallOptions) => {
      metrics.raftProposalsTotal.inc();
      const startedAt = nowMs();
      const result = await raft.propose(data, options);
      metrics.raftProposalDurationSeconds.observe((nowMs() - startedAt) / 1000);
      return result;
    },
  };
}

/** raft_peers_count, raft_commit_index, raft_applied_index and raft_leadership_changes_total. */
export function bindMetadataRaftMetrics(raft: RaftNode, metrics: MetricsRegistry): void {
  metrics.raftPeersCount.set(raft.status().voters.length);
  raft.on('commit', ({ commitIndex }) => metrics.raftCommitIndex.set(commitIndex));
  raft.on('applied', ({ appliedIndex }) => metrics.raftAppliedIndex.set(appliedIndex));
  raft.on('conf-change', ({ conf }) => metrics.raftPeersCount.set(conf.voters.length));
  // RaftNode itself logs every role and leader change (component 'raft'); count only a newly known leader.
  raft.on('leader-change', ({ leaderId }) => {
    if (leaderId !== 0) metrics.raftLeadershipChangesTotal.inc();
  });
}
