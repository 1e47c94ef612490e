/**
 * DescribeCluster: a single-node broker describes itself as a one-broker cluster it leads (through the SDK's
 * Admin), and the pure builder counts replicas, leaders and under-replicated partitions from a metadata
 * image and maps Raft's "no leader" (0) to -1.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  describeCluster,
  type MetadataQuorumSource,
  quorumClusterInfo,
} from '../../src/broker/cluster-info.js';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { SUPPORTED_FEATURE_LEVEL } from '../../src/metadata/feature-levels.js';
import type { MetadataView } from '../../src/metadata/state.js';
import {
  type BrokerRecord,
  type BrokerState,
  type MoveRecord,
  moveKey,
  type PartitionRecord,
} from '../../src/metadata/types.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

describe('DescribeCluster on a single-node broker', () => {
  let b: InProcessBroker;
  let client: StreamBusClient;

  beforeAll(async () => {
    b = await startInProcessBroker();
    client = createClient({ bootstrap: [b.bootstrap], clientId: 'describe-cluster-test' });
  });
  afterAll(async () => {
    await client?.close();
    await b?.destroy();
  });

  test('answers with itself as the only broker, alive, and as the metadata leader', async () => {
    const res = await client.admin().describeCluster();
    expect(res).toMatchObject({
      brokerId: 1,
      metadataLeaderId: 1,
      metadataTerm: 0,
      metadataVoters: [1],
      metadataLearners: [],
      metadataReplication: [],
      partitions: 0,
      underReplicatedPartitions: 0,
      imbalance: { score: 0, replicaScore: 0, leaderScore: 0 },
    });
    expect(res.clusterId.length).toBeGreaterThan(0);
    expect(res.brokers).toEqual([
      {
        id: 1,
        host: b.host,
        port: b.port,
        rack: null,
        state: 'alive',
        peerHost: '',
        peerPort: 0,
        epoch: 0,
        lastHeartbeatMs: 0,
        replicas: 0,
        leaders: 0,
        movingOff: 0,
        featureLevel: SUPPORTED_FEATURE_LEVEL,
      },
    ]);
    // Asked at v1 (the SDK's first choice): a single node runs at everything its build supports.
    expect(res).toMatchObject({
      featureLevel: SUPPORTED_FEATURE_LEVEL,
      supportedFeatureLevel: SUPPORTED_FEATURE_LEVEL,
    });
  });

  test('counts every partition of its topics as a replica and a leadership of its own', async () => {
    await client.admin().createTopic({ name: 'dc-orders', partitions: 3 });
    await client.admin().createTopic({ name: 'dc-events', partitions: 2 });
    const res = await client.admin().describeCluster();
    expect(res.partitions).toBe(5);
    expect(res.underReplicatedPartitions).toBe(0);
    expect(res.brokers.map((x) => [x.id, x.replicas, x.leaders])).toEqual([[1, 5, 5]]);
    expect(res.imbalance.score).toBe(0);
  });
});

function broker(id: number, state: BrokerState = 'alive'): BrokerRecord {
  return {
    id,
    clientAddress: { host: '10.0.0.1', port: 9090 + id },
    peerAddress: { host: '10.0.0.1', port: 9190 + id },
    rack: id === 1 ? 'a' : null,
    state,
    lastHeartbeatMs: 1_000 * id,
    capacityHint: 1,
    epoch: id,
    registeredVersion: 1,
    featureLevel: 1,
  };
}

function image(brokers: BrokerRecord[], partitions: PartitionRecord[]): MetadataView {
  return {
    clusterId: null,
    version: 17,
    brokers: new Map(brokers.map((x) => [x.id, x])),
    topics: new Map([
      ['t', { name: 't', partitions, replicationFactor: 2, configs: {}, internal: false, createdVersion: 1 }],
    ]),
    moves: new Map(),
    clusterConfig: {},
    clientQuotas: new Map(),
    featureLevel: 1,
  };
}

describe('describeCluster (pure)', () => {
  const local = { self: { id: 2, host: '10.0.0.1', port: 9092, rack: null }, clusterId: () => 'c1' };

  test('counts replicas and leaders per broker and partitions whose isr is shorter than replicas', () => {
    const view = image(
      [broker(3), broker(1), broker(2, 'failed')],
      [
        { partition: 0, replicas: [1, 2], leader: 1, leaderEpoch: 1, isr: [1, 2] },
        { partition: 1, replicas: [2, 3], leader: 3, leaderEpoch: 1, isr: [3] },
        { partition: 2, replicas: [3, 1], leader: -1, leaderEpoch: 1, isr: [] },
      ],
    );
    const res = describeCluster(
      view,
      { leaderId: 3, term: 4, voters: [3, 1], learners: [2], replication: [] },
      local,
      3_000,
    );
    expect(res).toMatchObject({
      clusterId: 'c1',
      brokerId: 2,
      metadataLeaderId: 3,
      metadataTerm: 4,
      metadataVersion: 17,
      metadataVoters: [1, 3],
      metadataLearners: [2],
      partitions: 3,
      underReplicatedPartitions: 2,
    });
    expect(res.brokers.map((x) => [x.id, x.state, x.replicas, x.leaders])).toEqual([
      [1, 'alive', 2, 1],
      [2, 'failed', 2, 0],
      [3, 'alive', 2, 1],
    ]);
    expect(res.brokers[0]).toMatchObject({
      host: '10.0.0.1',
      port: 9091,
      peerPort: 9191,
      rack: 'a',
      epoch: 1,
    });
    // Two replicas sit on a failed broker: the cluster is out of balance.
    expect(res.imbalance.score).toBeGreaterThan(0);
    expect(res.imbalance.score).toBe(Math.max(res.imbalance.replicaScore, res.imbalance.leaderScore));
  });

  test('counts a partition on the broker a move is taking it off until the move completes', () => {
    // Broker 3 is draining: partition 0's list already names 4 instead, but the move is pending (4 not in
    // sync yet), so 0's Raft group may still count 3 as a voter; partition 1's move is recorded, not applied.
    const view = image(
      [broker(1), broker(2), broker(3, 'draining'), broker(4)],
      [
        { partition: 0, replicas: [1, 4], leader: 1, leaderEpoch: 2, isr: [1] },
        { partition: 1, replicas: [3, 2], leader: 2, leaderEpoch: 1, isr: [3, 2] },
      ],
    );
    const moves = view.moves as Map<string, MoveRecord>;
    for (const [partition, to] of [
      [0, 4],
      [1, 1],
    ] as const) {
      moves.set(moveKey('t', partition, 3, to), {
        topic: 't',
        partition,
        from: 3,
        to,
        state: 'pending',
        recordedVersion: 16,
      });
    }
    const res = describeCluster(
      view,
      { leaderId: 1, term: 4, voters: [1, 2, 3], learners: [4], replication: [] },
      local,
      3_000,
    );
    expect(res.brokers.map((x) => [x.id, x.replicas, x.movingOff])).toEqual([
      [1, 1, 0],
      [2, 1, 0],
      [3, 2, 2],
      [4, 1, 0],
    ]);
  });

  test("Raft's no-leader id 0 is reported as -1", () => {
    const res = describeCluster(
      image([broker(1)], []),
      { leaderId: 0, term: 1, voters: [1], learners: [], replication: [] },
      local,
      3_000,
    );
    expect(res.metadataLeaderId).toBe(-1);
    expect(res.imbalance).toEqual({ score: 0, replicaScore: 0, leaderScore: 0 });
  });

  test("the metadata leader reports each member's replication (lag behind its last index, time since heard); a follower none", () => {
    const progress = [
      { id: 3, match: 120, next: 121, isLearner: false, recentActive: true },
      { id: 1, match: 117, next: 118, isLearner: false, recentActive: true },
      { id: 2, match: 40, next: 41, isLearner: true, recentActive: false },
    ];
    let role = 'leader';
    const source: MetadataQuorumSource = {
      status: () => ({ id: 3, role, lastIndex: 120, leaderId: 3, term: 4, voters: [1, 3], learners: [2] }),
      raft: { progress: () => progress },
      peerSilentForMs: (id) => (id === 1 ? 12.4 : undefined),
      store: { snapshotView: () => image([broker(1), broker(2), broker(3)], []) },
    };
    const info = quorumClusterInfo(source, 3_000);
    expect(info(local).metadataReplication).toEqual([
      { brokerId: 1, matchIndex: 117, lag: 3, silentMs: 12 },
      { brokerId: 2, matchIndex: 40, lag: 80, silentMs: -1 },
      { brokerId: 3, matchIndex: 120, lag: 0, silentMs: 0 },
    ]);
    role = 'follower';
    expect(info(local).metadataReplication).toEqual([]);
  });
});
