/**
 * The single-node catalog: topics and partitions straight from the local log manager. This broker leads
 * every partition; replication factor is always 1. (Replicated partitions replace this with a catalog
 * backed by the metadata store.)
 */
import { StreamBusError } from '../errors/index.js';
import type { BrokerInfo, CreateTopicSpec } from '../protocol/messages.js';
import type { LogManager } from '../storage/log-manager.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { PartitionPlacement, ServedPartition, TopicCatalog, TopicInfo } from './catalog.js';
import { DeduplicatedLog } from './deduplicated-log.js';

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
    this.checkReplicationFactor(spec);
    this.logs.validateTopic(spec.name, spec.partitions, spec.configs);
  }

  async createTopic(spec: CreateTopicSpec): Promise<void> {
    this.checkReplicationFactor(spec);
    await this.logs.createTopic(spec.name, spec.partitions, spec.configs);
  }

  deleteTopic(name: string): Promise<void> {
    return this.logs.deleteTopic(name);
  }

  /** One broker can hold one replica; -1 means "the broker default" as in Kafka. */
  private checkReplicationFactor(spec: CreateTopicSpec): void {
    if (spec.replicationFactor !== 1 && spec.replicationFactor !== -1) {
      throw new StreamBusError('INVALID_REPLICATION_FACTOR', {
        operation: 'topic.create',
        message: `replication factor ${spec.replicationFactor} needs ${spec.replicationFactor} brokers; this cluster has 1`,
        metadata: { topic: spec.name, replicationFactor: spec.replicationFactor },
      });
    }
  }
}
