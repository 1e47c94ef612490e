/**
 * A partition leader's in-sync set: which voters keep up with its log. A voter is in sync while it has
 * answered recently and held everything committed as of the previous check, within the lag time
 * (Kafka's replica.lag.time.max.ms). The leader itself is always in sync.
 */

import type { NodeId } from '../../raft/core/types.js';
import type { RaftNode } from '../../raft/node.js';

export const REPLICA_LAG_TIME_MAX_MS = 10_000;

export class InSyncSet {
  /** When each voter last held everything committed at the previous check. */
  private readonly caughtUpAtMs = new Map<NodeId, number>();
  private commitAtLastCheck = 0;

  constructor(
    private readonly node: Pick<RaftNode, 'status' | 'progress'>,
    private readonly lagMaxMs: number,
  ) {}

  /**
   * Leadership changed. A new leader keeps the recorded in-sync set (`recorded`, undefined when unknown:
   * every voter), as Kafka's does: those voters start in sync and drop out after the lag time if they do not
   * keep up; the others join once caught up (next check). Starting with every voter would put a replica that
   * stopped back in the set on every leadership change, and leadership moving more often than the lag time
   * would then keep it there.
   */
  reset(leading: boolean, nowMs: number, recorded: readonly NodeId[] | undefined): void {
    this.caughtUpAtMs.clear();
    const status = this.node.status();
    this.commitAtLastCheck = status.commitIndex;
    if (!leading) return;
    for (const id of status.voters) {
      if (recorded === undefined || recorded.includes(id)) this.caughtUpAtMs.set(id, nowMs);
    }
  }

  /**
   * Leader only, called periodically: a voter that answered recently and whose log holds everything that
   * was committed at the previous check is caught up now. Answering counts because a partition nobody
   * writes to commits nothing: a stopped follower would hold "everything" forever and never leave the
   * in-sync set (Kafka's follower must keep fetching, too).
   */
  track(nowMs: number): void {
    for (const p of this.node.progress()) {
      if (!p.isLearner && p.recentActive && p.match >= this.commitAtLastCheck) {
        this.caughtUpAtMs.set(p.id, nowMs);
      }
    }
    this.commitAtLastCheck = this.node.status().commitIndex;
  }

  /** The in-sync voters (the leader included), sorted. */
  members(nowMs: number): NodeId[] {
    const status = this.node.status();
    return status.voters
      .filter(
        (id) =>
          id === status.id ||
          nowMs - (this.caughtUpAtMs.get(id) ?? Number.NEGATIVE_INFINITY) <= this.lagMaxMs,
      )
      .sort((a, b) => a - b);
  }
}
