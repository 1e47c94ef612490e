export {
  DEFAULT_LOG_CONFIG,
  DEFAULT_STORAGE_CONFIG,
  FLUSH_POLICIES,
  type FlushPolicy,
  type LogConfig,
  logConfigOf,
  type StorageConfig,
} from './config.js';
export {
  LogManager,
  type LogManagerDeps,
  type PartitionRetention,
  TOPICS_FILE,
  type TopicState,
} from './log-manager.js';
export type { AppendResult } from './partition-append.js';
export { PartitionLog } from './partition-log.js';
export type {
  DeletedSegment,
  PartitionLogDeps,
  PartitionLogStats,
  ReadResult,
  RetentionResult,
} from './partition-log-types.js';
export { nodeStorageFs, type StorageFile, type StorageFs } from './storage-fs.js';
export {
  normalizeTopicConfigs,
  resolveLogConfig,
  TOPIC_CONFIG_KEYS,
  type TopicConfigs,
  validatePartitionCount,
  validateTopicName,
} from './topic-config.js';
export {
  type Clock,
  type IntervalScheduler,
  SILENT_LOGGER,
  type StorageLogger,
  SYSTEM_CLOCK,
} from './types.js';
