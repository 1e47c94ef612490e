export * from './codec.js';
export * from './core/index.js';
export { RaftHost, type RaftHostOptions } from './host.js';
export { type RaftLogger, silentLogger } from './logger.js';
export {
  type CallOptions,
  RaftNode,
  type RaftNodeEvents,
  type RaftNodeOptions,
  type RaftNodeStatus,
  type StateMachine,
} from './node.js';
export { LevelRaftStorage } from './storage/level-storage.js';
export { MemoryRaftStorage } from './storage/memory-storage.js';
export type { RaftStorage, StorageUpdate } from './storage/types.js';
export { MemoryHub, MemoryTransport } from './transport/memory-transport.js';
export { type PeerAddress, TcpTransport, type TcpTransportOptions } from './transport/tcp-transport.js';
export type { RaftTransport } from './transport/types.js';
