/**
 * The single-node catalog: topics and partitions straight from the local log manager. This broker leads
 * every partition; replication factor is always 1. (Replicated partitions replace this with a catalog
 * backed by the metadata store.)
 *
 * Configs: topic overrides live in topics.json with the topics. There is no cluster level here: a lone
 * broker's topic defaults are the storage.* keys of its config file, so altering the cluster resource is
 * refused (it would be a second, conflicting place for the same defaults).
 */
import { checkAssignment } from '../cluster/manual-assignment.js';
import { StreamBusError } from '../errors/index.js';
import type {
  AlterConfigsResource,
  BrokerInfo,
  ConfigEntry,
  ConfigResource,
  CreatePartitionsSpec,
  CreateTopicSpec,
} from '../protocol/messages.js';
import { logConfigOf } from '../storage/config.js';
import type { LogManager } from '../storage/log-manager.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { builtInTopicConfigs } from '../storage/topic-config.js';
import type { PartitionPlacement, ServedPartition, TopicCatalog, TopicInfo } from './catalog.js';
import { DeduplicatedLog } from './deduplicated-log.js';
import { logStartTarget } from './delete-records.js';
import { topicConfigEntries } from './topic-config-entries.js';

export class LocalTopicCatalog implements TopicCatalog {
  /** One served view per open log (a deleted and re-created topic gets new logs, so new views). */
  private readonly served = new WeakMap<PartitionLog, DeduplicatedLog>();

  /** `self` is read on every call: the advertised port is only known once the listener is bound. */
  constructor(
    private readonly logs: LogManager,
    private readonly self: () => BrokerInfo,
  ) {}

  brokers(): BrokerInfo[] {
    return [this.self()];
  }

  controllerId(): number {
    return this.self().id;
  }

  placement(topic: string, partition: number): PartitionPlacement | undefined {
    const t = this.logs.topic(topic);
    if (t === undefined || !Number.isInteger(partition) || partition < 0 || partition >= t.partitions) {
      return undefined;
    }
    const id = this.self().id;
    return { leaderId: id, leaderEpoch: 0, replicas: [id], isr: [id] };
  }

  listTopics(): TopicInfo[] {
    return this.logs.listTopics().map((t) => ({
      name: t.name,
      partitions: t.partitions,
      replicationFactor: 1,
      internal: t.name.startsWith('__'),
      configs: { ...t.configs },
      incarnation: t.createdMs,
    }));
  }

  topic(name: string): TopicInfo | undefined {
    const t = this.logs.topic(name);
    if (t === undefined) return undefined;
    return {
      name,
      partitions: t.partitions,
      replicationFactor: 1,
      internal: name.startsWith('__'),
      configs: { ...t.configs },
      incarnation: t.createdMs,
    };
  }

  partition(topic: string, partition: number): ServedPartition {
    const log = this.logs.partition(topic, partition);
    let served = this.served.get(log);
    if (served === undefined) {
      served = new DeduplicatedLog(log, { topic, partition });
      this.served.set(log, served);
    }
    return served;
  }

  highWatermarkHere(topic: string, partition: number): number | undefined {
    try {
      return this.logs.partition(topic, partition).highWatermark();
    } catch {
      return undefined; // unknown topic or partition
    }
  }

  validateTopic(spec: CreateTopicSpec): void {
    this.logs.validateTopic(spec.name, this.checkPlacement(spec), spec.configs);
  }

  async createTopic(spec: CreateTopicSpec): Promise<void> {
    await this.logs.createTopic(spec.name, this.checkPlacement(spec), spec.configs);
  }

  deleteTopic(name: string): Promise<void> {
    return this.logs.deleteTopic(name);
  }

  async deleteRecords(request: { topic: string; partition: number; offset: number }): Promise<number> {
    const { topic, partition } = request;
    const log = this.logs.partition(topic, partition);
    const target = logStartTarget(request, {
      highWatermark: log.highWatermark(),
      logStartOffset: log.logStartOffset(),
    });
    if (target === undefined) return log.logStartOffset();
    return this.logs.advanceLogStart(topic, partition, target);
  }

  async createPartitions(spec: CreatePartitionsSpec, validateOnly: boolean): Promise<void> {
    const { name, count, assignments } = spec;
    if (assignments !== null && assignments !== undefined) {
      const current = this.logs.topic(name)?.partitions;
      checkAssignment(assignments, {
        topic: name,
        operation: 'topic.create_partitions',
        partitions: current === undefined ? -1 : count - current,
        replicationFactor: 1,
        brokers: new Set([this.self().id]),
        firstPartition: current ?? 0,
      });
    }
    await this.logs.addPartitions(name, count, validateOnly);
  }

  describeConfigs(resource: ConfigResource): ConfigEntry[] {
    const builtIn = builtInTopicConfigs(logConfigOf(this.logs.config));
    if (resource.type === 'cluster') return topicConfigEntries(builtIn, {}, {});
    const t = this.logs.topic(resource.name);
    if (t === undefined) {
      throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
        operation: 'config.describe',
        message: `unknown topic ${resource.name}`,
        metadata: { topic: resource.name },
      });
    }
    return topicConfigEntries(builtIn, {}, t.configs);
  }

  async alterConfigs(change: AlterConfigsResource, validateOnly: boolean): Promise<void> {
    if (change.type === 'cluster') {
      throw new StreamBusError('INVALID_REQUEST', {
        operation: 'config.alter',
        message:
          'cluster-wide topic defaults need cluster mode (cluster.enabled); on a single broker set the ' +
          'storage.* keys of its config file, or alter the topic',
      });
    }
    await this.logs.alterTopicConfigs(change.name, change, validateOnly);
  }

  /**
   * The partition count to create. One broker can hold one replica; -1 means "the broker default" as in
   * Kafka. An explicit assignment may only name this broker.
   */
  private checkPlacement(spec: CreateTopicSpec): number {
    if (spec.assignments !== null && spec.assignments !== undefined) {
      return checkAssignment(spec.assignments, {
        topic: spec.name,
        operation: 'topic.create',
        partitions: spec.partitions,
        replicationFactor: spec.replicationFactor,
        brokers: new Set([this.self().id]),
      }).partitions;
    }
    if (spec.replicationFactor !== 1 && spec.replicationFactor !== -1) {
      throw new StreamBusError('INVALID_REPLICATION_FACTOR', {
        operation: 'topic.create',
        message: `replication factor ${spec.replicationFactor} needs ${spec.replicationFactor} brokers; this cluster has 1`,
        metadata: { topic: spec.name, replicationFactor: spec.replicationFactor },
      });
    }
    return spec.partitions;
  }
}
