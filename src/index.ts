/** The streambus package: the client SDK and the few types its users need. */
export {
  Admin,
  type AdminOptions,
  type ConfigChange,
  type ConfigOutcome,
  type ConfigsDescription,
  type DeletedRecords,
  type NewTopic,
  type PartitionGrowth,
  type RecordsToDelete,
  type TopicOutcome,
} from './client/admin.js';
export { type ClientOptions, createClient, StreamBusClient } from './client/client.js';
export { Connection, type ConnectionOptions, type RequestOptions } from './client/connection.js';
export type { ClientTlsOptions } from './client/connection-tls.js';
export {
  type AssignmentListener,
  type AutoOffsetReset,
  Consumer,
  type ConsumerMessage,
  type ConsumerOptions,
  type TopicPartition,
} from './client/consumer.js';
export {
  type CommittedOffset,
  GROUP_DEFAULTS,
  type GroupMetadata,
  type GroupOptions,
  type RebalanceListener,
} from './client/consumer-group.js';
export {
  GroupAdmin,
  type GroupListing,
  type GroupMemberView,
  type GroupView,
  type OffsetDeletion,
  type OffsetResetTarget,
  type PartitionLag,
} from './client/group-admin.js';
export { murmur2, partitionForKey } from './client/partitioner.js';
export { Producer } from './client/producer.js';
export type {
  ProducerMessage,
  ProducerOptions,
  RecordMetadata,
  SendRequest,
} from './client/producer-options.js';
export {
  type ErrorCategory,
  type ErrorCode,
  isRetriable,
  isStreamBusError,
  StreamBusError,
} from './errors/index.js';
export type { Compression } from './protocol/compression.js';
export { COMPRESSIONS } from './protocol/compression.js';
export type {
  Acks,
  ApiVersionsResponse,
  ClusterBrokerDescription,
  ConfigEntry,
  ConfigResource,
  ConfigResourceType,
  ConfigSource,
  DescribeClusterResponse,
  ListOffsetsPartitionResult,
  MetadataResponse,
  TopicDescription,
} from './protocol/messages.js';
export { ApiKey, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from './protocol/messages.js';
export type { RecordHeader } from './protocol/record-batch.js';
