/**
 * What request handlers need from the broker's partitions and topics. The single-node broker serves these
 * straight from the local log manager; replicated partitions (one Raft group each) will implement the same
 * interfaces, so handlers do not change when replication arrives.
 */
import type { CreateTopicSpec } from '../protocol/messages.js';

export interface AppendOutcome {
  baseOffset: number;
  logAppendTimeMs: number;
}

export interface ReadOutcome {
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
}

export interface ServedPartition {
  /** Validates, stamps and appends whole batches; resolves once durable per the fsync policy. */
  append(batches: Buffer): Promise<AppendOutcome>;
  /** Whole batches from the one containing `offset`, at least one even if larger than maxBytes. */
  read(offset: number, maxBytes: number): Promise<ReadOutcome>;
  highWatermark(): number;
  logStartOffset(): number;
  sizeBytes(): number;
  offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null>;
  /** Calls `listener` whenever the high watermark advances; returns the unsubscribe function. */
  onHighWatermark(listener: (highWatermark: number) => void): () => void;
}

export interface TopicInfo {
  name: string;
  partitions: number;
  replicationFactor: number;
  internal: boolean;
  configs: Record<string, string>;
}

export interface TopicCatalog {
  listTopics(): TopicInfo[];
  topic(name: string): TopicInfo | undefined;
  /** Throws UNKNOWN_TOPIC_OR_PARTITION. */
  partition(topic: string, partition: number): ServedPartition;
  createTopic(spec: CreateTopicSpec): Promise<void>;
  /** Checks a spec without creating anything (CreateTopics validateOnly). */
  validateTopic(spec: CreateTopicSpec): void;
  deleteTopic(name: string): Promise<void>;
}
