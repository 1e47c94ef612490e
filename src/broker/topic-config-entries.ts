/**
 * Where each topic-level config value comes from (DescribeConfigs): a topic's override wins over the cluster
 * default, which wins over the broker's built-in default (storage.* in its config file). Pure.
 */
import type { ConfigEntry } from '../protocol/messages.js';
import { TOPIC_CONFIG_KEYS, type TopicConfigs } from '../storage/topic-config.js';

/** Every topic-level key, sorted, with its effective value and source. Unknown keys in a level are ignored. */
export function topicConfigEntries(
  builtIn: TopicConfigs,
  cluster: TopicConfigs,
  topic: TopicConfigs,
): ConfigEntry[] {
  return [...TOPIC_CONFIG_KEYS].sort().map((key): ConfigEntry => {
    if (Object.hasOwn(topic, key)) return { key, value: topic[key]!, source: 'topic' };
    if (Object.hasOwn(cluster, key)) return { key, value: cluster[key]!, source: 'cluster' };
    return { key, value: builtIn[key] ?? '', source: 'default' };
  });
}

/** The topic-level keys of the cluster's config (the metadata store also accepts other keys). */
export function clusterTopicDefaults(clusterConfig: Readonly<Record<string, string>>): TopicConfigs {
  const out: TopicConfigs = {};
  for (const [key, value] of Object.entries(clusterConfig)) {
    if (TOPIC_CONFIG_KEYS.includes(key)) out[key] = value;
  }
  return out;
}
