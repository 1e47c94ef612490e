/** One fixed request and response per API version: the golden-byte tests pin their encodings. */

import { ApiKey, type RequestOf, type ResponseOf } from '../../src/protocol/messages.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { GROUP_SAMPLES, type GroupApiKey } from './group-samples.js';

const batch = encodeRecordBatch(
  [
    { key: 'k1', value: 'hello' },
    { value: 'world', headers: [{ key: 'h', value: null }] },
  ],
  {
    baseTimestamp: 1_700_000_000_000,
  },
);

const notLeader = { code: 300, category: 'retriable' as const, message: 'this node is not the leader' };

type BaseApiKey = Exclude<ApiKey, GroupApiKey>;

export interface Sample<K extends ApiKey> {
  apiKey: K;
  file: string;
  request: RequestOf<K>;
  response: ResponseOf<K>;
}

const BASE_SAMPLES: { [K in BaseApiKey]: Sample<K> } = {
  [ApiKey.Produce]: {
    apiKey: ApiKey.Produce,
    file: 'produce',
    request: { acks: -1, timeoutMs: 30000, partitions: [{ topic: 'orders', partition: 2, records: batch }] },
    response: {
      partitions: [
        {
          topic: 'orders',
          partition: 2,
          error: null,
          baseOffset: 5_000_000_000,
          logAppendTimeMs: -1,
          logStartOffset: 0,
          leaderHint: -1,
        },
        {
          topic: 'orders',
          partition: 3,
          error: notLeader,
          baseOffset: -1,
          logAppendTimeMs: -1,
          logStartOffset: -1,
          leaderHint: 3,
        },
      ],
    },
  },
  [ApiKey.Fetch]: {
    apiKey: ApiKey.Fetch,
    file: 'fetch',
    request: {
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 52428800,
      partitions: [{ topic: 'orders', partition: 0, fetchOffset: 42, partitionMaxBytes: 1048576 }],
    },
    response: {
      partitions: [
        {
          topic: 'orders',
          partition: 0,
          error: null,
          highWatermark: 44,
          logStartOffset: 0,
          leaderHint: -1,
          records: batch,
        },
        {
          topic: 'orders',
          partition: 1,
          error: { code: 203, category: 'invalid_input', message: 'offset out of range' },
          highWatermark: 10,
          logStartOffset: 0,
          leaderHint: -1,
          records: Buffer.alloc(0),
        },
      ],
    },
  },
  [ApiKey.ListOffsets]: {
    apiKey: ApiKey.ListOffsets,
    file: 'list-offsets',
    request: {
      partitions: [
        { topic: 'orders', partition: 0, timestamp: -2 },
        { topic: 'orders', partition: 1, timestamp: 1_700_000_000_000 },
      ],
    },
    response: {
      partitions: [
        { topic: 'orders', partition: 0, error: null, offset: 0, timestamp: -1 },
        { topic: 'orders', partition: 1, error: null, offset: 17, timestamp: 1_700_000_000_123 },
      ],
    },
  },
  [ApiKey.Metadata]: {
    apiKey: ApiKey.Metadata,
    file: 'metadata',
    request: { topics: ['orders'] },
    response: {
      clusterId: 'sb-cluster-1',
      controllerId: 1,
      brokers: [{ id: 1, host: '127.0.0.1', port: 9092, rack: null }],
      topics: [
        {
          name: 'orders',
          error: null,
          internal: false,
          partitions: [{ partition: 0, leaderId: 1, leaderEpoch: 0, replicas: [1], isr: [1], error: null }],
        },
        {
          name: 'missing',
          error: { code: 100, category: 'invalid_input', message: 'unknown topic or partition' },
          internal: false,
          partitions: [],
        },
      ],
    },
  },
  [ApiKey.ApiVersions]: {
    apiKey: ApiKey.ApiVersions,
    file: 'api-versions',
    request: {},
    response: {
      apis: [
        { apiKey: 0, minVersion: 0, maxVersion: 0 },
        { apiKey: 1, minVersion: 0, maxVersion: 0 },
      ],
      brokerVersion: '0.1.0',
    },
  },
  [ApiKey.CreateTopics]: {
    apiKey: ApiKey.CreateTopics,
    file: 'create-topics',
    request: {
      topics: [
        {
          name: 'orders',
          partitions: 3,
          replicationFactor: 1,
          configs: { retention_ms: '86400000' },
          assignments: null,
        },
        {
          name: 'pinned',
          partitions: 2,
          replicationFactor: 2,
          configs: {},
          assignments: [
            [1, 2],
            [2, 3],
          ],
        },
      ],
      timeoutMs: 30000,
      validateOnly: false,
    },
    response: {
      topics: [
        { name: 'orders', error: null },
        { name: 'dup', error: { code: 101, category: 'invalid_input', message: 'topic already exists' } },
      ],
    },
  },
  [ApiKey.DeleteTopics]: {
    apiKey: ApiKey.DeleteTopics,
    file: 'delete-topics',
    request: { topics: ['orders', 'old'], timeoutMs: 30000 },
    response: { topics: [{ name: 'orders', error: null }] },
  },
  [ApiKey.CreatePartitions]: {
    apiKey: ApiKey.CreatePartitions,
    file: 'create-partitions',
    request: {
      topics: [
        { name: 'orders', count: 6, assignments: null },
        { name: 'pinned', count: 3, assignments: [[3, 1]] },
      ],
      timeoutMs: 30000,
      validateOnly: false,
    },
    response: {
      topics: [
        { name: 'orders', error: null },
        {
          name: 'old',
          error: { code: 103, category: 'invalid_input', message: 'invalid number of partitions' },
        },
      ],
    },
  },
  [ApiKey.DescribeTopics]: {
    apiKey: ApiKey.DescribeTopics,
    file: 'describe-topics',
    request: { topics: ['orders'] },
    response: {
      topics: [
        {
          name: 'orders',
          error: null,
          partitions: [
            {
              partition: 0,
              leaderId: 1,
              replicas: [1],
              isr: [1],
              logStartOffset: 0,
              highWatermark: 100,
              sizeBytes: 123456,
            },
          ],
          configs: { segment_bytes: '1073741824' },
        },
      ],
    },
  },
  [ApiKey.ListTopics]: {
    apiKey: ApiKey.ListTopics,
    file: 'list-topics',
    request: {},
    response: { topics: [{ name: 'orders', partitions: 3, internal: false }] },
  },
  [ApiKey.InitProducerId]: {
    apiKey: ApiKey.InitProducerId,
    file: 'init-producer-id',
    request: {},
    response: { error: null, producerId: 4001, producerEpoch: 0 },
  },
  [ApiKey.AlterBroker]: {
    apiKey: ApiKey.AlterBroker,
    file: 'alter-broker',
    request: { brokerId: 3, action: 'decommission' },
    response: { error: null, state: 'decommissioned' },
  },
  [ApiKey.AlterQuorum]: {
    apiKey: ApiKey.AlterQuorum,
    file: 'alter-quorum',
    request: { brokerId: 4, action: 'add-voter' },
    response: { error: null, voters: [1, 2, 3, 4], learners: [5] },
  },
  [ApiKey.AlterPartitionAssignments]: {
    apiKey: ApiKey.AlterPartitionAssignments,
    file: 'alter-partition-assignments',
    request: {
      topic: 'orders',
      partitions: [
        { partition: 0, replicas: [4, 1, 2] },
        { partition: 3, replicas: null },
      ],
    },
    response: {
      error: {
        code: 104,
        category: 'invalid_input',
        message: 'orders/0 has 3 replicas and the list names 2: a reassignment keeps the replication factor',
      },
    },
  },
  [ApiKey.DeleteRecords]: {
    apiKey: ApiKey.DeleteRecords,
    file: 'delete-records',
    request: {
      partitions: [
        { topic: 'orders', partition: 0, offset: 5_000_000_000 },
        { topic: 'orders', partition: 1, offset: -1 },
      ],
      timeoutMs: 30000,
    },
    response: {
      partitions: [
        { topic: 'orders', partition: 0, error: null, lowWatermark: 5_000_000_000 },
        {
          topic: 'orders',
          partition: 1,
          error: { code: 203, category: 'invalid_input', message: 'offset 90 is outside [0, 80]' },
          lowWatermark: -1,
        },
      ],
    },
  },
  [ApiKey.DescribeConfigs]: {
    apiKey: ApiKey.DescribeConfigs,
    file: 'describe-configs',
    request: {
      resources: [
        { type: 'topic', name: 'orders' },
        { type: 'cluster', name: '' },
        { type: 'client', name: 'billing' },
      ],
    },
    response: {
      resources: [
        {
          type: 'topic',
          name: 'orders',
          error: null,
          entries: [
            { key: 'flush_policy', value: 'always', source: 'default' },
            { key: 'retention_ms', value: '60000', source: 'topic' },
            { key: 'segment_bytes', value: '1048576', source: 'cluster' },
          ],
        },
        {
          type: 'topic',
          name: 'missing',
          error: { code: 100, category: 'invalid_input', message: 'unknown topic missing' },
          entries: [],
        },
        {
          type: 'client',
          name: 'billing',
          error: null,
          entries: [
            { key: 'consumer_byte_rate', value: '2097152', source: 'client-default' },
            { key: 'producer_byte_rate', value: '1048576', source: 'client' },
          ],
        },
      ],
    },
  },
  [ApiKey.AlterConfigs]: {
    apiKey: ApiKey.AlterConfigs,
    file: 'alter-configs',
    request: {
      resources: [
        { type: 'topic', name: 'orders', set: { retention_ms: '60000' }, delete: ['segment_ms'] },
        { type: 'cluster', name: '', set: {}, delete: ['retention_bytes'] },
        { type: 'client', name: '', set: { producer_byte_rate: '1048576' }, delete: [] },
      ],
      validateOnly: false,
    },
    response: {
      resources: [
        { type: 'topic', name: 'orders', error: null },
        {
          type: 'cluster',
          name: '',
          error: { code: 105, category: 'invalid_input', message: 'unknown config key nope' },
        },
        { type: 'client', name: '', error: null },
      ],
    },
  },
  [ApiKey.DescribeCluster]: {
    apiKey: ApiKey.DescribeCluster,
    file: 'describe-cluster',
    request: {},
    response: {
      clusterId: 'sb-cluster-1',
      brokerId: 2,
      metadataLeaderId: 1,
      metadataTerm: 3,
      metadataVersion: 42,
      metadataVoters: [1, 2, 3],
      metadataLearners: [4],
      metadataReplication: [
        { brokerId: 1, matchIndex: 1_204, lag: 0, silentMs: 0 },
        { brokerId: 2, matchIndex: 1_203, lag: 1, silentMs: 38 },
        { brokerId: 4, matchIndex: 0, lag: 1_204, silentMs: -1 },
      ],
      brokers: [
        {
          id: 1,
          host: '127.0.0.1',
          port: 9092,
          rack: 'rack-a',
          state: 'alive',
          peerHost: '127.0.0.1',
          peerPort: 9093,
          epoch: 2,
          lastHeartbeatMs: 1_700_000_000_000,
          replicas: 3,
          leaders: 2,
          movingOff: 1,
        },
        {
          id: 2,
          host: '127.0.0.1',
          port: 9102,
          rack: null,
          state: 'failed',
          peerHost: '127.0.0.1',
          peerPort: 9103,
          epoch: 1,
          lastHeartbeatMs: 1_699_999_990_000,
          replicas: 1,
          leaders: 0,
          movingOff: 0,
        },
      ],
      imbalance: { score: 0.5, replicaScore: 0.5, leaderScore: 0.25 },
      partitions: 2,
      underReplicatedPartitions: 1,
    },
  },
};

/** One sample per api key; the type fails to compile when an API has none. */
export const SAMPLES: { [K in ApiKey]: Sample<K> } = { ...BASE_SAMPLES, ...GROUP_SAMPLES };

export const SAMPLE_HEADER = { apiVersion: 0, correlationId: 7, clientId: 'golden' };

/** Versions after v0: one sample each, pinned like the v0 ones (`<file>-v<version>-request|response`). */
export interface LaterVersionSample<K extends ApiKey> extends Sample<K> {
  version: number;
}

const describeClusterV0 = BASE_SAMPLES[ApiKey.DescribeCluster];
const describeTopicsV0 = BASE_SAMPLES[ApiKey.DescribeTopics];
const fetchV0 = BASE_SAMPLES[ApiKey.Fetch];

export const LATER_VERSION_SAMPLES: readonly LaterVersionSample<ApiKey>[] = [
  {
    ...describeClusterV0,
    version: 1,
    response: {
      ...describeClusterV0.response,
      brokers: describeClusterV0.response.brokers.map((b, i) => ({ ...b, featureLevel: i + 1 })),
      featureLevel: 1,
      supportedFeatureLevel: 2,
    },
  },
  {
    ...describeTopicsV0,
    version: 1,
    response: {
      topics: describeTopicsV0.response.topics.map((t) => ({
        ...t,
        partitions: t.partitions.map((p) => ({ ...p, pinned: true })),
      })),
    },
  },
  {
    ...describeTopicsV0,
    version: 2,
    response: {
      topics: describeTopicsV0.response.topics.map((t) => ({
        ...t,
        partitions: t.partitions.map((p) => ({ ...p, pinned: true, targetReplicas: [2, 1, 3] })),
      })),
    },
  },
  {
    ...fetchV0,
    version: 1,
    request: { ...fetchV0.request, rackId: 'eu-west-1a' },
    response: {
      partitions: fetchV0.response.partitions.map((p, i) => ({
        ...p,
        preferredReadReplica: i === 0 ? -1 : 3,
      })),
    },
  },
];
