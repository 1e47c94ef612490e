/**
 * Topic administration and cluster introspection. Topic changes go to the controller when metadata names
 * one, otherwise to any broker. Per-topic failures come back as StreamBusErrors in the result rather than
 * failing the whole call; `createTopic` / `deleteTopic` throw them.
 */
import { StreamBusError } from '../errors/index.js';
import {
  ApiKey,
  type ApiVersionsResponse,
  type BrokerAction,
  type ClusterBrokerState,
  type DescribeClusterResponse,
  fromWireError,
  type ListOffsetsPartition,
  type ListOffsetsPartitionResult,
  type ListTopicsResponse,
  type MetadataResponse,
  type RequestOf,
  type ResponseOf,
  type TopicDescription,
} from '../protocol/index.js';
import type { Cluster } from './cluster.js';
import { GroupAdmin } from './group-admin.js';
import { listOffsetsByLeader } from './list-offsets.js';

export interface NewTopic {
  name: string;
  /** Default 1. */
  partitions?: number;
  /** Default -1: the broker's default (1 on a single node, min(3, alive brokers) in a cluster). */
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface TopicOutcome {
  name: string;
  error: StreamBusError | null;
}

export interface AdminOptions {
  /** How long the broker may take to apply a topic change. */
  timeoutMs?: number;
}

export class Admin {
  private readonly timeoutMs: number;

  constructor(
    private readonly cluster: Cluster,
    options: AdminOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async createTopics(
    topics: readonly NewTopic[],
    options: { validateOnly?: boolean } = {},
  ): Promise<TopicOutcome[]> {
    const res = await this.toController(ApiKey.CreateTopics, {
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions ?? 1,
        replicationFactor: t.replicationFactor ?? -1,
        configs: t.configs ?? {},
      })),
      timeoutMs: this.timeoutMs,
      validateOnly: options.validateOnly ?? false,
    });
    this.cluster.invalidateMetadata();
    return res.topics.map((t) => ({
      name: t.name,
      error: t.error && fromWireError(t.error, 'admin.createTopics'),
    }));
  }

  /** Creates one topic; throws its error (e.g. TOPIC_ALREADY_EXISTS). */
  async createTopic(topic: NewTopic): Promise<void> {
    throwFirst(await this.createTopics([topic]));
  }

  async deleteTopics(names: readonly string[]): Promise<TopicOutcome[]> {
    const res = await this.toController(ApiKey.DeleteTopics, {
      topics: [...names],
      timeoutMs: this.timeoutMs,
    });
    this.cluster.invalidateMetadata();
    return res.topics.map((t) => ({
      name: t.name,
      error: t.error && fromWireError(t.error, 'admin.deleteTopics'),
    }));
  }

  async deleteTopic(name: string): Promise<void> {
    throwFirst(await this.deleteTopics([name]));
  }

  async listTopics(): Promise<ListTopicsResponse['topics']> {
    return (await this.cluster.requestAny(ApiKey.ListTopics, {})).topics;
  }

  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    return (await this.cluster.requestAny(ApiKey.DescribeTopics, { topics: [...names] })).topics;
  }

  /** Fresh metadata (not the cache) for these topics, or all when omitted. */
  metadata(topics?: readonly string[]): Promise<MetadataResponse> {
    return this.cluster.fetchMetadata(topics === undefined ? null : [...topics]);
  }

  /** Offsets by timestamp (-1 latest, -2 earliest), asked of each partition's leader; results in input order. */
  listOffsets(partitions: readonly ListOffsetsPartition[]): Promise<ListOffsetsPartitionResult[]> {
    return listOffsetsByLeader(this.cluster, partitions);
  }

  /**
   * The broker registry, metadata leader and term, per-broker replica and leader counts, imbalance and
   * under-replicated partitions, as one broker's local metadata replica sees them.
   */
  describeCluster(): Promise<DescribeClusterResponse> {
    return this.cluster.requestAny(ApiKey.DescribeCluster, {});
  }

  /**
   * Drains, undrains or decommissions a broker (cluster mode): resolves with its new state once the change
   * is in the metadata store; the coordinator then moves replicas and leadership. Throws UNKNOWN_BROKER,
   * METADATA_CONFLICT (e.g. undrain of a broker that is not draining) or INVALID_REQUEST (single node).
   */
  async alterBroker(brokerId: number, action: BrokerAction): Promise<ClusterBrokerState> {
    const res = await this.toController(ApiKey.AlterBroker, { brokerId, action });
    if (res.error !== null) throw fromWireError(res.error, `admin.${action}`);
    if (res.state === null) {
      throw new StreamBusError('UNKNOWN_SERVER_ERROR', {
        operation: `admin.${action}`,
        message: 'AlterBroker answered neither an error nor a state',
      });
    }
    this.cluster.invalidateMetadata();
    return res.state;
  }

  /** Consumer-group administration: list, describe (members, offsets, lag), reset offsets, delete. */
  groups(): GroupAdmin {
    return new GroupAdmin(this.cluster);
  }

  apiVersions(): Promise<ApiVersionsResponse> {
    return this.cluster.requestAny(ApiKey.ApiVersions, {});
  }

  private async toController<K extends ApiKey>(apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K>> {
    const md = await this.cluster.metadata();
    if (md.controllerId >= 0 && md.brokers.some((b) => b.id === md.controllerId)) {
      return this.cluster.request(md.controllerId, apiKey, body, { timeoutMs: this.timeoutMs + 5_000 });
    }
    return this.cluster.requestAny(apiKey, body, { timeoutMs: this.timeoutMs + 5_000 });
  }
}

function throwFirst(outcomes: TopicOutcome[]): void {
  for (const o of outcomes) if (o.error) throw o.error;
}
