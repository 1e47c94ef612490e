import { StreamBusError } from '../errors/index.js';
import { eligibleBrokers, projectedReplicas, replicaCounts } from './load.js';
import type { BrokerId, BrokerView, ClusterView, PartitionAssignment, PlacementStrategy } from './types.js';

export interface PlaceTopicRequest {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly strategy: PlacementStrategy;
  /**
   * Where on the broker ring the first partition starts. Defaults to a hash of the topic name, so topics
   * start on different brokers (Kafka picks it at random; a hash keeps placement a pure function).
   */
  readonly startIndex?: number;
}

export interface TopicPlacement {
  readonly topic: string;
  readonly strategy: PlacementStrategy;
  readonly partitions: readonly PartitionAssignment[];
}

/**
 * Chooses replicas for a new topic's partitions. Every strategy puts a partition's replicas on distinct
 * alive brokers and makes the first replica the preferred leader.
 *
 * - round-robin: leaders rotate around the broker ring from the topic's start index (each broker leads
 *   floor or ceil of partitions/brokers); followers go to the brokers holding fewest of this topic's
 *   replicas, ties broken by ring distance from `leader + 1 + floor(p / brokers)` (Kafka's shift, so a
 *   broker's followers are spread over many peers rather than always the same neighbours).
 * - rack-aware: as round-robin, but a follower first goes to the rack holding fewest of this partition's
 *   replicas, so replicas land on distinct racks whenever racks >= replication factor.
 * - capacity-aware: leaders and followers go where (existing load + this topic's load + 1) / capacity is
 *   lowest, counting replicas already in the cluster; racks break ties.
 */
export function placeTopic(
  view: Pick<ClusterView, 'brokers' | 'topics' | 'pendingMoves'>,
  request: PlaceTopicRequest,
): TopicPlacement {
  const eligible = eligibleBrokers(view);
  validate(request, eligible.length);
  const n = eligible.length;
  const indexOf = new Map(eligible.map((b, i) => [b.id, i]));
  const start = request.startIndex ?? hashName(request.topic) % n;

  const existing = request.strategy === 'capacity-aware' ? existingLoad(view) : emptyLoad();
  const topicReplicas = new Map<BrokerId, number>();
  const topicLeaders = new Map<BrokerId, number>();
  const get = (m: ReadonlyMap<BrokerId, number>, id: BrokerId): number => m.get(id) ?? 0;
  const ringDistance = (b: BrokerView, base: number): number =>
    ((((indexOf.get(b.id) ?? 0) - base) % n) + n) % n;

  const partitions: PartitionAssignment[] = [];
  for (let p = 0; p < request.partitions; p++) {
    // Kafka's shift: past each full turn of the ring the tie-break moves by one more step, so a broker's
    // partitions do not always share the same neighbours.
    const base = start + p * (1 + Math.floor(p / n));
    const chosen: BrokerView[] = [];
    while (chosen.length < request.replicationFactor) {
      const candidates = eligible.filter((b) => !chosen.includes(b));
      const rackUses = (b: BrokerView): number =>
        b.rack === null ? 0 : chosen.filter((c) => c.rack === b.rack).length;
      const member = pickMin(candidates, (b) => {
        const load = get(topicReplicas, b.id);
        const distance = ringDistance(b, base + chosen.length);
        if (request.strategy === 'capacity-aware') {
          const total = get(existing.replicas, b.id) + load + 1;
          return [total / b.capacityWeight, rackUses(b), distance];
        }
        if (request.strategy === 'rack-aware') return [rackUses(b), load, distance];
        return [load, distance];
      });
      chosen.push(member);
    }
    const leader = pickMin(chosen, (b) => {
      const distance = ringDistance(b, start + p);
      if (request.strategy === 'capacity-aware') {
        return [(get(existing.leaders, b.id) + get(topicLeaders, b.id) + 1) / b.capacityWeight, distance];
      }
      return [get(topicLeaders, b.id), distance];
    });
    for (const b of chosen) topicReplicas.set(b.id, get(topicReplicas, b.id) + 1);
    topicLeaders.set(leader.id, get(topicLeaders, leader.id) + 1);
    const replicas = [leader.id, ...chosen.filter((b) => b !== leader).map((b) => b.id)];
    partitions.push({ partition: p, replicas, leader: leader.id });
  }
  if (request.strategy !== 'capacity-aware') evenLeaders(partitions, topicLeaders);
  return { topic: request.topic, strategy: request.strategy, partitions };
}

/**
 * Members are chosen first (fewest replicas of this topic, which keeps replica counts within one of each
 * other) and the leader among them second. Greedy leader choice can leave a broker two leaders ahead, so
 * this pass finds a chain "A leads p where B is a member, B leads q where C is a member, ..." from the
 * busiest leader to a broker at least two leaders behind and shifts leadership along it (an augmenting
 * path): the ends change by one, the middle not at all. Replica counts never change.
 */
function evenLeaders(partitions: PartitionAssignment[], leaders: Map<BrokerId, number>): void {
  const count = (id: BrokerId): number => leaders.get(id) ?? 0;
  for (let guard = partitions.length * partitions.length + 1; guard > 0; guard--) {
    const busiest = [...leaders.keys()].sort((a, b) => count(b) - count(a) || a - b)[0];
    if (busiest === undefined) return;
    // BFS over brokers; `via` remembers the partition index whose leadership would move to reach a broker.
    const via = new Map<BrokerId, { from: BrokerId; index: number }>();
    const queue: BrokerId[] = [busiest];
    let end: BrokerId | undefined;
    while (queue.length > 0 && end === undefined) {
      const at = queue.shift() as BrokerId;
      partitions.forEach((p, index) => {
        if (end !== undefined || p.leader !== at) return;
        for (const id of p.replicas) {
          if (id === busiest || via.has(id)) continue;
          via.set(id, { from: at, index });
          if (count(id) + 2 <= count(busiest)) {
            end = id;
            return;
          }
          queue.push(id);
        }
      });
    }
    if (end === undefined) return;
    for (let at: BrokerId = end; at !== busiest; ) {
      const step = via.get(at);
      if (step === undefined) return;
      const p = partitions[step.index];
      if (p === undefined) return;
      partitions[step.index] = { ...p, leader: at, replicas: [at, ...p.replicas.filter((id) => id !== at)] };
      at = step.from;
    }
    leaders.set(busiest, count(busiest) - 1);
    leaders.set(end, count(end) + 1);
  }
}

function validate(request: PlaceTopicRequest, eligibleCount: number): void {
  const operation = 'cluster.placeTopic';
  if (!Number.isInteger(request.partitions) || request.partitions < 1) {
    throw new StreamBusError('INVALID_PARTITIONS', {
      operation,
      message: `partitions must be a positive integer, got ${request.partitions}`,
      metadata: { topic: request.topic, partitions: request.partitions },
    });
  }
  if (
    !Number.isInteger(request.replicationFactor) ||
    request.replicationFactor < 1 ||
    request.replicationFactor > eligibleCount
  ) {
    throw new StreamBusError('INVALID_REPLICATION_FACTOR', {
      operation,
      message: `replication factor ${request.replicationFactor} needs that many alive brokers; ${eligibleCount} are eligible`,
      metadata: { topic: request.topic, replicationFactor: request.replicationFactor, eligibleCount },
    });
  }
}

interface Load {
  readonly replicas: ReadonlyMap<BrokerId, number>;
  readonly leaders: ReadonlyMap<BrokerId, number>;
}

function emptyLoad(): Load {
  return { replicas: new Map(), leaders: new Map() };
}

/** Replicas as they will be after pending moves; leaders as preferred leaders of those lists. */
function existingLoad(view: Pick<ClusterView, 'brokers' | 'topics' | 'pendingMoves'>): Load {
  const lists = [...projectedReplicas({ version: 0, ...view }).values()];
  const leaders = new Map<BrokerId, number>();
  for (const replicas of lists) {
    const first = replicas[0];
    if (first !== undefined) leaders.set(first, (leaders.get(first) ?? 0) + 1);
  }
  return { replicas: replicaCounts(lists), leaders };
}

/** The candidate with the lexicographically smallest key; the array must not be empty. */
function pickMin<T>(candidates: readonly T[], key: (c: T) => readonly number[]): T {
  let best: T | undefined;
  let bestKey: readonly number[] = [];
  for (const c of candidates) {
    const k = key(c);
    if (best === undefined || lexLess(k, bestKey)) {
      best = c;
      bestKey = k;
    }
  }
  if (best === undefined)
    throw new StreamBusError('INVALID_REPLICATION_FACTOR', { operation: 'cluster.placeTopic' });
  return best;
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return a.length < b.length;
}

/** FNV-1a: a stable, dependency-free string hash. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
