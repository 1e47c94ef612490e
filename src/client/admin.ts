/**
 * Topic administration and cluster introspection. Topic changes go to the controller when metadata names
 * one, otherwise to any broker. Per-topic failures come back as StreamBusErrors in the result rather than
 * failing the whole call; `createTopic` / `deleteTopic` throw them.
 */
import { StreamBusError } from '../errors/index.js';
import { usesQuotaExtensions } from '../metadata/client-quota-rules.js';
import { FEATURE } from '../metadata/feature-levels.js';
import {
  ApiKey,
  type ApiVersionsResponse,
  type BrokerAction,
  type ClusterBrokerState,
  type ConfigEntry,
  type ConfigResource,
  type DescribeClusterResponse,
  fromWireError,
  type ListOffsetsPartition,
  type ListOffsetsPartitionResult,
  type ListTopicsResponse,
  type MetadataResponse,
  type PartitionAssignmentSpec,
  type QuorumAction,
  type QuorumMembership,
  type RequestOf,
  type ResponseOf,
  type TopicDescription,
  wireErrorOf,
} from '../protocol/index.js';
import {
  checkConfigResource,
  checkConfigResources,
  checkPartitionGrowth,
  checkReassignments,
  checkRecordsToDelete,
} from './admin-args.js';
import { backoffMs, delay } from './backoff.js';
import type { Cluster } from './cluster.js';
import { ClusterFeatures } from './cluster-features.js';
import { GroupAdmin } from './group-admin.js';
import { listOffsetsByLeader } from './list-offsets.js';
import { atNewestVersion } from './newest-version.js';
import { askPartitionLeaders } from './partition-leaders.js';
import { clientClock, clientTimers } from './timers.js';

export interface NewTopic {
  name: string;
  /** Default 1. */
  partitions?: number;
  /** Default -1: the broker's default (1 on a single node, min(3, alive brokers) in a cluster). */
  replicationFactor?: number;
  configs?: Record<string, string>;
  /**
   * Your own placement instead of the broker's: partition p's broker ids, preferred leader first (Kafka's
   * replica assignment). `partitions` and `replicationFactor` then default to what it lists.
   */
  assignments?: number[][];
}

/** A topic's new total partition count, and optionally the added partitions' replicas (as NewTopic's). */
export type PartitionGrowth = number | { count: number; assignments?: number[][] };

export interface TopicOutcome {
  name: string;
  error: StreamBusError | null;
}

/** Where to cut one partition's records (deleteRecords): everything before `offset`; -1 = all of them. */
export interface RecordsToDelete {
  topic: string;
  partition: number;
  offset: number;
}

export interface DeletedRecords {
  topic: string;
  partition: number;
  /** The partition's log start (its first readable offset) now; -1 with an error. */
  lowWatermark: number;
  error: StreamBusError | null;
}

/** An incremental change of one resource's configs: keys not named keep their value. */
export interface ConfigChange {
  set?: Record<string, string>;
  delete?: readonly string[];
}

export interface ConfigsDescription extends ConfigResource {
  /** Every topic-level key with its effective value and source; empty with an error. */
  entries: ConfigEntry[];
  error: StreamBusError | null;
}

export interface ConfigOutcome extends ConfigResource {
  error: StreamBusError | null;
}

export interface AdminOptions {
  /** How long the broker may take to apply a topic change. */
  timeoutMs?: number;
}

/** How long describeCluster({ fromMetadataLeader }) waits for the metadata leader before asking any broker. */
const LEADER_DESCRIBE_TIMEOUT_MS = 3_000;

/** Errors that say the controller could not be reached (NETWORK_ERROR: the connection was refused). */
const CONTROLLER_UNREACHABLE: ReadonlySet<string> = new Set([
  'NETWORK_ERROR',
  'CONNECTION_CLOSED',
  'REQUEST_TIMED_OUT',
  'BROKER_NOT_AVAILABLE',
]);

export class Admin {
  private readonly timeoutMs: number;
  private readonly features = new ClusterFeatures(() => this.describeCluster());

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
        partitions: t.partitions ?? t.assignments?.length ?? 1,
        replicationFactor: t.replicationFactor ?? t.assignments?.[0]?.length ?? -1,
        configs: t.configs ?? {},
        assignments: t.assignments ?? null,
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

  /**
   * Grows each topic to its new total partition count (Kafka's `createPartitions`; partitions are only ever
   * added). Keyed messages map to partitions by count, so existing keys may land on a different partition
   * afterwards. Producers and consumer groups pick the new partitions up with their next metadata refresh.
   * `{ count, assignments }` places the added partitions yourself (one replica list per added partition).
   */
  async createPartitions(
    counts: Readonly<Record<string, PartitionGrowth>>,
    options: { validateOnly?: boolean } = {},
  ): Promise<TopicOutcome[]> {
    checkPartitionGrowth(counts);
    const res = await this.toController(ApiKey.CreatePartitions, {
      topics: Object.entries(counts).map(([name, growth]) =>
        typeof growth === 'number'
          ? { name, count: growth, assignments: null }
          : { name, count: growth.count, assignments: growth.assignments ?? null },
      ),
      timeoutMs: this.timeoutMs,
      validateOnly: options.validateOnly ?? false,
    });
    this.cluster.invalidateMetadata();
    return res.topics.map((t) => ({
      name: t.name,
      error: t.error && fromWireError(t.error, 'admin.createPartitions'),
    }));
  }

  async listTopics(): Promise<ListTopicsResponse['topics']> {
    return (await this.cluster.requestAny(ApiKey.ListTopics, {})).topics;
  }

  /**
   * Placement and configs from any broker; each partition's offsets and size from the broker that holds
   * its data (its leader), since a broker knows them only for partitions it serves. A leader that cannot be
   * asked leaves its partitions' figures unknown (-1, -1, 0) rather than failing the whole description.
   */
  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    const { topics } = await atNewestVersion(DESCRIBE_TOPICS_NEWEST, (apiVersion) =>
      this.cluster.requestAny(ApiKey.DescribeTopics, { topics: [...names] }, { apiVersion }),
    );
    const unknownByLeader = new Map<number, Set<string>>();
    for (const t of topics) {
      for (const p of t.partitions) {
        if (p.highWatermark !== -1 || p.leaderId < 0) continue;
        const wanted = unknownByLeader.get(p.leaderId) ?? new Set<string>();
        wanted.add(t.name);
        unknownByLeader.set(p.leaderId, wanted);
      }
    }
    const answers = await Promise.all(
      [...unknownByLeader].map(([leader, wanted]) =>
        this.cluster
          .request(leader, ApiKey.DescribeTopics, { topics: [...wanted] })
          .then((res) => ({ leader, topics: res.topics }))
          .catch(() => ({ leader, topics: [] as TopicDescription[] })),
      ),
    );
    for (const answer of answers) {
      for (const fromLeader of answer.topics) {
        const t = topics.find((x) => x.name === fromLeader.name);
        for (const q of fromLeader.partitions) {
          const p = t?.partitions.find((x) => x.partition === q.partition);
          if (p === undefined || p.highWatermark !== -1 || p.leaderId !== answer.leader) continue;
          p.logStartOffset = q.logStartOffset;
          p.highWatermark = q.highWatermark;
          p.sizeBytes = q.sizeBytes;
        }
      }
    }
    return topics;
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
   * under-replicated partitions, as one broker's local metadata replica sees them. `fromMetadataLeader`
   * asks the metadata leader first, whose answer also carries each voter's and learner's replication
   * (`metadataReplication`); if it does not answer within a few seconds, any broker answers (without it).
   */
  async describeCluster(options: { fromMetadataLeader?: boolean } = {}): Promise<DescribeClusterResponse> {
    if (options.fromMetadataLeader === true) {
      const md = await this.cluster.metadata().catch(() => undefined);
      const leader = md?.controllerId ?? -1;
      if (leader >= 0 && md?.brokers.some((b) => b.id === leader) === true) {
        const answer = await atNewestVersion(DESCRIBE_CLUSTER_NEWEST, (apiVersion) =>
          this.cluster.request(
            leader,
            ApiKey.DescribeCluster,
            {},
            { timeoutMs: LEADER_DESCRIBE_TIMEOUT_MS, apiVersion },
          ),
        ).catch(() => undefined);
        if (answer !== undefined) return answer;
        this.cluster.invalidateMetadata();
      }
    }
    return atNewestVersion(DESCRIBE_CLUSTER_NEWEST, (apiVersion) =>
      this.cluster.requestAny(ApiKey.DescribeCluster, {}, { apiVersion }),
    );
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

  /**
   * Makes a registered broker a metadata voter (`add-voter`: it must be a caught-up metadata learner) or
   * no longer one (`remove-voter`: it stays a learner), one voter at a time; resolves with the new
   * membership. Only the metadata leader changes the quorum: when leadership moves under the request
   * (NOT_LEADER), or the broker is not a caught-up learner yet (CONFIG_CHANGE_IN_PROGRESS), it asks again
   * until the admin timeout (`timeoutMs`) runs out.
   * Throws UNKNOWN_BROKER, INVALID_CONFIG_CHANGE (e.g. no answering majority would remain) or
   * INVALID_REQUEST (single node).
   */
  async alterQuorum(brokerId: number, action: QuorumAction): Promise<QuorumMembership> {
    const operation = `admin.${action}`;
    const giveUpAtMs = clientClock.nowMs() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const res = await this.toController(ApiKey.AlterQuorum, { brokerId, action });
      if (res.error === null) return { voters: res.voters, learners: res.learners };
      const err = fromWireError(res.error, operation);
      const waitMs = backoffMs(attempt, { baseMs: 100, maxMs: 1_000 }, Math.random);
      if (!QUORUM_RETRY_CODES.has(err.code) || clientClock.nowMs() + waitMs > giveUpAtMs) throw err;
      this.cluster.invalidateMetadata();
      await delay(waitMs, clientTimers);
    }
  }

  /**
   * Reassigns partitions of a topic to replica lists of your choosing, preferred leader first (Kafka's
   * `alterPartitionReassignments`; cluster mode), and pins them there. Resolves once the change is recorded:
   * the rebalancer then moves one replica at a time (a learner catches up, is promoted, the old replica is
   * removed) and hands leadership to the list's first in-sync broker; `describeTopics` shows the replicas
   * converge (`targetReplicas` while they have not). All the partitions change or none does. A list longer or
   * shorter than the partition's replicas grows or shrinks it (replicas added, then replaced, then removed).
   * Throws INVALID_REPLICA_ASSIGNMENT (empty list, a broker twice, a draining or decommissioned broker),
   * UNKNOWN_BROKER, INVALID_REPLICATION_FACTOR (fewer brokers than the topic's min_insync_replicas),
   * UNKNOWN_TOPIC_OR_PARTITION, FEATURE_NOT_FINALIZED (a rolling upgrade not finished) or INVALID_REQUEST
   * (single node).
   */
  async reassignPartitions(
    topic: string,
    assignments: readonly { partition: number; replicas: readonly number[] }[],
  ): Promise<void> {
    checkReassignments(assignments);
    await this.alterPartitionAssignments(
      topic,
      assignments.map((a) => ({ partition: a.partition, replicas: [...a.replicas] })),
      'admin.reassignPartitions',
    );
  }

  /**
   * Unpins partitions of a topic (all of them when `partitions` is omitted): the rebalancer manages them
   * again, and may move them for balance or off a failed broker. A reassignment not finished is dropped
   * where it stands. Throws as `reassignPartitions`.
   */
  async unpinPartitions(topic: string, partitions?: readonly number[]): Promise<void> {
    let chosen = partitions;
    if (chosen === undefined) {
      const [described] = await this.describeTopics([topic]);
      if (described?.error) throw fromWireError(described.error, 'admin.unpinPartitions');
      chosen = described?.partitions.map((p) => p.partition) ?? [];
    }
    await this.alterPartitionAssignments(
      topic,
      chosen.map((partition) => ({ partition, replicas: null })),
      'admin.unpinPartitions',
    );
  }

  private async alterPartitionAssignments(
    topic: string,
    partitions: PartitionAssignmentSpec[],
    operation: string,
  ): Promise<void> {
    let res: ResponseOf<typeof ApiKey.AlterPartitionAssignments>;
    try {
      res = await this.toController(ApiKey.AlterPartitionAssignments, { topic, partitions });
    } catch (err) {
      // A broker of a build before reassignments does not know the api: a rolling upgrade not finished.
      if (!(err instanceof StreamBusError) || err.code !== 'UNKNOWN_API') throw err;
      throw new StreamBusError('FEATURE_NOT_FINALIZED', {
        operation,
        message:
          'the broker asked runs a build without partition reassignment (AlterPartitionAssignments): upgrade every broker first',
        cause: err,
      });
    }
    if (res.error !== null) throw fromWireError(res.error, operation);
    this.cluster.invalidateMetadata();
  }

  /**
   * Deletes the records before `offset` of each partition (Kafka's `deleteRecords`; -1: every record up to
   * the high watermark): they are gone for consumers at once, a consumer positioned below resets per its
   * auto offset reset, and their disk space is freed as whole segments fall below. Asked of each partition's
   * leader. Per-partition failures come back in the result: OFFSET_OUT_OF_RANGE (beyond the high watermark),
   * UNKNOWN_TOPIC_OR_PARTITION, FEATURE_NOT_FINALIZED (a rolling upgrade not finished), ... An offset below
   * the log start changes nothing and answers the log start.
   */
  async deleteRecords(partitions: readonly RecordsToDelete[]): Promise<DeletedRecords[]> {
    const operation = 'admin.deleteRecords';
    checkRecordsToDelete(partitions);
    const results = await askPartitionLeaders(this.cluster, partitions, {
      operation,
      send: async (leader, asks) => {
        const request = { partitions: asks.map((a) => ({ ...a })), timeoutMs: this.timeoutMs };
        try {
          return (await this.cluster.request(leader, ApiKey.DeleteRecords, request)).partitions;
        } catch (err) {
          // A broker of a build before DeleteRecords does not know the api: a rolling upgrade not finished.
          if (!(err instanceof StreamBusError) || err.code !== 'UNKNOWN_API') throw err;
          const error = wireErrorOf(
            'FEATURE_NOT_FINALIZED',
            `broker ${leader} runs a build without DeleteRecords: upgrade every broker first`,
          );
          return asks.map((a) => ({ topic: a.topic, partition: a.partition, error, lowWatermark: -1 }));
        }
      },
      failed: (a, error) => ({ topic: a.topic, partition: a.partition, error, lowWatermark: -1 }),
    });
    return results.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      lowWatermark: r.lowWatermark,
      error: r.error && fromWireError(r.error, operation),
    }));
  }

  /**
   * The effective topic-level configs of topics, or of the cluster (`{ type: 'cluster', name: '' }`: the
   * defaults every topic inherits), each key with its source (topic, cluster or default), as one broker's
   * metadata replica sees them. `{ type: 'client', name: clientId }` gives a client id's quotas
   * (source client, client-default for the default of every client id (name ''), or default: the broker
   * config's `quotas.*`). Per-resource failures (UNKNOWN_TOPIC_OR_PARTITION) come back in the result.
   * Client resources need cluster feature level 6: below it the call throws FEATURE_NOT_FINALIZED.
   */
  async describeConfigs(resources: readonly ConfigResource[]): Promise<ConfigsDescription[]> {
    checkConfigResources(resources, 'describeConfigs', 'describeConfig');
    await this.requireClientQuotas(resources, 'admin.describeConfigs');
    const res = await this.cluster.requestAny(ApiKey.DescribeConfigs, {
      resources: resources.map((r) => ({ type: r.type, name: r.name })),
    });
    return res.resources.map((r) => ({
      type: r.type,
      name: r.name,
      entries: r.entries,
      error: r.error && fromWireError(r.error, 'admin.describeConfigs'),
    }));
  }

  /** One resource's configs; throws its error. */
  async describeConfig(resource: ConfigResource): Promise<ConfigEntry[]> {
    checkConfigResource(resource, 'describeConfig');
    const [first] = await this.describeConfigs([resource]);
    if (first === undefined) {
      throw new StreamBusError('UNKNOWN_SERVER_ERROR', {
        operation: 'admin.describeConfigs',
        message: 'DescribeConfigs answered no resource',
      });
    }
    if (first.error) throw first.error;
    return first.entries;
  }

  /**
   * Incremental config changes (Kafka's IncrementalAlterConfigs). In a cluster they go through the metadata
   * store, so every broker applies them; running partitions take them up at once (flush settings at their
   * next open). A standalone broker refuses cluster changes (INVALID_REQUEST). A client resource sets
   * or deletes `producer_byte_rate` / `consumer_byte_rate` (bytes per second) and `request_percentage`
   * (percent of the event loop's time; '-1' for any: unlimited) of one client id, or of every client id
   * (name ''); each broker applies them to its quotas at once. Per-resource failures
   * (INVALID_TOPIC_CONFIG, UNKNOWN_TOPIC_OR_PARTITION, INTERNAL_TOPIC) come back in the result. Client
   * resources need cluster feature level 6: below it the call throws FEATURE_NOT_FINALIZED.
   */
  async alterConfigs(
    changes: readonly (ConfigResource & ConfigChange)[],
    options: { validateOnly?: boolean } = {},
  ): Promise<ConfigOutcome[]> {
    checkConfigResources(changes, 'alterConfigs', 'alterConfig');
    await this.requireClientQuotas(changes, 'admin.alterConfigs');
    const res = await this.toController(ApiKey.AlterConfigs, {
      resources: changes.map((c) => ({
        type: c.type,
        name: c.name,
        set: { ...c.set },
        delete: [...(c.delete ?? [])],
      })),
      validateOnly: options.validateOnly ?? false,
    });
    return res.resources.map((r) => ({
      type: r.type,
      name: r.name,
      error: r.error && fromWireError(r.error, 'admin.alterConfigs'),
    }));
  }

  /** One resource's change; throws its error. */
  async alterConfig(
    resource: ConfigResource,
    change: ConfigChange,
    options: { validateOnly?: boolean } = {},
  ): Promise<void> {
    checkConfigResource(resource, 'alterConfig');
    for (const o of await this.alterConfigs([{ ...resource, ...change }], options))
      if (o.error) throw o.error;
  }

  /**
   * Consumer-group administration: list, describe (members, offsets, lag), reset offsets, delete offsets,
   * delete.
   */
  groups(): GroupAdmin {
    return new GroupAdmin(this.cluster);
  }

  apiVersions(): Promise<ApiVersionsResponse> {
    return this.cluster.requestAny(ApiKey.ApiVersions, {});
  }

  /**
   * A client resource reaching a broker of a build before client quotas fails its whole request as
   * INVALID_REQUEST, and one of a newer build refuses overrides until the level is finalized: the level
   * says which, before anything is sent (once it is reached it is not asked again). An unlimited (-1) or
   * request_percentage override needs the level after it: a level-6 broker refuses those values.
   */
  private async requireClientQuotas(
    resources: readonly (ConfigResource & ConfigChange)[],
    operation: string,
  ): Promise<void> {
    const clients = resources.filter((r) => r.type === 'client');
    if (clients.length === 0) return;
    await this.features.require(FEATURE.clientQuotas, 'client quota overrides need', operation);
    if (clients.some((r) => r.set !== undefined && usesQuotaExtensions(r.set))) {
      await this.features.require(
        FEATURE.clientQuotaExtensions,
        'an unlimited (-1) or request_percentage quota override needs',
        operation,
      );
    }
  }

  /**
   * To the metadata leader named by cached metadata, else any broker (every broker forwards metadata writes
   * to the leader). A controller that cannot be reached invalidates the metadata (it has likely died or
   * moved): one that refused the connection never saw the request, so it goes to another broker at once;
   * after a lost connection or a timeout the outcome is unknown and the error is the caller's to judge.
   */
  private async toController<K extends ApiKey>(apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K>> {
    const md = await this.cluster.metadata();
    const options = { timeoutMs: this.timeoutMs + 5_000 };
    if (md.controllerId < 0 || !md.brokers.some((b) => b.id === md.controllerId)) {
      return this.cluster.requestAny(apiKey, body, options);
    }
    try {
      return await this.cluster.request(md.controllerId, apiKey, body, options);
    } catch (err) {
      const code = err instanceof StreamBusError ? err.code : undefined;
      if (code === undefined || !CONTROLLER_UNREACHABLE.has(code)) throw err;
      this.cluster.invalidateMetadata();
      if (code !== 'NETWORK_ERROR') throw err;
      return this.cluster.requestAny(apiKey, body, options);
    }
  }
}

/** Worth asking again: the metadata leader moved, or the learner is not there or caught up yet. */
const QUORUM_RETRY_CODES: ReadonlySet<string> = new Set(['NOT_LEADER', 'CONFIG_CHANGE_IN_PROGRESS']);

function throwFirst(outcomes: TopicOutcome[]): void {
  for (const o of outcomes) if (o.error) throw o.error;
}

/**
 * DescribeCluster v1 carries the feature levels; DescribeTopics v1 whether each partition is pinned, v2 a
 * reassignment's target.
 */
const DESCRIBE_CLUSTER_NEWEST = 1;
const DESCRIBE_TOPICS_NEWEST = 2;
