export type { RaftCoreConfig } from './config.js';
export { entrySizeBytes } from './log.js';
export { newMessage } from './messages.js';
export {
  allVoters,
  applyConfChange,
  bootstrapEntries,
  type ConfEntry,
  decodeConfEntry,
  encodeConfChange,
  enterJoint,
  isJoint,
} from './quorum.js';
export { type FollowerProgress, type ProposeResult, RaftCore, type RaftStatus } from './raft.js';
export { mulberry32, randomInt } from './rand.js';
export * from './types.js';
