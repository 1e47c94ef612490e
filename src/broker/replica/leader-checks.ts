/**
 * The periodic pass over the partitions this broker leads (ReplicaManager, every in-sync check): followers'
 * progress, membership toward the replica list, commit stalls, and the in-sync sets to publish, all of them
 * in one metadata write. What it measures feeds the under-replicated and follower-lag gauges.
 */
import type { MetadataView } from '../../metadata/state.js';
import type { CommitStallWatch } from './leader-exits.js';
import { type InSyncChange, type LeaderSteering, recordOf, type SteeredReplica } from './leader-steering.js';

export interface LeaderCheckResult {
  /** Leaders here (not retiring) with a listed replica out of the in-sync set. */
  readonly underReplicated: number;
  /** The largest follower lag, in Raft entries, over the leaders here. */
  readonly followerLagMax: number;
}

export function checkLeaders(
  hosted: Iterable<SteeredReplica & { readonly retiringSinceMs?: number | undefined }>,
  view: MetadataView,
  nowMs: number,
  steering: LeaderSteering,
  stallWatch: CommitStallWatch,
): LeaderCheckResult {
  let underReplicated = 0;
  let followerLagMax = 0;
  const changes: InSyncChange[] = [];
  for (const h of hosted) {
    if (!h.replica.isLeader()) continue;
    h.replica.trackFollowers(nowMs);
    const last = h.replica.node.status().lastIndex;
    for (const f of h.replica.node.progress()) followerLagMax = Math.max(followerLagMax, last - f.match);
    const isr = h.replica.inSyncReplicas(nowMs);
    const p = recordOf(h, view);
    if (p === undefined) continue;
    steering.matchMembership(h, p.replicas);
    // A retiring leader is handing over: the partition's health is for its next leader to report.
    if (h.retiringSinceMs !== undefined) continue;
    // By the replica list, not the set's size: mid-move the old voter is in sync, yet it does not stand in
    // for the new replica still catching up (nor for a listed one that failed).
    if (p.replicas.some((id) => !isr.includes(id))) underReplicated++;
    stallWatch.check(h, nowMs);
    const change = steering.inSyncChange(h, p, isr);
    if (change !== undefined) changes.push(change);
  }
  steering.publishInSyncSets(changes);
  return { underReplicated, followerLagMax };
}
