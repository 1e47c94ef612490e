/**
 * How a broker reaches the metadata leader when Raft does not tell it who leads: a broker joining from
 * outside the group (not in cluster.voters), or a founding voter that must act as one
 * (broker/leader-search.ts). While it knows no leader its writes, its registration first, go to the voters
 * it lists in turn (leader-router.ts); a follower's NOT_LEADER that names the leader's peer address makes it
 * add the leader as a peer and send the write there (tcp-forwarder.ts).
 */
import type { NodeId } from '../raft/core/types.js';
import type { HostPort } from './types.js';

export interface JoinRoute {
  /** The voters to try in turn while no leader is known; empty while this broker waits for Raft to find one. */
  via(): readonly NodeId[];
  /** Adds a peer to this broker's transport, which then dials it. */
  learnPeer(id: NodeId, address: HostPort): void;
}
