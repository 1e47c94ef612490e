/**
 * `streambus cluster status` says whether a draining or decommissioned broker may be stopped, and only when
 * no partition's Raft group can still count it: not while a move off it is pending (its replica list no
 * longer names it, but its group may still have it as a voter), nor while partitions are under-replicated.
 */
import { describe, expect, it } from 'vitest';
import { renderClusterStatus } from '../../cmd/commands/cluster.js';
import type { ClusterBrokerDescription, DescribeClusterResponse } from '../../src/protocol/messages.js';

function broker(id: number, o: Partial<ClusterBrokerDescription> = {}): ClusterBrokerDescription {
  return {
    id,
    host: '127.0.0.1',
    port: 9090 + id,
    rack: null,
    state: 'alive',
    peerHost: '127.0.0.1',
    peerPort: 9190 + id,
    epoch: 1,
    lastHeartbeatMs: 1_000,
    replicas: 2,
    leaders: 1,
    movingOff: 0,
    ...o,
  };
}

function status(leaving: Partial<ClusterBrokerDescription>, underReplicated = 0): DescribeClusterResponse {
  return {
    clusterId: 'c1',
    brokerId: 1,
    metadataLeaderId: 1,
    metadataTerm: 2,
    metadataVersion: 40,
    metadataVoters: [1, 2, 3],
    metadataLearners: [4],
    metadataReplication: [],
    brokers: [broker(1), broker(2), broker(3), broker(4, { state: 'draining', ...leaving })],
    imbalance: { score: 0, replicaScore: 0, leaderScore: 0 },
    partitions: 6,
    underReplicatedPartitions: underReplicated,
  };
}

describe('cluster status', () => {
  it('shows a broker with moves off it still pending as holding those partitions, not safe to stop', () => {
    // The moves' new replicas are not in sync yet: the groups may still count broker 4 as a voter.
    const out = renderClusterStatus(status({ replicas: 2, movingOff: 2, leaders: 0 }, 2));
    expect(out).toMatch(/REPLICAS\s+MOVING OFF\s+LEADERS/);
    expect(out).toMatch(/^4\s+draining\s+.*\s2\s+2\s+0\s+-$/m);
    expect(out).toContain('broker 4 draining: NOT safe to stop: 2 partitions on it (2 still moving off');
  });

  it('says an empty broker is not safe to stop while partitions are under-replicated', () => {
    const out = renderClusterStatus(status({ replicas: 0, leaders: 0 }, 1));
    expect(out).toContain(
      'broker 4 draining: NOT safe to stop: holds nothing, but 1 partitions are under-replicated',
    );
  });

  it('says a metadata voter is not safe to stop, however empty', () => {
    const voter: DescribeClusterResponse = {
      ...status({ replicas: 0, leaders: 0 }),
      metadataVoters: [1, 2, 4],
      metadataLearners: [3],
    };
    expect(renderClusterStatus(voter)).toContain(
      'broker 4 draining: NOT safe to stop: it is a metadata voter; remove it first',
    );
  });

  it("shows the cluster feature level, each broker's, and which brokers hold an upgrade back", () => {
    const levels = (cluster: number, brokerLevels: number[]): DescribeClusterResponse => {
      const base = status({ replicas: 0, leaders: 0 });
      return {
        ...base,
        brokers: base.brokers.map((b, i) => ({ ...b, featureLevel: brokerLevels[i]! })),
        featureLevel: cluster,
        supportedFeatureLevel: 2,
      };
    };
    const mixed = renderClusterStatus(levels(1, [2, 1, 2, 1]));
    expect(mixed).toContain('feature level 1 (this build supports 2; brokers 2, 4 run an older build)');
    expect(mixed).toMatch(/^2\s+alive\s+.*\s1$/m);
    expect(renderClusterStatus(levels(1, [2, 2, 2, 2]))).toContain(
      'feature level 1 (this build supports 2; every broker supports it: finalizing, or held by cluster.feature_level_max)',
    );
    expect(renderClusterStatus(levels(2, [2, 2, 2, 2]))).toMatch(/^feature level 2$/m);
    // An answer at v0 (a broker of an older build) carries no levels.
    const old = renderClusterStatus(status({ replicas: 0, leaders: 0 }));
    expect(old).toContain('feature level unknown');
    expect(old).toMatch(/^1\*\s+alive\s+.*\s-$/m);
  });

  it('says safe to stop once the broker holds nothing, no move off it is pending and all is in sync', () => {
    expect(renderClusterStatus(status({ replicas: 0, leaders: 0 }))).toContain(
      'broker 4 draining: empty, safe to stop',
    );
    expect(renderClusterStatus(status({ state: 'decommissioned', replicas: 0, leaders: 0 }))).toContain(
      'broker 4 decommissioned: empty, safe to stop',
    );
  });

  it('warns that the view may be stale while the metadata quorum has no leader', () => {
    const lost = { ...status({ replicas: 0, leaders: 0 }), metadataLeaderId: -1 };
    expect(renderClusterStatus(lost)).toContain(
      'WARNING: the metadata quorum has no leader (fewer than 2 of 3 voters reachable from broker 1)',
    );
    expect(renderClusterStatus(status({ replicas: 0, leaders: 0 }))).not.toContain('WARNING');
  });
});
