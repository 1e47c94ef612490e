export {
  COMMAND_FORMAT_VERSION,
  type CommandEnvelope,
  type CommandType,
  decodeCommand,
  encodeCommand,
  type MetadataCommand,
} from './commands.js';
export { type ForwardTarget, MemoryForwarder, type MetadataForwarder } from './forwarder.js';
export { bindMetadataMetrics, type MetadataMetricsSink } from './observe.js';
export { decodeSnapshot, encodeSnapshot, parseApplyResult, SNAPSHOT_FORMAT_VERSION } from './snapshot.js';
export {
  effectiveTopicConfig,
  FIRST_PRODUCER_ID,
  MetadataState,
  type MetadataView,
  PRODUCER_ID_BLOCK_MAX,
  RECENT_REQUESTS_MAX,
  validTopicName,
} from './state.js';
export { type MetadataChange, MetadataStateMachine } from './state-machine.js';
export {
  type MetadataOperationEvent,
  type MetadataRaft,
  MetadataStore,
  type MetadataStoreOptions,
  type MetadataWriteResult,
  type WriteOptions,
} from './store.js';
export * from './types.js';
