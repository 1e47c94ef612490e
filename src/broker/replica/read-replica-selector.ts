/**
 * Which replica a consumer should fetch a partition from, given its rack (fetch from followers, Kafka's
 * KIP-392 and its RackAwareReplicaSelector): reading from a replica in the consumer's own rack (zone) keeps
 * the bytes off cross-zone links. The leader decides, per fetch, from its own in-sync view: it reads
 * itself when it is in the consumer's rack, when the consumer has no rack, or when no in-sync replica is
 * there; otherwise it names the in-sync replica in that rack that is furthest along (Kafka picks the one
 * with the highest log end offset), the lowest broker id breaking a tie so the choice is stable.
 */
import type { NodeId } from '../../raft/core/types.js';

/** "Read from the leader": what a fetch answer's preferredReadReplica says then. */
export const READ_FROM_LEADER = -1;

export interface ReadReplicaChoice {
  readonly leaderId: NodeId;
  /** The consumer's rack (Fetch v1 rackId); "" for none. */
  readonly clientRack: string;
  /** The partition's in-sync replicas as its leader sees them, the leader included. */
  readonly inSync: readonly NodeId[];
  /** A broker's rack (broker.rack) from metadata; null or undefined when it has none or is unknown. */
  readonly rackOf: (brokerId: NodeId) => string | null | undefined;
  /**
   * Whether a broker can serve a fetch now: registered and alive, its traffic reaching the leader lately
   * (a follower killed a moment ago is still in the in-sync set for the lag time; sending consumers there
   * would only bounce them back).
   */
  readonly available: (brokerId: NodeId) => boolean;
  /** How far a replica's log is known to reach (its Raft match index): the higher, the more caught up. */
  readonly matchOf: (brokerId: NodeId) => number;
}

/** The broker id to read from, or READ_FROM_LEADER. */
export function preferredReadReplica(choice: ReadReplicaChoice): NodeId {
  const { clientRack, leaderId } = choice;
  if (clientRack === '' || choice.rackOf(leaderId) === clientRack) return READ_FROM_LEADER;
  let best: NodeId = READ_FROM_LEADER;
  for (const id of choice.inSync) {
    if (id === leaderId || choice.rackOf(id) !== clientRack || !choice.available(id)) continue;
    if (
      best === READ_FROM_LEADER ||
      choice.matchOf(id) > choice.matchOf(best) ||
      (choice.matchOf(id) === choice.matchOf(best) && id < best)
    )
      best = id;
  }
  return best;
}
