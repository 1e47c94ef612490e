import type { MetadataView } from '../metadata/state.js';
import type { TopicRecord } from '../metadata/types.js';
import { minInsyncReplicas } from '../storage/topic-config.js';
import { clusterTopicDefaults } from './topic-config-entries.js';

/** A topic's effective configs in cluster mode: the cluster's topic-level defaults overlaid with its overrides. */
export function topicConfigs(view: MetadataView, topic: TopicRecord): Record<string, string> {
  return { ...clusterTopicDefaults(view.clusterConfig), ...topic.configs };
}

/**
 * The in-sync replicas an acks=all write to one of `topic`'s partitions needs. The broker's own topics
 * (`__*`: `__consumer_offsets`) need at most their replica count: every group join, sync and commit is an
 * acks=all write there, clients may not give internal topics configs of their own, and a cluster-wide
 * default above their replica count (accepted for other topics, as in Kafka) would stop every consumer
 * group for good. A user topic keeps the configured value, satisfiable or not (its refusal says what to do).
 */
export function minInsyncFor(view: MetadataView, topic: TopicRecord, partition: number): number {
  const required = minInsyncReplicas(topicConfigs(view, topic));
  if (!topic.name.startsWith('__')) return required;
  const replicas = topic.partitions[partition]?.replicas.length ?? required;
  return Math.max(1, Math.min(required, replicas));
}
