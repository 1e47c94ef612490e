/**
 * How a partition leader on this broker gives its leadership up: handed over to an in-sync replica before
 * shutdown, or, when its commits stall on its own links, by stepping down so the followers elect another.
 */
import type { Logger } from '../../observability/index.js';
import type { NodeId } from '../../raft/core/types.js';
import type { RaftNodeStatus } from '../../raft/node-types.js';
import type { PartitionReplica } from './partition-replica.js';

interface LedReplica {
  readonly topic: string;
  readonly partition: number;
  readonly replica: PartitionReplica;
}

/**
 * Hands the leadership of every partition led here to an in-sync replica, each bounded by `timeoutMs` (a
 * slow handover only costs that group an election).
 */
export async function handOverLeadership(
  led: Iterable<LedReplica>,
  o: { readonly brokerId: NodeId; readonly nowMs: number; readonly timeoutMs: number; readonly log: Logger },
): Promise<void> {
  const handovers = [...led]
    .filter((h) => h.replica.isLeader())
    .map(async (h) => {
      const target = h.replica.inSyncReplicas(o.nowMs).find((id) => id !== o.brokerId);
      if (target === undefined) return;
      const fields = { operation: 'handover', topic: h.topic, partition: h.partition, to: target };
      try {
        await h.replica.node.transferLeadership(target, { timeoutMs: o.timeoutMs });
        o.log.info(fields, 'partition leadership handed over before shutdown');
      } catch (err) {
        o.log.warn(
          { ...fields, error: String(err) },
          'partition leadership handover failed; the group will elect',
        );
      }
    });
  await Promise.all(handovers);
}

/** Commits stalled this long, with the leader's own copy durable, before it steps down. */
export const COMMIT_STALL_STEP_DOWN_MS = 2_000;

/**
 * Whether a leader's commits are stalled on the followers' side: entries wait uncommitted, its own copy of
 * them is durable (so it is not its disk, which replicas on one machine may share), and nothing committed
 * for `stalledForMs` >= `stallMs`. Never for a single voter (nobody else could lead) or while a transfer
 * is under way (that already hands over).
 */
export function commitStalled(
  s: RaftNodeStatus,
  stalledForMs: number,
  stallMs: number,
  transferring: boolean,
): boolean {
  return (
    s.role === 'leader' &&
    !transferring &&
    s.voters.length > 1 &&
    s.lastIndex > s.commitIndex &&
    s.durableIndex >= s.lastIndex &&
    stalledForMs >= stallMs
  );
}

interface Watched {
  term: number;
  leadingSinceMs: number;
  suspectedAtMs: number | undefined;
}

/**
 * Steps down a partition leader whose commits stall on its own links (RaftCore.stepDown): slow, lossy or
 * resetting connections to its followers (a gray failure) keep their leases alive with late heartbeats, so
 * without this the partition stays unavailable for as long as the links stay bad. A transfer would have to
 * catch a successor up over those same links; stepping down lets the followers elect one of themselves over
 * theirs. The stall is timed from the later of the last commit and this leadership's start, and must still
 * hold a quarter of `stallMs` after it was first seen, so a block of this broker's own event loop (which
 * delays commits and this check alike) is not taken for one.
 */
export class CommitStallWatch {
  private readonly watched = new WeakMap<PartitionReplica, Watched>();

  constructor(
    private readonly o: {
      readonly stallMs: number;
      readonly log: Logger;
      /** Told of each step-down (streambus_partition_leader_step_downs_total). */
      readonly onStepDown?: () => void;
    },
  ) {}

  /** Called on each periodic check of a replica this broker hosts. */
  check(h: LedReplica, nowMs: number): void {
    const node = h.replica.node;
    const s = node.status();
    if (s.role !== 'leader') {
      this.watched.delete(h.replica);
      return;
    }
    let w = this.watched.get(h.replica);
    if (w === undefined || w.term !== s.term) {
      w = { term: s.term, leadingSinceMs: nowMs, suspectedAtMs: undefined };
      this.watched.set(h.replica, w);
    }
    const stalledForMs = Math.min(s.lastCommitAgeMs ?? Number.POSITIVE_INFINITY, nowMs - w.leadingSinceMs);
    if (!commitStalled(s, stalledForMs, this.o.stallMs, node.leadTransferee() !== 0)) {
      w.suspectedAtMs = undefined;
      return;
    }
    w.suspectedAtMs ??= nowMs;
    if (nowMs - w.suspectedAtMs < this.o.stallMs / 4) return;
    if (!node.stepDown()) return;
    this.watched.delete(h.replica);
    this.o.onStepDown?.();
    this.o.log.warn(
      {
        operation: 'step-down',
        topic: h.topic,
        partition: h.partition,
        stalled_ms: Math.round(stalledForMs),
        uncommitted: s.lastIndex - s.commitIndex,
      },
      'partition leader stepped down: nothing committed although its own writes were durable (its links to the followers fail)',
    );
  }
}
