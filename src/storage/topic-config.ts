/**
 * Topic names, partition counts and per-topic config overrides (snake_case keys, Kafka-style string values)
 * layered over the broker's storage defaults.
 */
import { StreamBusError } from '../errors/index.js';
import { BATCH_HEADER_BYTES } from '../protocol/record-batch.js';
import { STORED_BATCH_BYTES_MAX } from './batch-scan.js';
import {
  CLEANUP_POLICIES,
  type CleanupPolicy,
  FLUSH_POLICIES,
  type FlushPolicy,
  type LogConfig,
} from './config.js';

export const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;
export const PARTITIONS_MAX = 10_000;

export type TopicConfigs = Record<string, string>;

interface NumericKey {
  /** The LogConfig field it sets; undefined for a key that is not about the log (replication). */
  field: keyof Omit<LogConfig, 'flushPolicy' | 'followerDirectWrites' | 'cleanupPolicy'> | undefined;
  min: number;
  max?: number;
  /** A fraction rather than an integer (min_cleanable_dirty_ratio). */
  fraction?: true;
}

/** Override key -> LogConfig field and smallest allowed value. */
const NUMERIC_KEYS: Record<string, NumericKey> = {
  retention_ms: { field: 'retentionMs', min: -1 },
  retention_bytes: { field: 'retentionBytes', min: -1 },
  segment_bytes: { field: 'segmentBytes', min: 1024, max: 0x7fffffff },
  segment_ms: { field: 'segmentMs', min: 1 },
  index_interval_bytes: { field: 'indexIntervalBytes', min: 0 },
  flush_interval_ms: { field: 'flushIntervalMs', min: 1 },
  max_message_bytes: { field: 'batchBytesMax', min: BATCH_HEADER_BYTES, max: STORED_BATCH_BYTES_MAX },
  delete_retention_ms: { field: 'deleteRetentionMs', min: 0 },
  min_cleanable_dirty_ratio: { field: 'minCleanableDirtyRatio', min: 0, max: 1, fraction: true },
  min_compaction_lag_ms: { field: 'minCompactionLagMs', min: 0 },
  // Cluster mode: acks=all produce is refused (NOT_ENOUGH_REPLICAS) while fewer replicas are in sync.
  min_insync_replicas: { field: undefined, min: 1, max: 1000 },
};

/** Replicas that must be in sync for an acks=all write (Kafka's min.insync.replicas); default 1. */
export function minInsyncReplicas(configs: TopicConfigs): number {
  const text = configs.min_insync_replicas;
  return text === undefined ? 1 : Number(text);
}

/**
 * Refuses a topic's own min_insync_replicas above its replication factor (INVALID_TOPIC_CONFIG): every
 * acks=all write to it, the producer's default, would be refused with NOT_ENOUGH_REPLICAS. A cluster-wide
 * default is not checked here: it applies to topics of every replication factor.
 */
export function checkMinInsyncFits(
  configs: TopicConfigs,
  replicationFactor: number,
  topic: string,
  operation: string,
): void {
  if (configs.min_insync_replicas === undefined) return;
  const required = minInsyncReplicas(configs);
  if (required <= replicationFactor) return;
  throw new StreamBusError('INVALID_TOPIC_CONFIG', {
    operation,
    message: `min_insync_replicas ${required} is more than topic ${topic}'s replication factor ${replicationFactor}: acks=all writes would never be accepted`,
    metadata: { topic, minInsyncReplicas: required, replicationFactor },
  });
}

/** Keys whose value is one of a list. cleanup_policy also takes Kafka's 'delete,compact' (stored as 'compact,delete'). */
const CHOICE_KEYS: Record<string, { values: readonly string[]; field: 'flushPolicy' | 'cleanupPolicy' }> = {
  flush_policy: { values: FLUSH_POLICIES, field: 'flushPolicy' },
  cleanup_policy: { values: CLEANUP_POLICIES, field: 'cleanupPolicy' },
};

export const TOPIC_CONFIG_KEYS: readonly string[] = [
  ...Object.keys(NUMERIC_KEYS),
  ...Object.keys(CHOICE_KEYS),
];

/** Kafka writes the two-policy value either way round; one spelling is stored. */
function canonicalChoice(key: string, text: string): string {
  return key === 'cleanup_policy' && text === 'delete,compact' ? 'compact,delete' : text;
}

function numberProblem(spec: NumericKey, text: string): string | undefined {
  const n = Number(text);
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const form = spec.fraction === true ? Number.isFinite(n) : Number.isSafeInteger(n);
  if (text.trim() !== '' && form && n >= spec.min && n <= max) return undefined;
  if (spec.fraction === true) return `a number from ${spec.min} to ${max}`;
  return spec.max === undefined ? `an integer >= ${spec.min}` : `an integer from ${spec.min} to ${max}`;
}

export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TOPIC_NAME_PATTERN.test(name) || name === '.' || name === '..') {
    throw new StreamBusError('INVALID_TOPIC_NAME', {
      operation: 'topic.create',
      message: `invalid topic name ${JSON.stringify(name)}: use 1-249 characters of [a-zA-Z0-9._-], not '.' or '..'`,
      metadata: { topic: name },
    });
  }
}

/**
 * Kafka's rule: a topic whose name equals an existing one's once '.' and '_' are treated alike is refused
 * (InvalidTopicException "collides with existing topic"), since metric names map both characters to the
 * same one and the two topics' metrics would merge. Checked on create only: topics that already collide
 * (created before this rule) still load and replay. `existing` excludes an exact match (TOPIC_ALREADY_EXISTS).
 */
export function checkTopicNameCollision(name: string, existing: Iterable<string>, operation: string): void {
  const folded = metricTopicName(name);
  for (const other of existing) {
    if (other !== name && metricTopicName(other) === folded) {
      throw new StreamBusError('INVALID_TOPIC_NAME', {
        operation,
        message: `topic '${name}' collides with existing topic '${other}': '.' and '_' are alike in metric names`,
        metadata: { topic: name, collidesWith: other },
      });
    }
  }
}

function metricTopicName(name: string): string {
  return name.replaceAll('.', '_');
}

export function validatePartitionCount(partitions: unknown): asserts partitions is number {
  if (
    typeof partitions !== 'number' ||
    !Number.isInteger(partitions) ||
    partitions < 1 ||
    partitions > PARTITIONS_MAX
  ) {
    throw new StreamBusError('INVALID_PARTITIONS', {
      operation: 'topic.create',
      message: `partitions must be an integer from 1 to ${PARTITIONS_MAX}, got ${String(partitions)}`,
      metadata: { partitions },
    });
  }
}

/**
 * A topic's new total partition count (CreatePartitions): larger than `current` (partitions are only added:
 * removing one would drop its data and move keys between partitions) and within the limit.
 */
export function validatePartitionGrowth(
  topic: string,
  current: number,
  count: unknown,
): asserts count is number {
  if (typeof count === 'number' && Number.isInteger(count) && count > current && count <= PARTITIONS_MAX) {
    return;
  }
  const why =
    typeof count === 'number' && Number.isInteger(count) && count <= current
      ? `topic ${topic} has ${current} partitions; partitions can only be added, so the new count must be over ${current}`
      : `the new partition count must be an integer from ${current + 1} to ${PARTITIONS_MAX}, got ${String(count)}`;
  throw new StreamBusError('INVALID_PARTITIONS', {
    operation: 'topic.create_partitions',
    message: why,
    metadata: { topic, partitions: current, count },
  });
}

function badConfig(key: string, value: unknown, expected: string, operation: string): StreamBusError {
  return new StreamBusError('INVALID_TOPIC_CONFIG', {
    operation,
    message: `topic config ${key}=${JSON.stringify(value)}: expected ${expected}`,
    metadata: { key, value },
  });
}

function unknownKey(key: string, value: unknown, operation: string): StreamBusError {
  return badConfig(key, value, `one of the keys ${TOPIC_CONFIG_KEYS.join(', ')}`, operation);
}

/** Normalises overrides to strings, checking keys and values. Throws INVALID_TOPIC_CONFIG naming the key. */
export function normalizeTopicConfigs(
  configs: Record<string, unknown>,
  operation = 'topic.create',
): TopicConfigs {
  const out: TopicConfigs = {};
  for (const [key, value] of Object.entries(configs)) {
    const raw = typeof value === 'number' ? String(value) : value;
    if (typeof raw !== 'string') throw badConfig(key, value, 'a string or number', operation);
    const text = canonicalChoice(key, raw);
    const choice = CHOICE_KEYS[key];
    if (choice !== undefined) {
      if (!choice.values.includes(text)) throw badConfig(key, value, choice.values.join(' | '), operation);
    } else {
      const spec = NUMERIC_KEYS[key];
      if (spec === undefined) throw unknownKey(key, value, operation);
      const problem = numberProblem(spec, text);
      if (problem !== undefined) throw badConfig(key, value, problem, operation);
    }
    out[key] = text;
  }
  return out;
}

/** The log config of a topic: broker defaults with the topic's overrides on top. */
export function resolveLogConfig(defaults: LogConfig, configs: TopicConfigs): LogConfig {
  const resolved: LogConfig = { ...defaults };
  for (const [key, value] of Object.entries(normalizeTopicConfigs(configs))) {
    const choice = CHOICE_KEYS[key];
    if (choice?.field === 'flushPolicy') resolved.flushPolicy = value as FlushPolicy;
    if (choice?.field === 'cleanupPolicy') resolved.cleanupPolicy = value as CleanupPolicy;
    if (choice !== undefined) continue;
    const field = NUMERIC_KEYS[key]!.field;
    if (field !== undefined) resolved[field] = Number(value);
  }
  return resolved;
}

/** Every topic-level key's value when neither the topic nor the cluster sets it: the broker's own defaults. */
export function builtInTopicConfigs(defaults: LogConfig): TopicConfigs {
  const out: TopicConfigs = {};
  for (const key of TOPIC_CONFIG_KEYS) {
    const choice = CHOICE_KEYS[key];
    if (choice !== undefined) out[key] = defaults[choice.field];
    else {
      const field = NUMERIC_KEYS[key]!.field;
      out[key] = field === undefined ? String(minInsyncReplicas({})) : String(defaults[field]);
    }
  }
  return out;
}

/**
 * One level of configs (a topic's overrides or the cluster's defaults) after an incremental change: `set`
 * validated as overrides are, `delete` naming known keys. Throws INVALID_TOPIC_CONFIG naming the key.
 */
export function alterTopicConfigs(
  current: TopicConfigs,
  change: { set: Record<string, unknown>; delete: readonly string[] },
  operation: string,
): { configs: TopicConfigs; set: TopicConfigs } {
  const set = normalizeTopicConfigs(change.set, operation);
  const configs: TopicConfigs = { ...current };
  for (const key of change.delete) {
    if (!TOPIC_CONFIG_KEYS.includes(key)) throw unknownKey(key, null, operation);
    if (Object.hasOwn(set, key))
      throw badConfig(key, set[key], 'to be either set or deleted, not both', operation);
    delete configs[key];
  }
  return { configs: { ...configs, ...set }, set };
}
