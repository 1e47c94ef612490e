/**
 * The single-node catalog: topics and partitions straight from the local log manager. This broker leads
 * every partition; replication factor is always 1. (Replicated partitions replace this with a catalog
 * backed by the metadata store.)
 */
import { StreamBusError } from '../errors/index.js';
import type { CreateTopicSpec } from '../protocol/messages.js';
import type { LogManager } from '../storage/log-manager.js';
import type { ServedPartition, TopicCatalog, TopicInfo } from './catalog.js';

export class LocalTopicCatalog implements TopicCatalog {
  constructor(private readonly logs: LogManager) {}

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
    return this.logs.partition(topic, partition);
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
