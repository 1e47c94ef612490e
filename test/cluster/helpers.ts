import fc from 'fast-check';
import { applyMoveTo, partitionKey } from '../../src/cluster/load.js';
import {
  type BrokerId,
  type BrokerState,
  type BrokerView,
  type ClusterView,
  type LeaderChange,
  type Move,
  NO_BROKER,
  NO_LEADER,
  type PartitionAssignment,
  type PlacementStrategy,
  type TopicView,
} from '../../src/cluster/types.js';

export function broker(id: number, over: Partial<BrokerView> = {}): BrokerView {
  return {
    id,
    rack: null,
    state: 'alive',
    stateSinceMs: 0,
    lastHeartbeatMs: 0,
    capacityWeight: 1,
    ...over,
  };
}

export function brokers(ids: readonly number[], over: Partial<BrokerView> = {}): BrokerView[] {
  return ids.map((id) => broker(id, over));
}

/** A topic whose partitions are in sync with leader = first replica. */
export function topic(
  name: string,
  assignment: readonly (readonly BrokerId[])[],
  placement?: PlacementStrategy,
): TopicView {
  return {
    name,
    ...(placement === undefined ? {} : { placement }),
    partitions: assignment.map((replicas, partition) => ({
      partition,
      replicas: [...replicas],
      leader: replicas[0] ?? -1,
      leaderEpoch: 0,
      isr: [...replicas],
    })),
  };
}

export function topicFromPlacement(name: string, partitions: readonly PartitionAssignment[]): TopicView {
  return topic(
    name,
    partitions.map((p) => p.replicas),
  );
}

export function view(over: Partial<ClusterView> = {}): ClusterView {
  return { version: 1, brokers: [], topics: [], pendingMoves: [], ...over };
}

export function withBrokerState(v: ClusterView, id: number, state: BrokerState, sinceMs = 0): ClusterView {
  return {
    ...v,
    brokers: v.brokers.map((b) => (b.id === id ? { ...b, state, stateSinceMs: sinceMs } : b)),
  };
}

/**
 * What the executor would do once the moves finish: `to` takes `from`'s place in the replica list and in
 * the ISR (it caught up), a moved leader hands leadership to its replacement, and leader changes apply.
 */
export function applyPlan(
  v: ClusterView,
  moves: readonly Move[],
  leaderChanges: readonly LeaderChange[] = [],
): ClusterView {
  const lists = new Map<string, BrokerId[]>();
  for (const t of v.topics)
    for (const p of t.partitions) lists.set(partitionKey(t.name, p.partition), [...p.replicas]);
  for (const m of [...v.pendingMoves, ...moves]) applyMoveTo(lists, m);
  const leaderByKey = new Map(leaderChanges.map((c) => [partitionKey(c.topic, c.partition), c.to]));
  const moveByKey = new Map(
    [...v.pendingMoves, ...moves].map((m) => [partitionKey(m.topic, m.partition), m]),
  );
  return {
    ...v,
    version: v.version + 1,
    pendingMoves: [],
    topics: v.topics.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => {
        const key = partitionKey(t.name, p.partition);
        const replicas = lists.get(key) ?? [...p.replicas];
        const move = moveByKey.get(key);
        let leader = leaderByKey.get(key) ?? p.leader;
        if (move !== undefined && move.from !== NO_BROKER && leader === move.from) {
          leader = move.to !== NO_BROKER ? move.to : (replicas[0] ?? NO_LEADER);
        }
        const isr = p.isr.map((id) => (move !== undefined && id === move.from ? move.to : id));
        // A completed add: its new replica has caught up.
        if (move?.from === NO_BROKER) isr.push(move.to);
        return { ...p, replicas, leader, isr: isr.filter((id) => replicas.includes(id)) };
      }),
    })),
  };
}

export function perBrokerCounts(v: ClusterView): Map<BrokerId, number> {
  const counts = new Map<BrokerId, number>();
  for (const t of v.topics)
    for (const p of t.partitions) for (const id of p.replicas) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

export function leaderCounts(v: ClusterView): Map<BrokerId, number> {
  const counts = new Map<BrokerId, number>();
  for (const t of v.topics)
    for (const p of t.partitions) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
  return counts;
}

/** A seed for fast-check that the test prints, replayable with CLUSTER_SEED. */
export function propertySeed(label: string): number {
  const fromEnv = process.env.CLUSTER_SEED;
  const seed = fromEnv !== undefined ? Number(fromEnv) : Date.now() >>> 0;
  console.log(`${label} seed ${seed} (replay with CLUSTER_SEED=${seed})`);
  return seed;
}

/** Brokers with ids 1..n, random racks (or none) and capacities. */
export function arbBrokers(opts: {
  min: number;
  max: number;
  racks: boolean;
  capacities: boolean;
}): fc.Arbitrary<BrokerView[]> {
  return fc
    .array(
      fc.record({
        rack: opts.racks ? fc.constantFrom('a', 'b', 'c', 'd') : fc.constant(null),
        capacityWeight: opts.capacities ? fc.constantFrom(1, 2, 4) : fc.constant(1),
      }),
      { minLength: opts.min, maxLength: opts.max },
    )
    .map((rows) => rows.map((r, i) => broker(i + 1, r)));
}
