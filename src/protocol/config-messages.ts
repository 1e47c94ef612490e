/**
 * The config APIs' bodies (version 0), Kafka's DescribeConfigs and IncrementalAlterConfigs: topic-level
 * configs of one topic, the cluster-wide topic defaults every topic inherits, or the quotas of a
 * client id (Kafka's `--entity-type clients`). Same conventions as
 * messages.ts. Values are strings as in Kafka (`retention_ms: '60000'`).
 */
import type { WireError } from './messages.js';

/**
 * `topic` names a topic; `cluster` (name '') holds the topic-level defaults of the whole cluster; `client`
 * names a client id and holds its quotas (`producer_byte_rate`, `consumer_byte_rate`,
 * `request_percentage`), name '' the default of every client id.
 */
export type ConfigResourceType = 'topic' | 'cluster' | 'client';
export interface ConfigResource {
  type: ConfigResourceType;
  /** The topic name or client id; '' for the cluster, or for the default of every client id. */
  name: string;
}
/**
 * Where an effective value comes from: the topic's override, the cluster default, or the broker built-in
 * (for a client quota: the broker config's `quotas.*`); `client` the client id's own override,
 * `client-default` the default of every client id.
 */
export type ConfigSource = 'topic' | 'cluster' | 'client' | 'client-default' | 'default';
export interface ConfigEntry {
  key: string;
  value: string;
  source: ConfigSource;
}

// DescribeConfigs
export interface DescribeConfigsRequest {
  resources: ConfigResource[];
}
export interface DescribeConfigsResult extends ConfigResource {
  error: WireError | null;
  /** Every topic-level key with its effective value, sorted by key; empty with an error. */
  entries: ConfigEntry[];
}
export interface DescribeConfigsResponse {
  resources: DescribeConfigsResult[];
}

// AlterConfigs (incremental: keys not named keep their value)
export interface AlterConfigsResource extends ConfigResource {
  /** Keys to set at this level. */
  set: Record<string, string>;
  /** Keys whose value at this level is removed (the next level's value shows through). */
  delete: string[];
}
export interface AlterConfigsRequest {
  resources: AlterConfigsResource[];
  /** Validate every change and answer as if applied, changing nothing. */
  validateOnly: boolean;
}
export interface AlterConfigsResult extends ConfigResource {
  error: WireError | null;
}
export interface AlterConfigsResponse {
  resources: AlterConfigsResult[];
}
