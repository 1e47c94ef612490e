import type { MetadataView } from '../metadata/state.js';
import type { TopicRecord } from '../metadata/types.js';
import { clusterTopicDefaults } from './topic-config-entries.js';

/** A topic's effective configs in cluster mode: the cluster's topic-level defaults overlaid with its overrides. */
export function topicConfigs(view: MetadataView, topic: TopicRecord): Record<string, string> {
  return { ...clusterTopicDefaults(view.clusterConfig), ...topic.configs };
}
