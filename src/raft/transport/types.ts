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
  /**
   * Registers the one listener told when an established connection to a peer is lost (closed by the peer,
   * reset, or given up as silent): a hint that the peer may be gone, ahead of Raft's own timeouts.
   * Optional: a transport without connections never calls it.
   */
  onPeerLost?(handler: (peer: NodeId) => void): void;
  /**
   * Whether `peer`'s process was heard from (any bytes, keepalives included) within `ms` over a connection
   * that is still up. Optional: without it a host lets no group go quiet (RaftCore.quiesce), since a quiet
   * group relies on it to notice a member that went away.
   */
  heardFromWithin?(peer: NodeId, ms: number): boolean;
  close(): Promise<void>;
}
