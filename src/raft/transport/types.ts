import type { Envelope } from '../codec.js';
import type { NodeId } from '../core/types.js';

export type { Envelope } from '../codec.js';

/**
 * Moves Raft messages between nodes. Delivery is best effort: Raft tolerates loss, duplication and
 * reordering, so a transport may drop under pressure rather than block the driver.
 */
export interface RaftTransport {
  /** Queues messages for `to`; never throws for an unreachable peer (they are dropped). */
  send(to: NodeId, envelopes: readonly Envelope[]): void;
  /** Registers the one receiver (a RaftNode or a RaftHost routing by group id). */
  onMessage(handler: (from: NodeId, envelopes: readonly Envelope[]) => void): void;
  close(): Promise<void>;
}
