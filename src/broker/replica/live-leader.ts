/**
 * A partition's leader as this broker's own replica knows it, when that knowledge is current: metadata
 * names a new leader only once the leader's publication is committed by the metadata leader, and when the
 * metadata leader is down too (paused with the partition's old leader, say) that waits for a metadata
 * election as well: seconds in which every Metadata answer sent clients to the old, silent leader. A
 * replica in its group knows the new leader as soon as it is elected.
 */
import type { NodeId } from '../../raft/core/types.js';

/** What the answer needs of a hosted replica (PartitionReplica). */
export interface LeaseHolder {
  leaderInLease(): NodeId;
  readonly node: {
    status(): { readonly voters: readonly NodeId[]; readonly votersOutgoing: readonly NodeId[] };
  };
}

/**
 * The leader `replica` heard from within its Raft lease, if that broker's traffic also reached this one
 * lately (`answering`, by wall clock: a lease is counted in ticks, and a broker just resumed from a pause
 * believes its old lease until its ticks catch up); itself if it leads and lately heard from a majority of
 * the group's voters (of both sets in a joint configuration). 0 when there is no such leader.
 */
export function liveLeaderOf(
  replica: LeaseHolder | undefined,
  self: NodeId,
  answering: (brokerId: NodeId) => boolean,
): NodeId {
  const leader = replica?.leaderInLease() ?? 0;
  if (leader <= 0) return 0;
  if (leader !== self) return answering(leader) ? leader : 0;
  const { voters, votersOutgoing } = replica!.node.status();
  const heardByMajority = (set: readonly NodeId[]): boolean =>
    set.length === 0 || set.filter((v) => v === self || answering(v)).length * 2 > set.length;
  return heardByMajority(voters) && heardByMajority(votersOutgoing) ? self : 0;
}
