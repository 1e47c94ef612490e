/**
 * The cluster-mode catalog: topics, placement and brokers come from the replicated metadata store; the data
 * path serves the partition replicas this broker hosts (replica/replica-manager.ts) while they lead their
 * Raft group. Produce, Fetch and ListOffsets sent anywhere else get NOT_LEADER (retriable: clients refresh
 * metadata and go to the leader).
 */

import { eligibleBrokers } from '../cluster/load.js';
import { type AssignmentExpectations, checkAssignment } from '../cluster/manual-assignment.js';
import { toClusterView } from '../cluster/metadata-view.js';
import { placeTopic } from '../cluster/placement.js';
import type { PlacementStrategy } from '../cluster/types.js';
import { StreamBusError } from '../errors/index.js';
import { FEATURE, featureNotFinalized } from '../metadata/feature-levels.js';
import type { MetadataView } from '../metadata/state.js';
import type { MetadataStore } from '../metadata/store.js';
import { NO_LEADER, type TopicRecord } from '../metadata/types.js';
import type { Logger } from '../observability/index.js';
import type {
  AlterConfigsResource,
  BrokerInfo,
  ConfigEntry,
  ConfigResource,
  CreatePartitionsSpec,
  CreateTopicSpec,
} from '../protocol/messages.js';
import { type Deadline, systemTimers, type Timers } from '../resilience/index.js';
import type { LogConfig } from '../storage/config.js';
import {
  alterTopicConfigs,
  builtInTopicConfigs,
  checkMinInsyncFits,
  checkTopicNameCollision,
  normalizeTopicConfigs,
  type TopicConfigs,
  validatePartitionCount,
  validatePartitionGrowth,
  validateTopicName,
} from '../storage/topic-config.js';
import type { PartitionPlacement, ReadSource, ServedPartition, TopicCatalog, TopicInfo } from './catalog.js';
import { logStartTarget } from './delete-records.js';
import { followerReads } from './replica/follower-reads.js';
import { liveLeaderOf } from './replica/live-leader.js';
import type { ReplicaManager } from './replica/replica-manager.js';
import { clusterTopicDefaults, topicConfigEntries } from './topic-config-entries.js';
import { untilApplied } from './until-applied.js';

/** Replication factor -1 ("broker default") means this many replicas, or every alive broker if fewer. */
export const DEFAULT_REPLICATION_FACTOR = 3;
/** How long CreateTopics/DeleteTopics wait for this broker's replica to apply the committed change. */
export const APPLY_WAIT_MS = 5_000;
/**
 * How long CreateTopics/CreatePartitions then wait (within the request's deadline) for every new partition's
 * Raft group to elect a leader and publish it, as Kafka's controller answers CreateTopics once the new
 * partitions have leaders. Until then a partition's leader in metadata is only the placement's hint, and a
 * write sent there is refused (LEADER_NOT_AVAILABLE): acks=0 writes, which hear of no refusal, were lost.
 * Past it the answer is a success all the same (the topic exists; its leaders come when a majority of each
 * replica set is up).
 */
const LEADERS_WAIT_MS = 10_000;

export interface ClusterCatalogDeps {
  /** The metadata store; its state machine (`store.stateMachine`) provides change notifications. */
  readonly store: MetadataStore;
  readonly replicas: ReplicaManager;
  readonly brokerId: number;
  readonly logger: Logger;
  /** The metadata Raft leader's id; 0 or negative when none is known. */
  readonly raftLeaderId: () => number;
  /** Only dates failed brokers in the cluster view (placement ignores failed brokers anyway). */
  readonly heartbeatTimeoutMs: number;
  readonly applyWaitMs?: number;
  readonly leadersWaitMs?: number;
  readonly timers?: Timers;
  /** This broker's log settings (storage.*): the built-in topic defaults DescribeConfigs reports. */
  readonly logDefaults: LogConfig;
  /** How new topics' and added partitions' replicas are chosen (cluster.placement_strategy, rack-aware). */
  readonly placementStrategy?: PlacementStrategy;
  /** Whether a broker's Raft traffic arrived lately (ClusterNode.peerAnswering); unset: metadata's leader. */
  readonly peerAnswering?: (brokerId: number) => boolean;
}

export class ClusterTopicCatalog implements TopicCatalog {
  private readonly logger: Logger;
  private readonly timers: Timers;
  private readonly placementStrategy: PlacementStrategy;

  constructor(private readonly deps: ClusterCatalogDeps) {
    this.logger = deps.logger.child({ component: 'catalog' });
    this.timers = deps.timers ?? systemTimers;
    this.placementStrategy = deps.placementStrategy ?? 'rack-aware';
  }

  listTopics(): TopicInfo[] {
    const view = this.view();
    return [...view.topics.values()]
      .map((t) => topicInfo(t))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  topic(name: string): TopicInfo | undefined {
    const view = this.view();
    const t = view.topics.get(name);
    return t === undefined ? undefined : topicInfo(t);
  }

  brokers(): BrokerInfo[] {
    return [...this.view().brokers.values()]
      .filter((b) => b.state === 'alive' || b.state === 'draining')
      .sort((a, b) => a.id - b.id)
      .map((b) => ({ id: b.id, host: b.clientAddress.host, port: b.clientAddress.port, rack: b.rack }));
  }

  controllerId(): number {
    const id = this.deps.raftLeaderId();
    return id > 0 ? id : -1;
  }

  /**
   * Metadata's placement, with the leader this broker's own replica knows to be current when it differs
   * (replica/live-leader.ts): clients that ask here go to a new leader before its publication lands.
   */
  placement(topic: string, partition: number): PartitionPlacement | undefined {
    const p = this.view().topics.get(topic)?.partitions[partition];
    if (p === undefined) return undefined;
    const answering = this.deps.peerAnswering;
    const live =
      answering === undefined
        ? 0
        : liveLeaderOf(this.deps.replicas.replica(topic, partition), this.deps.brokerId, answering);
    return {
      leaderId: live > 0 ? live : p.leader,
      leaderEpoch: p.leaderEpoch,
      replicas: [...p.replicas],
      isr: [...p.isr],
      pinned: p.pinned === true,
      ...(p.targetReplicas === undefined ? {} : { targetReplicas: [...p.targetReplicas] }),
    };
  }

  highWatermarkHere(topic: string, partition: number): number | undefined {
    return this.deps.replicas.replica(topic, partition)?.highWatermark();
  }

  partition(topic: string, partition: number): ServedPartition {
    const t = this.view().topics.get(topic);
    const p = t?.partitions[partition];
    if (t === undefined || p === undefined) {
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation: 'catalog.partition',
        message: `unknown topic or partition ${topic}-${partition}`,
        metadata: { topic, partition },
      });
    }
    if (p.leader === NO_LEADER) {
      throw new StreamBusError('LEADER_NOT_AVAILABLE', {
        operation: 'catalog.partition',
        message: `${topic}-${partition} has no leader`,
        metadata: { topic, partition },
      });
    }
    const replica = this.deps.replicas.replica(topic, partition);
    if (replica?.isLeader()) return replica;
    // The Raft group knows better than the hint once the replica is open here.
    const raftLeader = replica?.leaderId() ?? 0;
    const leaderId = raftLeader > 0 ? raftLeader : p.leader;
    if (leaderId === this.deps.brokerId || leaderId <= 0) {
      throw new StreamBusError('LEADER_NOT_AVAILABLE', {
        operation: 'catalog.partition',
        message: `${topic}-${partition} has no leader right now (election or replica opening)`,
        metadata: { topic, partition },
      });
    }
    throw new StreamBusError('NOT_LEADER', {
      operation: 'catalog.partition',
      message: `${topic}-${partition} is led by broker ${leaderId}, not ${this.deps.brokerId}`,
      metadata: { topic, partition, leaderId },
    });
  }

  /**
   * The leader's copy, or this broker's follower copy while metadata lists it in the partition's in-sync
   * set and its Raft group hears from a current leader (the leader it knows within its lease, whose traffic
   * reaches this broker: liveLeaderOf). A follower cut off from its leader, dropped from the in-sync set or
   * moved away answers as partition() does (NOT_LEADER naming the leader), and the consumer goes back there.
   */
  readSource(topic: string, partition: number): ReadSource {
    const replica = this.deps.replicas.replica(topic, partition);
    if (replica !== undefined && !replica.isLeader()) {
      const p = this.view().topics.get(topic)?.partitions[partition];
      const self = this.deps.brokerId;
      const answering = this.deps.peerAnswering ?? (() => true);
      const leader = liveLeaderOf(replica, self, answering);
      if (p?.replicas.includes(self) && p.isr.includes(self) && leader > 0 && leader !== self)
        return { reads: followerReads(replica), follower: true };
    }
    return { reads: this.partition(topic, partition), follower: false };
  }

  /**
   * An in-sync replica in the consumer's rack that is alive in metadata and whose traffic reaches this
   * broker (replica/read-replica-selector.ts); -1 to read here (or when this broker does not lead).
   */
  preferredReadReplica(topic: string, partition: number, clientRack: string): number {
    if (clientRack === '') return -1;
    const replica = this.deps.replicas.replica(topic, partition);
    if (replica === undefined) return -1;
    const brokers = this.view().brokers;
    const answering = this.deps.peerAnswering ?? (() => true);
    return replica.preferredReadReplica(
      clientRack,
      (id) => brokers.get(id)?.rack,
      (id) => brokers.get(id)?.state === 'alive' && answering(id),
    );
  }

  validateTopic(spec: CreateTopicSpec): void {
    this.check(spec);
  }

  /**
   * The new partitions go where `spec.assignments` says, or where the topic's next ones would have been
   * placed at creation (the placement strategy over the alive brokers, leaders continuing its rotation),
   * recorded in one metadata write, refused if the topic changed meanwhile; returns once this broker's
   * replica has applied it and the new partitions have published leaders (each bounded). Each replica's
   * broker opens them, as for a new topic.
   */
  async createPartitions(
    spec: CreatePartitionsSpec,
    validateOnly: boolean,
    deadline?: Deadline,
  ): Promise<void> {
    const { name, count } = spec;
    const topic = this.topicRecord(name, 'topic.create_partitions');
    const current = topic.partitions.length;
    validatePartitionGrowth(name, current, count);
    const added =
      spec.assignments !== null && spec.assignments !== undefined
        ? this.checkedAssignment(spec.assignments, {
            topic: name,
            operation: 'topic.create_partitions',
            partitions: count - current,
            replicationFactor: topic.replicationFactor,
            firstPartition: current,
          })
        : placeTopic(this.clusterView(), {
            topic: name,
            partitions: count,
            replicationFactor: topic.replicationFactor,
            strategy: this.placementStrategy,
          })
            .partitions.slice(current)
            .map((p) => p.replicas);
    if (validateOnly) return;
    const assigned = spec.assignments !== null && spec.assignments !== undefined;
    const pinned = assigned && this.pinsRecorded(name, 'topic.create_partitions');
    const result = await this.deps.store.addPartitions(
      { name, assignment: added, expectedPartitions: current, ...(pinned ? { pinned } : {}) },
      deadline === undefined ? {} : { deadline },
    );
    this.logger.info(
      {
        operation: 'topic.create_partitions',
        topic: name,
        partitions: count,
        before: current,
        leaders: added.map((replicas) => replicas[0]),
        assigned,
        pinned,
        metadata_version: result.version,
      },
      'partitions added in metadata',
    );
    await this.appliedHere(result.version, deadline);
    await this.leadersPublished(name, current, deadline);
  }

  /**
   * Places the topic where `spec.assignments` says, or over the alive brokers by the placement strategy,
   * and records it in the metadata; returns once this broker's replica has applied it and the partitions
   * have published leaders (each bounded), so a Metadata request here right after sees the topic and
   * writes sent to its leaders are taken.
   */
  async createTopic(spec: CreateTopicSpec, deadline?: Deadline): Promise<void> {
    const { replicationFactor, configs, assignment: given } = this.check(spec);
    const pinned = given !== undefined && this.pinsRecorded(spec.name, 'topic.create');
    const assignment =
      given ??
      placeTopic(this.clusterView(), {
        topic: spec.name,
        partitions: spec.partitions,
        replicationFactor,
        strategy: this.placementStrategy,
      }).partitions.map((p) => p.replicas);
    const result = await this.deps.store.createTopic(
      {
        name: spec.name,
        assignment,
        replicationFactor,
        configs,
        internal: spec.name.startsWith('__'),
        pinned,
      },
      deadline === undefined ? {} : { deadline },
    );
    this.logger.info(
      {
        operation: 'topic.create',
        topic: spec.name,
        partitions: spec.partitions,
        replication_factor: replicationFactor,
        leaders: assignment.map((replicas) => replicas[0]),
        assigned: given !== undefined,
        pinned,
        metadata_version: result.version,
      },
      'topic created in metadata',
    );
    await this.appliedHere(result.version, deadline);
    await this.leadersPublished(spec.name, 0, deadline);
  }

  async deleteTopic(name: string, deadline?: Deadline): Promise<void> {
    const result = await this.deps.store.deleteTopic(name, deadline === undefined ? {} : { deadline });
    this.logger.info(
      { operation: 'topic.delete', topic: name, metadata_version: result.version },
      'topic deleted from metadata',
    );
    await this.appliedHere(result.version, deadline);
  }

  /**
   * DeleteRecords: this broker leads the partition, so it checks the offset against its high watermark, then
   * records the floor in metadata (advanceLogStart), where every replica's log takes it from (the replica
   * manager hands it to each store, at open and on every change): it survives restarts, failovers and new
   * replicas. Only once the floor is committed does this replica's log hide the records.
   */
  async deleteRecords(
    request: { topic: string; partition: number; offset: number },
    deadline?: Deadline,
  ): Promise<number> {
    const operation = 'delete_records';
    const { topic, partition } = request;
    const served = this.partition(topic, partition);
    const view = this.view();
    if (view.featureLevel < FEATURE.deleteRecords) {
      throw featureNotFinalized(view, FEATURE.deleteRecords, 'deleting records needs', operation);
    }
    const target = logStartTarget(request, {
      highWatermark: served.highWatermark(),
      logStartOffset: served.logStartOffset(),
    });
    if (target === undefined) return served.logStartOffset();
    const createdVersion = this.topicRecord(topic, operation).createdVersion;
    const result = await this.deps.store.advanceLogStart(
      { topic, partition, createdVersion, offset: target },
      deadline === undefined ? {} : { deadline },
    );
    const logStart = this.deps.replicas.advanceLogStart(topic, partition, target);
    this.logger.info(
      { operation, topic, partition, log_start_offset: logStart, metadata_version: result.version },
      'records deleted',
    );
    return logStart;
  }

  describeConfigs(resource: ConfigResource): ConfigEntry[] {
    const view = this.view();
    const builtIn = builtInTopicConfigs(this.deps.logDefaults);
    const cluster = clusterTopicDefaults(view.clusterConfig);
    if (resource.type === 'cluster') return topicConfigEntries(builtIn, cluster, {});
    return topicConfigEntries(builtIn, cluster, this.topicRecord(resource.name, 'config.describe').configs);
  }

  /**
   * Topic overrides (alterTopicConfig) and cluster defaults (setClusterConfig) are metadata writes, so every
   * broker sees them and each replica manager applies them to its partition logs. Returns once this
   * broker's replica applied the change (bounded), so a DescribeConfigs here right after sees it.
   */
  async alterConfigs(
    change: AlterConfigsResource,
    validateOnly: boolean,
    deadline?: Deadline,
  ): Promise<void> {
    const view = this.view();
    const topic = change.type === 'topic' ? this.topicRecord(change.name, 'config.alter') : undefined;
    const current = topic?.configs ?? clusterTopicDefaults(view.clusterConfig);
    const { set } = alterTopicConfigs(current, change, 'config.alter');
    if (topic !== undefined) checkMinInsyncFits(set, topic.replicationFactor, topic.name, 'config.alter');
    if (validateOnly) return;
    const options = deadline === undefined ? {} : { deadline };
    const result =
      change.type === 'cluster'
        ? await this.deps.store.setClusterConfig({ set, delete: change.delete }, options)
        : await this.deps.store.alterTopicConfig(change.name, { set, delete: change.delete }, options);
    this.logger.info(
      {
        operation: 'config.alter',
        resource: change.type,
        topic: change.type === 'topic' ? change.name : undefined,
        set,
        deleted: change.delete,
        metadata_version: result.version,
      },
      'configs altered in metadata',
    );
    await this.appliedHere(result.version, deadline);
  }

  private topicRecord(name: string, operation: string): TopicRecord {
    const t = this.view().topics.get(name);
    if (t === undefined) {
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation,
        message: `unknown topic ${name}`,
        metadata: { topic: name },
      });
    }
    return t;
  }

  /**
   * Name, partition count, configs and replication factor checked against the current metadata: the spec's
   * replication factor and configs, and its own assignment if it brings one.
   */
  private check(spec: CreateTopicSpec): {
    replicationFactor: number;
    configs: TopicConfigs;
    assignment?: number[][];
  } {
    validateTopicName(spec.name);
    const given = spec.assignments ?? null;
    validatePartitionCount(given === null ? spec.partitions : given.length);
    const configs = normalizeTopicConfigs(spec.configs);
    if (this.view().topics.has(spec.name)) {
      throw new StreamBusError('TOPIC_ALREADY_EXISTS', {
        operation: 'topic.create',
        message: `topic ${spec.name} already exists`,
        metadata: { topic: spec.name },
      });
    }
    // Here, not in the metadata state machine: a new rule there would refuse, on replay, topics that
    // existing logs created. Two brokers creating colliding names at the same moment can both pass.
    checkTopicNameCollision(spec.name, this.view().topics.keys(), 'topic.create');
    if (given !== null) {
      const assignment = this.checkedAssignment(given, {
        topic: spec.name,
        operation: 'topic.create',
        partitions: spec.partitions,
        replicationFactor: spec.replicationFactor,
      });
      checkMinInsyncFits(configs, assignment[0]!.length, spec.name, 'topic.create');
      return { replicationFactor: assignment[0]!.length, configs, assignment };
    }
    const alive = eligibleBrokers(this.clusterView()).map((b) => b.id);
    if (spec.replicationFactor === -1 && alive.length === 0) {
      throw new StreamBusError('BROKER_NOT_AVAILABLE', {
        operation: 'topic.create',
        message: 'no broker is alive yet to place the topic on',
        metadata: { topic: spec.name },
      });
    }
    const replicationFactor =
      spec.replicationFactor === -1
        ? Math.min(DEFAULT_REPLICATION_FACTOR, alive.length)
        : spec.replicationFactor;
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > alive.length) {
      throw new StreamBusError('INVALID_REPLICATION_FACTOR', {
        operation: 'topic.create',
        message:
          replicationFactor < 1
            ? `replication factor must be a positive integer or -1 (default), got ${replicationFactor}`
            : `replication factor ${replicationFactor} needs ${replicationFactor} alive brokers; ` +
              `${alive.length} ${alive.length === 1 ? 'is' : 'are'} alive (${alive.join(', ') || 'none'})`,
        metadata: { topic: spec.name, replicationFactor, aliveBrokers: alive.length },
      });
    }
    checkMinInsyncFits(configs, replicationFactor, spec.name, 'topic.create');
    return { replicationFactor, configs };
  }

  /**
   * An operator's assignment (manual-assignment.ts), checked against the registered brokers: any state but
   * decommissioned, as Kafka accepts offline brokers (their partitions wait for them).
   */
  private checkedAssignment(
    assignments: readonly (readonly number[])[],
    expect: Omit<AssignmentExpectations, 'brokers'>,
  ): number[][] {
    const brokers = new Set(
      [...this.view().brokers.values()].filter((b) => b.state !== 'decommissioned').map((b) => b.id),
    );
    checkAssignment(assignments, { ...expect, brokers });
    return assignments.map((replicas) => [...replicas]);
  }

  /**
   * Whether an operator's assignment is recorded pinned (the rebalancer keeps it): from the feature level
   * that includes pins on. Before it, during a rolling upgrade from a build without them, the assignment is
   * placed as that build would place it, unpinned, and the rebalancer may move it later: said in the log.
   */
  private pinsRecorded(topic: string, operation: string): boolean {
    const level = this.view().featureLevel;
    if (level >= FEATURE.pinnedAssignments) return true;
    this.logger.warn(
      { operation, topic, feature_level: level, feature_level_needed: FEATURE.pinnedAssignments },
      'replica assignment not pinned: the cluster feature level does not include pins yet (the rebalancer may move these replicas)',
    );
    return false;
  }

  private view(): MetadataView {
    return this.deps.store.snapshotView();
  }

  private clusterView() {
    return toClusterView(this.view(), { heartbeatTimeoutMs: this.deps.heartbeatTimeoutMs });
  }

  /**
   * Resolves once this broker's replica reached `version`, or after applyWaitMs or at the request's
   * deadline, whichever is first (the change did commit either way).
   */
  private appliedHere(version: number, deadline: Deadline | undefined): Promise<void> {
    const sm = this.deps.store.stateMachine;
    return this.untilHere(() => sm.version >= version, this.deps.applyWaitMs ?? APPLY_WAIT_MS, deadline);
  }

  /**
   * Resolves once every partition of `name` from `fromPartition` on has a leader its Raft group published
   * (a leader epoch above the fresh partition's 0), or after LEADERS_WAIT_MS or at the request's deadline.
   */
  private leadersPublished(
    name: string,
    fromPartition: number,
    deadline: Deadline | undefined,
  ): Promise<void> {
    const published = (): boolean => {
      const t = this.view().topics.get(name);
      return (
        t === undefined ||
        t.partitions.slice(fromPartition).every((p) => p.leader !== NO_LEADER && p.leaderEpoch > 0)
      );
    };
    return this.untilHere(published, this.deps.leadersWaitMs ?? LEADERS_WAIT_MS, deadline);
  }

  /** Resolves once `holds()` is true of this broker's metadata, after `waitMs`, or at the deadline. */
  private untilHere(holds: () => boolean, waitMs: number, deadline: Deadline | undefined): Promise<void> {
    return untilApplied(this.deps.store.stateMachine, holds, waitMs, this.timers, deadline);
  }
}

function topicInfo(t: TopicRecord): TopicInfo {
  return {
    name: t.name,
    partitions: t.partitions.length,
    replicationFactor: t.replicationFactor,
    internal: t.internal,
    // Its own overrides only, as on a single node: cluster-wide defaults are not this topic's settings
    // (describeConfigs shows every effective value with its source).
    configs: { ...t.configs },
    incarnation: t.createdVersion,
  };
}
