import type { MetadataView } from '../metadata/state.js';
import type { TopicRecord } from '../metadata/types.js';
import { TOPIC_CONFIG_KEYS } from '../storage/topic-config.js';

/** A topic's effective configs in cluster mode: the cluster's topic-level defaults overlaid with its overrides. */
export function topicConfigs(view: MetadataView, topic: TopicRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(view.clusterConfig)) {
    if (TOPIC_CONFIG_KEYS.includes(key)) out[key] = value;
  }
  return { ...out, ...topic.configs };
}
