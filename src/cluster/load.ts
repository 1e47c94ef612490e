import { type BrokerId, type BrokerView, type ClusterView, type Move, NO_BROKER } from './types.js';

/**
 * Shares are fractions, so "more than one apart" must ignore floating-point noise: 7 - 8/3 and 6 - 8/3
 * differ by 1.0000000000000004, and without a tolerance a step and its reverse would both look improving.
 */
export const SHARE_EPSILON = 1e-9;

/** Whether moving one unit from a broker at `devFrom` to one at `devTo` (count minus share) helps. */
export function worthMoving(devFrom: number, devTo: number): boolean {
  return devFrom - devTo > 1 + SHARE_EPSILON;
}

/** A broker that may receive new replicas and leadership: alive with a positive capacity weight. */
export function isEligible(broker: BrokerView): boolean {
  return broker.state === 'alive' && broker.capacityWeight > 0;
}

export function eligibleBrokers(view: Pick<ClusterView, 'brokers'>): BrokerView[] {
  return view.brokers.filter(isEligible).sort((a, b) => a.id - b.id);
}

/**
 * Each partition's replica list as it will be once the recorded pending moves finish (replicasAfterMove). Planning against this projection keeps a new plan from fighting moves in flight.
 */
export function projectedReplicas(view: ClusterView): Map<string, BrokerId[]> {
  const out = new Map<string, BrokerId[]>();
  for (const topic of view.topics) {
    for (const p of topic.partitions) out.set(partitionKey(topic.name, p.partition), [...p.replicas]);
  }
  for (const move of view.pendingMoves) applyMoveTo(out, move);
  return out;
}

export function applyMoveTo(replicasByPartition: Map<string, BrokerId[]>, move: Move): void {
  const key = partitionKey(move.topic, move.partition);
  const replicas = replicasByPartition.get(key);
  if (replicas !== undefined) replicasByPartition.set(key, replicasAfterMove(replicas, move));
}

/**
 * A replica list once `move` is made: `to` in `from`'s place, appended (an add) or `from` dropped (a
 * removal). A move that no longer fits the list (its `from` gone, or its `to` there already) changes nothing.
 */
export function replicasAfterMove(
  replicas: readonly BrokerId[],
  move: Pick<Move, 'from' | 'to'>,
): BrokerId[] {
  const { from, to } = move;
  if (to !== NO_BROKER && replicas.includes(to)) return [...replicas];
  if (from === NO_BROKER) return [...replicas, to];
  if (!replicas.includes(from)) return [...replicas];
  if (to === NO_BROKER) return replicas.filter((id) => id !== from);
  return replicas.map((id) => (id === from ? to : id));
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Replica count per broker id over the given replica lists. */
export function replicaCounts(replicaLists: Iterable<readonly BrokerId[]>): Map<BrokerId, number> {
  const counts = new Map<BrokerId, number>();
  for (const replicas of replicaLists) {
    for (const id of replicas) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * Each eligible broker's fair share of `total` items, proportional to capacity weight. Ineligible brokers'
 * share is 0 (they are absent from the map).
 */
export function fairShares(eligible: readonly BrokerView[], total: number): Map<BrokerId, number> {
  const weightSum = eligible.reduce((sum, b) => sum + b.capacityWeight, 0);
  const shares = new Map<BrokerId, number>();
  for (const b of eligible) {
    const share = weightSum > 0 ? (total * b.capacityWeight) / weightSum : 0;
    // Snap float noise so floor/ceil of an integral share are the integer itself.
    shares.set(b.id, Math.abs(share - Math.round(share)) < SHARE_EPSILON ? Math.round(share) : share);
  }
  return shares;
}

/**
 * How far the busiest-or-emptiest broker is from its fair share, beyond integer rounding, relative to the
 * mean per eligible broker. An eligible broker is "fair" when its count lies in [floor(share), ceil(share)];
 * otherwise its offset is the distance to that interval. Everything on an ineligible broker is offset.
 * Score = max offset / max(1, total / eligibleCount). 0 means as balanced as whole numbers allow.
 */
export function countImbalance(
  counts: ReadonlyMap<BrokerId, number>,
  eligible: readonly BrokerView[],
  total: number,
): number {
  const shares = fairShares(eligible, total);
  let offsetMax = 0;
  for (const [id, share] of shares) {
    const count = counts.get(id) ?? 0;
    offsetMax = Math.max(offsetMax, count - Math.ceil(share), Math.floor(share) - count);
  }
  for (const [id, count] of counts) {
    if (!shares.has(id)) offsetMax = Math.max(offsetMax, count);
  }
  const mean = eligible.length > 0 ? total / eligible.length : total;
  return offsetMax / Math.max(1, mean);
}

export interface ImbalanceReport {
  /** max(replicaScore, leaderScore): the `cluster_imbalance_score` gauge. */
  readonly score: number;
  readonly replicaScore: number;
  readonly leaderScore: number;
}

/**
 * The cluster's imbalance as it is now (current replicas and leaders, not projected). Replicas and
 * leaders are scored separately with `countImbalance` and the worse one is the score.
 */
export function imbalanceScore(view: ClusterView): ImbalanceReport {
  const eligible = eligibleBrokers(view);
  const replicaLists: (readonly BrokerId[])[] = [];
  const leaders = new Map<BrokerId, number>();
  let leaderTotal = 0;
  for (const topic of view.topics) {
    for (const p of topic.partitions) {
      replicaLists.push(p.replicas);
      if (p.leader >= 0) {
        leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
        leaderTotal += 1;
      }
    }
  }
  const replicaTotal = replicaLists.reduce((sum, r) => sum + r.length, 0);
  const replicaScore = countImbalance(replicaCounts(replicaLists), eligible, replicaTotal);
  const leaderScore = countImbalance(leaders, eligible, leaderTotal);
  return { score: Math.max(replicaScore, leaderScore), replicaScore, leaderScore };
}
