/**
 * The broker's group coordinator: it coordinates the groups whose `__consumer_offsets` partition this
 * broker leads (partition = murmur2(groupId) mod the topic's partition count), one GroupShard per such
 * partition. Leadership is checked on every request and every `SCAN_MS`: a shard whose leadership ended
 * is closed (waiting members are told NOT_COORDINATOR and find the new one), and a partition that became
 * led here is loaded from its log straight away, so restored members are timed out even if none returns.
 *
 * The topic is created on first use (FindCoordinator), with time retention `groups.offsets_retention`;
 * each shard checkpoints its live state well within it, which is how the topic is compacted.
 */

import { partitionForKey } from '../../client/partitioner.js';
import type { BrokerConfig } from '../../config/types.js';
import { StreamBusError } from '../../errors/index.js';
import type { Logger, MetricsRegistry } from '../../observability/index.js';
import type { BrokerInfo } from '../../protocol/messages.js';
import type { TopicCatalog } from '../catalog.js';
import { groupObserver, sampleGroupGauges } from './group-metrics.js';
import { GroupShard } from './group-shard.js';
import { OFFSETS_TOPIC } from './offsets-records.js';

const SCAN_MS = 250;
/** Group gauges (states, members, lag) are sampled every this many scans. */
const GAUGE_SCANS = 20;

export interface GroupCoordinatorDeps {
  readonly catalog: TopicCatalog;
  readonly brokerId: number;
  readonly config: BrokerConfig['groups'];
  /** False on a single-node broker: the offsets topic then has one replica. */
  readonly clustered: boolean;
  readonly nowMs: () => number;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  /** Member ids: `${clientId}-${random}`; injected for tests. */
  readonly randomId?: () => string;
  /** Told of each `__consumer_offsets` append that ran out of time (counted and logged as group.append). */
  readonly onAppendTimeout?: () => void;
}

interface ShardEntry {
  readonly leadership: number;
  readonly served: unknown;
  readonly shard: Promise<GroupShard>;
  /** Set once the shard has loaded. */
  loaded: GroupShard | null;
}

export class GroupCoordinator {
  private readonly shards = new Map<number, ShardEntry>();
  private stopped = false;
  private creatingTopic: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private scans = 0;
  private lastLoadError: string | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: GroupCoordinatorDeps) {
    this.log = deps.logger.child({ component: 'groups' });
  }

  start(): void {
    this.timer = setInterval(() => this.scan(), SCAN_MS);
    this.timer.unref();
  }

  /**
   * Closes every shard: waiting members are told NOT_COORDINATOR (before the replicas hand over), as is every
   * group request from now on (no shard loads while the replicas stop under it).
   */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const entry of this.shards.values())
      void entry.shard.then(
        (s) => s.close(),
        () => undefined,
      );
    this.shards.clear();
  }

  /** The `__consumer_offsets` partition of a group. */
  partitionFor(groupId: string): number {
    const partitions =
      this.deps.catalog.topic(OFFSETS_TOPIC)?.partitions ?? this.deps.config.offsetsPartitions;
    return partitionForKey(groupId, partitions);
  }

  /** FindCoordinator: the broker leading the group's partition (creating the topic on first use). */
  findCoordinator(groupId: string): BrokerInfo {
    if (this.deps.catalog.topic(OFFSETS_TOPIC) === undefined) {
      this.ensureTopic();
      throw unavailable(`${OFFSETS_TOPIC} is being created`);
    }
    const placement = this.deps.catalog.placement(OFFSETS_TOPIC, this.partitionFor(groupId));
    const leaderId = placement?.leaderId ?? -1;
    const broker = this.deps.catalog.brokers().find((b) => b.id === leaderId);
    if (broker === undefined) {
      throw unavailable(`${OFFSETS_TOPIC}-${this.partitionFor(groupId)} has no leader right now`);
    }
    return broker;
  }

  /** The shard coordinating `groupId` here: NOT_COORDINATOR when another broker leads its partition. */
  async shardFor(groupId: string): Promise<GroupShard> {
    if (this.deps.catalog.topic(OFFSETS_TOPIC) === undefined) {
      this.ensureTopic();
      throw unavailable(`${OFFSETS_TOPIC} does not exist yet`);
    }
    const shard = this.entryFor(this.partitionFor(groupId));
    if (shard === undefined) {
      throw new StreamBusError('NOT_COORDINATOR', {
        operation: 'groups.route',
        message: `this broker does not coordinate group ${JSON.stringify(groupId)}: ask FindCoordinator`,
        metadata: { groupId },
      });
    }
    try {
      return await shard;
    } catch (err) {
      throw unavailable(`loading ${OFFSETS_TOPIC}-${this.partitionFor(groupId)} failed: ${String(err)}`);
    }
  }

  /**
   * For the `groups` health check: offsets partitions this broker coordinates (loaded), still loading, and
   * the last load failure (a partition led here whose state could not be read is unhealthy).
   */
  status(): { loaded: number; loading: number; groups: number; lastLoadError: string | null } {
    let loaded = 0;
    let loading = 0;
    let groups = 0;
    for (const entry of this.shards.values()) {
      if (entry.loaded === null) loading++;
      else if (entry.loaded.isCurrent()) {
        loaded++;
        groups += entry.loaded.groupIds().length;
      }
    }
    return { loaded, loading, groups, lastLoadError: this.lastLoadError };
  }

  /** Every shard loaded here (ListGroups, metrics). */
  async loadedShards(): Promise<GroupShard[]> {
    const settled = await Promise.allSettled([...this.shards.values()].map((e) => e.shard));
    return settled.flatMap((s) => (s.status === 'fulfilled' && s.value.isCurrent() ? [s.value] : []));
  }

  /** The current shard of partition `index` (loading it when leadership is new); undefined if not led here. */
  private entryFor(index: number): Promise<GroupShard> | undefined {
    if (this.stopped) return undefined;
    let served: ReturnType<TopicCatalog['partition']>;
    try {
      served = this.deps.catalog.partition(OFFSETS_TOPIC, index);
    } catch {
      this.drop(index);
      return undefined;
    }
    const leadership = served.leadership();
    if (leadership < 0) {
      this.drop(index);
      return undefined;
    }
    const current = this.shards.get(index);
    if (current !== undefined && current.leadership === leadership && current.served === served) {
      return current.shard;
    }
    this.drop(index);
    const shard = GroupShard.load({
      index,
      served,
      brokerId: this.deps.brokerId,
      machineOptions: {
        initialRebalanceDelayMs: this.deps.config.initialRebalanceDelayMs,
        minSessionTimeoutMs: this.deps.config.sessionTimeoutMinMs,
        maxSessionTimeoutMs: this.deps.config.sessionTimeoutMaxMs,
        maxSize: this.deps.config.maxSize,
        newMemberId: (clientId: string) => `${clientId || 'member'}-${this.randomId()}`,
      },
      nowMs: this.deps.nowMs,
      checkpointIntervalMs: Math.floor(this.deps.config.offsetsRetentionMs / 4),
      logger: this.log.child({ partition: index }),
      ...(this.deps.metrics === undefined ? {} : { observer: groupObserver(this.deps.metrics) }),
      ...(this.deps.onAppendTimeout === undefined ? {} : { onAppendTimeout: this.deps.onAppendTimeout }),
      topicIncarnation: (topic) => this.deps.catalog.topic(topic)?.incarnation,
    });
    const entry: ShardEntry = { leadership, served, shard, loaded: null };
    this.shards.set(index, entry);
    shard.then(
      (s) => {
        entry.loaded = s;
        this.lastLoadError = null;
        this.log.info(
          { operation: 'groups.load', partition: index, groups: s.groupIds().length },
          'coordinating the groups of a __consumer_offsets partition',
        );
      },
      (err: unknown) => {
        if (this.stopped) {
          // Shutdown stopped its replica under it: nothing failed.
          this.log.debug(
            { operation: 'groups.load', partition: index, error: String(err) },
            'group load abandoned',
          );
          return;
        }
        this.lastLoadError = `__consumer_offsets-${index}: ${String(err)}`;
        if (this.shards.get(index)?.shard === shard) this.shards.delete(index);
        this.log.warn(
          { operation: 'groups.load', partition: index, error: String(err) },
          'group load failed',
        );
      },
    );
    return shard;
  }

  private drop(index: number): void {
    const entry = this.shards.get(index);
    if (entry === undefined) return;
    this.shards.delete(index);
    void entry.shard.then(
      (s) => {
        s.close();
        this.log.info({ operation: 'groups.unload', partition: index }, 'no longer coordinating a partition');
      },
      () => undefined,
    );
  }

  /** Loads partitions that became led here, closes those that stopped being. */
  private scan(): void {
    const topic = this.deps.catalog.topic(OFFSETS_TOPIC);
    if (topic === undefined) return;
    const metrics = this.deps.metrics;
    if (metrics !== undefined && ++this.scans % GAUGE_SCANS === 0) {
      void sampleGroupGauges(this, this.deps.catalog, metrics).catch((err: unknown) =>
        this.log.debug({ operation: 'groups.metrics', error: String(err) }, 'group gauges not sampled'),
      );
    }
    for (let index = 0; index < topic.partitions; index++) {
      const placement = this.deps.catalog.placement(OFFSETS_TOPIC, index);
      if (placement?.leaderId === this.deps.brokerId || this.shards.has(index)) this.entryFor(index);
    }
  }

  private ensureTopic(): void {
    if (this.creatingTopic !== null) return;
    const alive = this.deps.catalog.brokers().length;
    const replicationFactor = this.deps.clustered
      ? Math.max(1, Math.min(this.deps.config.offsetsReplicationFactor, alive))
      : 1;
    this.creatingTopic = this.deps.catalog
      .createTopic({
        name: OFFSETS_TOPIC,
        partitions: this.deps.config.offsetsPartitions,
        replicationFactor,
        // Retention by time only: the shards rewrite their live state every quarter of it (checkpoints),
        // so what ages out is always superseded. Pinned to 'delete': a cluster or broker default of compact
        // would stop that retention (and the log cleaner would drop the coordinators' marker tombstones).
        configs: {
          retention_ms: String(this.deps.config.offsetsRetentionMs),
          retention_bytes: '-1',
          cleanup_policy: 'delete',
        },
      })
      .then(
        () =>
          this.log.info(
            { operation: 'groups.create-topic', replication_factor: replicationFactor },
            `created ${OFFSETS_TOPIC}`,
          ),
        (err: unknown) => {
          if (err instanceof StreamBusError && err.code === 'TOPIC_ALREADY_EXISTS') return;
          this.log.warn(
            { operation: 'groups.create-topic', error: String(err) },
            `could not create ${OFFSETS_TOPIC}`,
          );
        },
      )
      .finally(() => {
        this.creatingTopic = null;
      });
  }

  private randomId(): string {
    return this.deps.randomId?.() ?? crypto.randomUUID();
  }
}

function unavailable(message: string): StreamBusError {
  return new StreamBusError('COORDINATOR_NOT_AVAILABLE', { operation: 'groups.route', message });
}
