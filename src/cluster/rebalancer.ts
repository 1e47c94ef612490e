import { planLeaders } from './leader-planner.js';
import {
  countImbalance,
  eligibleBrokers,
  fairShares,
  type ImbalanceReport,
  imbalanceScore,
  partitionKey,
  projectedReplicas,
  replicaCounts,
  replicasAfterMove,
  SHARE_EPSILON,
  worthMoving,
} from './load.js';
import {
  type BrokerId,
  type BrokerView,
  type ClusterView,
  type LeaderChange,
  type Move,
  type MoveReason,
  NO_BROKER,
} from './types.js';

export interface RebalanceOptions {
  readonly nowMs: number;
  /** A failed broker's replicas stay put this long (it may come back); then they move. */
  readonly failedGraceMs: number;
  /** Moves in flight at once, counting the view's pending moves. */
  readonly concurrentMovesMax: number;
  /** Plan preferred-leader election and leader spreading (default true). */
  readonly balanceLeaders?: boolean;
  /**
   * Balance moves stop once the projected replica score is at or below this (default 0: as even as whole
   * numbers allow). A looser bound trades evenness for fewer moves. Evacuation ignores it.
   */
  readonly replicaScoreMax?: number;
}

export const DEFAULT_REBALANCE_OPTIONS = { failedGraceMs: 30_000, concurrentMovesMax: 4 } as const;

export interface RebalancePlan {
  readonly moves: readonly Move[];
  readonly leaderChanges: readonly LeaderChange[];
  /** The view's imbalance before the plan (the `cluster_imbalance_score` gauge); see load.ts. */
  readonly imbalanceScore: number;
  readonly imbalance: ImbalanceReport;
}

interface Slot {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** An operator's assignment (PartitionView.pinned): only a broker the operator asked to leave gives one up. */
  readonly pinned: boolean;
  /** An operator's reassignment not reached yet (PartitionView.targetReplicas). */
  readonly target: readonly BrokerId[] | undefined;
  readonly isr: readonly BrokerId[];
  readonly leader: BrokerId;
  replicas: BrokerId[];
}

/**
 * State in, moves out. In order of urgency:
 * 1. evacuate: every replica on a broker failed for at least `failedGraceMs`, decommissioned, draining or
 *    unknown moves to the eligible broker that keeps the partition on the most distinct racks, then the one
 *    furthest below its fair share;
 * 2. reassign: a partition an operator reassigned (PartitionView.targetReplicas) takes one step towards its
 *    target (reassignmentStep): a replica added, moved or removed;
 * 3. balance: while some eligible broker is more than one replica above another relative to their fair
 *    shares, move a replica from the busiest to the emptiest that does not hold the partition and does not
 *    reduce the partition's distinct racks (a partition already led by the source is moved last; one with
 *    a replica on an ineligible broker is left alone).
 * A partition gets at most one move at a time (a Raft group changes membership one replica at a time) and
 * none while it has a pending move; the total in flight never exceeds `concurrentMovesMax`. Each balance
 * move lowers sum((count - share)^2), so repeated planning terminates.
 *
 * A pinned partition (an operator's assignment) is never a balance move's, and keeps its replicas on a
 * failed broker (it waits for the broker, as in Kafka); it is evacuated only off a draining or
 * decommissioned broker, which the operator asked to leave. Its replicas still count in the brokers' load,
 * so the others are balanced around them.
 */
export function planRebalance(view: ClusterView, options: RebalanceOptions): RebalancePlan {
  const imbalance = imbalanceScore(view);
  const { changes: leaderChanges, desired } =
    options.balanceLeaders === false
      ? { changes: [], desired: new Map<string, BrokerId>() }
      : planLeaders(view);

  const eligible = eligibleBrokers(view);
  const eligibleIds = new Set(eligible.map((b) => b.id));
  const brokerById = new Map(view.brokers.map((b) => [b.id, b]));
  const projected = projectedReplicas(view);
  const busy = new Set(view.pendingMoves.map((m) => partitionKey(m.topic, m.partition)));
  const slots: Slot[] = [];
  for (const topic of [...view.topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const p of [...topic.partitions].sort((a, b) => a.partition - b.partition)) {
      const key = partitionKey(topic.name, p.partition);
      if (busy.has(key)) continue;
      slots.push({
        topic: topic.name,
        partition: p.partition,
        key,
        pinned: p.pinned === true,
        target: p.targetReplicas,
        isr: p.isr,
        leader: p.leader,
        replicas: projected.get(key) ?? [...p.replicas],
      });
    }
  }
  const counts = replicaCounts(projected.values());
  const total = [...projected.values()].reduce((sum, r) => sum + r.length, 0);
  const shares = fairShares(eligible, total);
  const dev = (id: BrokerId): number => (counts.get(id) ?? 0) - (shares.get(id) ?? 0);
  const rackOf = (id: BrokerId): string | null => brokerById.get(id)?.rack ?? null;

  let budget = Math.max(0, options.concurrentMovesMax - view.pendingMoves.length);
  const moves: Move[] = [];
  const moved = new Set<string>();
  const record = (slot: Slot, from: BrokerId, to: BrokerId, reason: MoveReason): void => {
    slot.replicas = replicasAfterMove(slot.replicas, { from, to });
    if (from !== NO_BROKER) counts.set(from, (counts.get(from) ?? 0) - 1);
    if (to !== NO_BROKER) counts.set(to, (counts.get(to) ?? 0) + 1);
    moved.add(slot.key);
    moves.push({ topic: slot.topic, partition: slot.partition, from, to, reason });
    budget -= 1;
  };

  // 1. Evacuation, most urgent reason first: lost redundancy before planned removals.
  const reasonOf = (id: BrokerId): MoveReason | undefined => evacuationReason(brokerById.get(id), options);
  for (const wanted of ['broker-failed', 'broker-decommissioned', 'broker-draining'] as const) {
    for (const slot of slots) {
      if (budget <= 0) break;
      if (moved.has(slot.key)) continue;
      // A pinned partition waits for a failed broker, as Kafka's would (it serves from its other replicas).
      if (slot.pinned && wanted === 'broker-failed') continue;
      const from = slot.replicas.find((id) => reasonOf(id) === wanted);
      if (from === undefined) continue;
      const remaining = slot.replicas.filter((id) => id !== from);
      const candidates = eligible.filter((b) => !slot.replicas.includes(b.id));
      const to = bestTarget(candidates, remaining, rackOf, dev);
      if (to !== undefined) record(slot, from, to.id, wanted);
    }
  }

  // 2. An operator's reassignments: one replica at a time towards the list asked for.
  for (const slot of slots) {
    if (budget <= 0) break;
    if (moved.has(slot.key) || slot.target === undefined) continue;
    const step = reassignmentStep(slot, slot.target, eligibleIds);
    if (step !== undefined) record(slot, step.from, step.to, 'reassignment');
  }

  // 3. Balance among eligible brokers.
  const scoreMax = options.replicaScoreMax ?? 0;
  while (budget > 0 && countImbalance(counts, eligible, total) > scoreMax + SHARE_EPSILON) {
    const move = findBalanceMove(slots, moved, eligible, dev, rackOf, desired, eligibleIds);
    if (move === undefined) break;
    record(move.slot, move.from, move.to, 'rebalance');
  }

  return { moves, leaderChanges, imbalanceScore: imbalance.score, imbalance };
}

/**
 * The next move of a reassignment, keeping as many replicas as the walk allows at every step (never fewer
 * in sync than the smaller of the current and target replica counts, where the current ones were in sync):
 * - while the partition has fewer replicas than the target, add the first eligible target broker it lacks
 *   (the new replica catches up as a learner before it votes), so a growth comes before any replacement;
 * - then replace a replica the target does not name with that broker (learner, catch up, promote, remove),
 *   off one out of the in-sync set first (it serves nothing now, so its replacement restores redundancy);
 * - then, while it has more replicas than the target, remove one the target does not name: out of sync
 *   first, then a follower before the leader (whose removal hands leadership on first). Removing one in
 *   sync waits while that would leave fewer in sync than the target names (a replica is down: the removal
 *   would cut redundancy further; it goes once that replica is back, or the operator names another list).
 * A target broker that is failed, starting or leaving is waited for.
 */
function reassignmentStep(
  slot: Pick<Slot, 'replicas' | 'isr' | 'leader'>,
  target: readonly BrokerId[],
  eligibleIds: ReadonlySet<BrokerId>,
): { from: BrokerId; to: BrokerId } | undefined {
  const { replicas, isr } = slot;
  const to = target.find((id) => !replicas.includes(id) && eligibleIds.has(id));
  const leaving = replicas.filter((id) => !target.includes(id));
  const inSync = (id: BrokerId): boolean => isr.includes(id);
  if (replicas.length < target.length) return to === undefined ? undefined : { from: NO_BROKER, to };
  if (to !== undefined && leaving.length > 0) {
    return { from: leaving.find((id) => !inSync(id)) ?? (leaving[0] as BrokerId), to };
  }
  if (replicas.length <= target.length) return undefined;
  const outOfSync = leaving.find((id) => !inSync(id));
  if (outOfSync !== undefined) return { from: outOfSync, to: NO_BROKER };
  if (replicas.filter(inSync).length - 1 < target.length) return undefined;
  const from = leaving.find((id) => id !== slot.leader) ?? (leaving[0] as BrokerId);
  return { from, to: NO_BROKER };
}

function evacuationReason(broker: BrokerView | undefined, options: RebalanceOptions): MoveReason | undefined {
  if (broker === undefined) return 'broker-decommissioned';
  switch (broker.state) {
    case 'failed':
      return options.nowMs - broker.stateSinceMs >= options.failedGraceMs ? 'broker-failed' : undefined;
    case 'decommissioned':
      return 'broker-decommissioned';
    case 'draining':
      return 'broker-draining';
    default:
      return undefined;
  }
}

/** Fewest same-rack replicas among the ones staying, then furthest below fair share, then lowest id. */
function bestTarget(
  candidates: readonly BrokerView[],
  remaining: readonly BrokerId[],
  rackOf: (id: BrokerId) => string | null,
  dev: (id: BrokerId) => number,
): BrokerView | undefined {
  const clash = (b: BrokerView): number =>
    b.rack === null ? 0 : remaining.filter((id) => rackOf(id) === b.rack).length;
  let best: BrokerView | undefined;
  for (const b of candidates) {
    if (best === undefined) {
      best = b;
      continue;
    }
    const diff = clash(b) - clash(best) || dev(b.id) - dev(best.id) || b.id - best.id;
    if (diff < 0) best = b;
  }
  return best;
}

function distinctRacks(replicas: readonly BrokerId[], rackOf: (id: BrokerId) => string | null): number {
  // A broker without a rack counts as a rack of its own.
  return new Set(replicas.map((id) => rackOf(id) ?? `broker:${id}`)).size;
}

function findBalanceMove(
  slots: readonly Slot[],
  moved: ReadonlySet<string>,
  eligible: readonly BrokerView[],
  dev: (id: BrokerId) => number,
  rackOf: (id: BrokerId) => string | null,
  desiredLeader: ReadonlyMap<string, BrokerId>,
  eligibleIds: ReadonlySet<BrokerId>,
): { slot: Slot; from: BrokerId; to: BrokerId } | undefined {
  const byDevDesc = [...eligible].sort((a, b) => dev(b.id) - dev(a.id) || a.id - b.id);
  const byDevAsc = [...byDevDesc].reverse();
  for (const source of byDevDesc) {
    for (const target of byDevAsc) {
      if (!worthMoving(dev(source.id), dev(target.id))) break;
      let fallback: Slot | undefined;
      for (const slot of slots) {
        if (
          slot.pinned ||
          moved.has(slot.key) ||
          !slot.replicas.includes(source.id) ||
          slot.replicas.includes(target.id)
        )
          continue;
        // A partition with a replica on a broker that is not eligible (failed in its grace, starting) is
        // already short of redundancy; moving another of its replicas would cut it further.
        if (slot.replicas.some((id) => !eligibleIds.has(id))) continue;
        const after = slot.replicas.map((id) => (id === source.id ? target.id : id));
        if (distinctRacks(after, rackOf) < distinctRacks(slot.replicas, rackOf)) continue;
        // Moving a leader's replica costs a leadership transfer first; prefer followers.
        if (desiredLeader.get(slot.key) === source.id) {
          fallback ??= slot;
          continue;
        }
        return { slot, from: source.id, to: target.id };
      }
      if (fallback !== undefined) return { slot: fallback, from: source.id, to: target.id };
    }
  }
  return undefined;
}
