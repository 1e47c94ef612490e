/**
 * The registry of APIs and versions: api key -> { name, min/max version, codec per version }. The broker's
 * router resolves every request through `codecFor` (unknown key -> UNKNOWN_API, version outside the range ->
 * UNSUPPORTED_VERSION) and ApiVersions answers from `supportedApis()`.
 */
import { StreamBusError } from '../../errors/index.js';
import { API_NAMES, ApiKey, type RequestOf, type ResponseOf } from '../messages.js';
import * as alterBrokerV0 from './alter-broker/v0.js';
import * as alterConfigsV0 from './alter-configs/v0.js';
import * as alterPartitionAssignmentsV0 from './alter-partition-assignments/v0.js';
import * as alterQuorumV0 from './alter-quorum/v0.js';
import * as apiVersionsV0 from './api-versions/v0.js';
import * as createPartitionsV0 from './create-partitions/v0.js';
import * as createTopicsV0 from './create-topics/v0.js';
import * as deleteGroupsV0 from './delete-groups/v0.js';
import * as deleteRecordsV0 from './delete-records/v0.js';
import * as deleteTopicsV0 from './delete-topics/v0.js';
import * as describeClusterV0 from './describe-cluster/v0.js';
import * as describeClusterV1 from './describe-cluster/v1.js';
import * as describeConfigsV0 from './describe-configs/v0.js';
import * as describeGroupsV0 from './describe-groups/v0.js';
import * as describeTopicsV0 from './describe-topics/v0.js';
import * as describeTopicsV1 from './describe-topics/v1.js';
import * as describeTopicsV2 from './describe-topics/v2.js';
import * as fetchV0 from './fetch/v0.js';
import * as fetchV1 from './fetch/v1.js';
import * as findCoordinatorV0 from './find-coordinator/v0.js';
import * as heartbeatV0 from './heartbeat/v0.js';
import * as initProducerIdV0 from './init-producer-id/v0.js';
import * as joinGroupV0 from './join-group/v0.js';
import * as leaveGroupV0 from './leave-group/v0.js';
import * as listGroupsV0 from './list-groups/v0.js';
import * as listOffsetsV0 from './list-offsets/v0.js';
import * as listTopicsV0 from './list-topics/v0.js';
import * as metadataV0 from './metadata/v0.js';
import * as offsetCommitV0 from './offset-commit/v0.js';
import * as offsetDeleteV0 from './offset-delete/v0.js';
import * as offsetFetchV0 from './offset-fetch/v0.js';
import * as produceV0 from './produce/v0.js';
import * as syncGroupV0 from './sync-group/v0.js';

/**
 * One API version's codec. `encode*` return the msgpack-ready value (fixed key order, no stray fields);
 * `decode*` take the untrusted output of unpack and narrow it, throwing INVALID_REQUEST naming the field.
 */
export interface ApiCodec<K extends ApiKey> {
  encodeRequest(req: RequestOf<K>): unknown;
  decodeRequest(v: unknown): RequestOf<K>;
  encodeResponse(res: ResponseOf<K>): unknown;
  decodeResponse(v: unknown): ResponseOf<K>;
}

export interface ApiEntry<K extends ApiKey> {
  apiKey: K;
  name: string;
  minVersion: number;
  maxVersion: number;
  versions: Readonly<Record<number, ApiCodec<K>>>;
}

function entry<K extends ApiKey>(apiKey: K, versions: Record<number, ApiCodec<K>>): ApiEntry<K> {
  const numbers = Object.keys(versions).map(Number);
  return {
    apiKey,
    name: API_NAMES[apiKey],
    minVersion: Math.min(...numbers),
    maxVersion: Math.max(...numbers),
    versions,
  };
}

export const API_REGISTRY: { readonly [K in ApiKey]: ApiEntry<K> } = {
  [ApiKey.Produce]: entry(ApiKey.Produce, { 0: produceV0 }),
  [ApiKey.Fetch]: entry(ApiKey.Fetch, { 0: fetchV0, 1: fetchV1 }),
  [ApiKey.ListOffsets]: entry(ApiKey.ListOffsets, { 0: listOffsetsV0 }),
  [ApiKey.Metadata]: entry(ApiKey.Metadata, { 0: metadataV0 }),
  [ApiKey.ApiVersions]: entry(ApiKey.ApiVersions, { 0: apiVersionsV0 }),
  [ApiKey.CreateTopics]: entry(ApiKey.CreateTopics, { 0: createTopicsV0 }),
  [ApiKey.DeleteTopics]: entry(ApiKey.DeleteTopics, { 0: deleteTopicsV0 }),
  [ApiKey.DescribeTopics]: entry(ApiKey.DescribeTopics, {
    0: describeTopicsV0,
    1: describeTopicsV1,
    2: describeTopicsV2,
  }),
  [ApiKey.ListTopics]: entry(ApiKey.ListTopics, { 0: listTopicsV0 }),
  [ApiKey.DescribeCluster]: entry(ApiKey.DescribeCluster, { 0: describeClusterV0, 1: describeClusterV1 }),
  [ApiKey.AlterBroker]: entry(ApiKey.AlterBroker, { 0: alterBrokerV0 }),
  [ApiKey.InitProducerId]: entry(ApiKey.InitProducerId, { 0: initProducerIdV0 }),
  [ApiKey.FindCoordinator]: entry(ApiKey.FindCoordinator, { 0: findCoordinatorV0 }),
  [ApiKey.JoinGroup]: entry(ApiKey.JoinGroup, { 0: joinGroupV0 }),
  [ApiKey.SyncGroup]: entry(ApiKey.SyncGroup, { 0: syncGroupV0 }),
  [ApiKey.Heartbeat]: entry(ApiKey.Heartbeat, { 0: heartbeatV0 }),
  [ApiKey.LeaveGroup]: entry(ApiKey.LeaveGroup, { 0: leaveGroupV0 }),
  [ApiKey.OffsetCommit]: entry(ApiKey.OffsetCommit, { 0: offsetCommitV0 }),
  [ApiKey.OffsetFetch]: entry(ApiKey.OffsetFetch, { 0: offsetFetchV0 }),
  [ApiKey.ListGroups]: entry(ApiKey.ListGroups, { 0: listGroupsV0 }),
  [ApiKey.DescribeGroups]: entry(ApiKey.DescribeGroups, { 0: describeGroupsV0 }),
  [ApiKey.DeleteGroups]: entry(ApiKey.DeleteGroups, { 0: deleteGroupsV0 }),
  [ApiKey.DescribeConfigs]: entry(ApiKey.DescribeConfigs, { 0: describeConfigsV0 }),
  [ApiKey.AlterConfigs]: entry(ApiKey.AlterConfigs, { 0: alterConfigsV0 }),
  [ApiKey.CreatePartitions]: entry(ApiKey.CreatePartitions, { 0: createPartitionsV0 }),
  [ApiKey.AlterQuorum]: entry(ApiKey.AlterQuorum, { 0: alterQuorumV0 }),
  [ApiKey.OffsetDelete]: entry(ApiKey.OffsetDelete, { 0: offsetDeleteV0 }),
  [ApiKey.AlterPartitionAssignments]: entry(ApiKey.AlterPartitionAssignments, {
    0: alterPartitionAssignmentsV0,
  }),
  [ApiKey.DeleteRecords]: entry(ApiKey.DeleteRecords, { 0: deleteRecordsV0 }),
};

export function isApiKey(apiKey: number): apiKey is ApiKey {
  return Object.hasOwn(API_REGISTRY, apiKey);
}

/** The entry for an api key, or UNKNOWN_API. */
export function apiEntry<K extends ApiKey>(apiKey: K): ApiEntry<K>;
export function apiEntry(apiKey: number): ApiEntry<ApiKey>;
export function apiEntry(apiKey: number): ApiEntry<ApiKey> {
  if (!isApiKey(apiKey)) {
    throw new StreamBusError('UNKNOWN_API', {
      operation: 'protocol.route',
      message: `unknown api key ${apiKey}`,
    });
  }
  return API_REGISTRY[apiKey] as ApiEntry<ApiKey>;
}

/** The codec for an api key and version: UNKNOWN_API or UNSUPPORTED_VERSION when there is none. */
export function codecFor<K extends ApiKey>(apiKey: K, apiVersion: number): ApiCodec<K>;
export function codecFor(apiKey: number, apiVersion: number): ApiCodec<ApiKey>;
export function codecFor(apiKey: number, apiVersion: number): ApiCodec<ApiKey> {
  const api = apiEntry(apiKey);
  const codec = Object.hasOwn(api.versions, apiVersion) ? api.versions[apiVersion] : undefined;
  if (codec === undefined) {
    throw new StreamBusError('UNSUPPORTED_VERSION', {
      operation: 'protocol.route',
      message: `${api.name} v${apiVersion} is not supported (versions ${api.minVersion}..${api.maxVersion})`,
      metadata: { apiKey, apiVersion, minVersion: api.minVersion, maxVersion: api.maxVersion },
    });
  }
  return codec;
}

/** What ApiVersions reports: every api key with its supported version range. */
export function supportedApis(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return Object.values(API_REGISTRY).map((a) => ({
    apiKey: a.apiKey,
    minVersion: a.minVersion,
    maxVersion: a.maxVersion,
  }));
}
