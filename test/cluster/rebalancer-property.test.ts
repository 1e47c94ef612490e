import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imbalanceScore, isEligible, partitionKey, projectedReplicas } from '../../src/cluster/load.js';
import { planRebalance } from '../../src/cluster/rebalancer.js';
import type { BrokerState, BrokerView, ClusterView, Move, TopicView } from '../../src/cluster/types.js';
import { applyPlan, arbBrokers, propertySeed } from './helpers.js';

const NOW_MS = 1_000_000;
const GRACE_MS = 30_000;

interface Shape {
  readonly racks: boolean;
  readonly capacities: boolean;
  /** Allow failed brokers still inside the grace period (their replicas cannot move yet). */
  readonly inGrace: boolean;
  /** Pin some topics (an operator's assignment); default none. */
  readonly pins?: boolean;
}

/** A random cluster: brokers in every state, topics whose replicas sit on any of them, some pending moves. */
function arbView(shape: Shape): fc.Arbitrary<{ view: ClusterView; movesMax: number }> {
  const states: BrokerState[] = [
    'alive',
    'alive',
    'alive',
    'alive',
    'draining',
    'failed',
    'decommissioned',
    'starting',
  ];
  return arbBrokers({ min: 2, max: 8, racks: shape.racks, capacities: shape.capacities }).chain((bs) =>
    fc
      .record({
        states: fc.array(fc.constantFrom(...states), { minLength: bs.length, maxLength: bs.length }),
        failedAgoMs: fc.array(fc.constantFrom(GRACE_MS * 2, shape.inGrace ? GRACE_MS / 2 : GRACE_MS), {
          minLength: bs.length,
          maxLength: bs.length,
        }),
        topics: fc.array(
          fc.record({
            rf: fc.integer({ min: 1, max: Math.min(3, bs.length) }),
            partitions: fc.integer({ min: 1, max: 12 }),
            seeds: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 12 * 4, maxLength: 12 * 4 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        pendingSeeds: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 3 }),
        movesMax: fc.integer({ min: 1, max: 6 }),
        pinnedTopics:
          shape.pins === true ? fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }) : fc.constant([]),
      })
      .map(({ states, failedAgoMs, topics, pendingSeeds, movesMax, pinnedTopics }) => {
        const brokers: BrokerView[] = bs.map((b, i) => {
          const state = i === 0 ? 'alive' : (states[i] ?? 'alive');
          return { ...b, state, stateSinceMs: NOW_MS - (failedAgoMs[i] ?? 0) };
        });
        const ids = brokers.map((b) => b.id);
        const topicViews: TopicView[] = topics.map((t, ti) => ({
          name: `t${ti}`,
          partitions: Array.from({ length: t.partitions }, (_, p) => {
            const pool = [...ids];
            const replicas: number[] = [];
            for (let j = 0; j < t.rf; j++) {
              const k = (t.seeds[p * 4 + j] ?? 0) % pool.length;
              replicas.push(pool.splice(k, 1)[0] ?? 1);
            }
            const leader = replicas[(t.seeds[p * 4 + 3] ?? 0) % replicas.length] ?? -1;
            const isr = replicas.filter((id, j) => id === leader || ((t.seeds[p * 4 + 3] ?? 0) >> j) & 1);
            return {
              partition: p,
              replicas,
              leader,
              leaderEpoch: 0,
              isr,
              ...(pinnedTopics[ti] === true ? { pinned: true } : {}),
            };
          }),
        }));
        const v: ClusterView = { version: 1, brokers, topics: topicViews, pendingMoves: [] };
        return { view: { ...v, pendingMoves: pendingFrom(v, pendingSeeds) }, movesMax };
      }),
  );
}

/** Valid pending moves: to an eligible broker not in the partition, one per partition. */
function pendingFrom(v: ClusterView, seeds: readonly number[]): Move[] {
  const eligible = v.brokers.filter(isEligible).map((b) => b.id);
  const parts = v.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, p })));
  const out: Move[] = [];
  for (const s of seeds) {
    const pick = parts[s % parts.length];
    if (pick === undefined || out.some((m) => m.topic === pick.topic && m.partition === pick.p.partition))
      continue;
    const to = eligible.filter((id) => !pick.p.replicas.includes(id))[s % 7];
    const from = pick.p.replicas[s % pick.p.replicas.length];
    if (to === undefined || from === undefined) continue;
    out.push({ topic: pick.topic, partition: pick.p.partition, from, to, reason: 'rebalance' });
  }
  return out;
}

function checkPlanShape(v: ClusterView, movesMax: number): void {
  const plan = planRebalance(v, { nowMs: NOW_MS, failedGraceMs: GRACE_MS, concurrentMovesMax: movesMax });
  expect(plan.moves.length + v.pendingMoves.length).toBeLessThanOrEqual(
    Math.max(movesMax, v.pendingMoves.length),
  );
  const projected = projectedReplicas(v);
  const pendingKeys = new Set(v.pendingMoves.map((m) => partitionKey(m.topic, m.partition)));
  const movedKeys = new Set<string>();
  const eligible = new Set(v.brokers.filter(isEligible).map((b) => b.id));
  for (const m of plan.moves) {
    const key = partitionKey(m.topic, m.partition);
    expect(pendingKeys.has(key)).toBe(false);
    expect(movedKeys.has(key)).toBe(false);
    movedKeys.add(key);
    expect(projected.get(key)).toContain(m.from);
    expect(projected.get(key)).not.toContain(m.to);
    expect(eligible.has(m.to)).toBe(true);
  }
  const after = applyPlan(v, plan.moves, plan.leaderChanges);
  for (const t of after.topics) {
    for (const p of t.partitions) {
      expect(new Set(p.replicas).size).toBe(p.replicas.length);
      if (p.leader >= 0) expect(p.replicas).toContain(p.leader);
    }
  }
}

describe('rebalancer properties', () => {
  it('plans only legal moves: distinct replicas, eligible targets, one per partition, within the limit', () => {
    const seed = propertySeed('rebalancer legality');
    fc.assert(
      fc.property(arbView({ racks: true, capacities: true, inGrace: true }), ({ view, movesMax }) =>
        checkPlanShape(view, movesMax),
      ),
      { seed, numRuns: 400 },
    );
  });

  it('applying the planned moves never increases the replica imbalance (equal capacities, no racks)', () => {
    const seed = propertySeed('rebalancer replica monotone');
    fc.assert(
      fc.property(arbView({ racks: false, capacities: false, inGrace: true }), ({ view, movesMax }) => {
        const base = applyPlan(view, []); // pending moves finish either way
        const plan = planRebalance(base, {
          nowMs: NOW_MS,
          failedGraceMs: GRACE_MS,
          concurrentMovesMax: movesMax,
        });
        const after = applyPlan(base, plan.moves);
        expect(imbalanceScore(after).replicaScore).toBeLessThanOrEqual(
          imbalanceScore(base).replicaScore + 1e-9,
        );
      }),
      { seed, numRuns: 400 },
    );
  });

  it('applying the leader changes never increases the leader imbalance when current leaders are electable', () => {
    const seed = propertySeed('rebalancer leader monotone');
    fc.assert(
      fc.property(arbView({ racks: true, capacities: true, inGrace: true }), ({ view }) => {
        const eligible = new Set(view.brokers.filter(isEligible).map((b) => b.id));
        // Only partitions whose leader could be re-elected: leadership that must move (failed leader) may
        // land on a busy broker, which is right but can raise the score.
        const electable = {
          ...view,
          topics: view.topics.map((t) => ({
            ...t,
            partitions: t.partitions.filter((p) => eligible.has(p.leader) && p.isr.includes(p.leader)),
          })),
        };
        const plan = planRebalance(electable, {
          nowMs: NOW_MS,
          failedGraceMs: GRACE_MS,
          concurrentMovesMax: 0,
        });
        expect(plan.moves).toEqual([]);
        const after = applyPlan({ ...electable, pendingMoves: [] }, [], plan.leaderChanges);
        expect(imbalanceScore(after).leaderScore).toBeLessThanOrEqual(
          imbalanceScore(electable).leaderScore + 1e-9,
        );
        // And planning again changes nothing: leadership does not flap.
        expect(
          planRebalance(after, { nowMs: NOW_MS, failedGraceMs: GRACE_MS, concurrentMovesMax: 0 })
            .leaderChanges,
        ).toEqual([]);
      }),
      { seed, numRuns: 400 },
    );
  });

  it('repeated planning converges: no moves left, evacuated brokers empty, replicas balanced', () => {
    const seed = propertySeed('rebalancer convergence');
    fc.assert(
      fc.property(arbView({ racks: false, capacities: false, inGrace: false }), ({ view, movesMax }) => {
        let v = view;
        let rounds = 0;
        for (;;) {
          const plan = planRebalance(v, {
            nowMs: NOW_MS,
            failedGraceMs: GRACE_MS,
            concurrentMovesMax: movesMax,
          });
          if (plan.moves.length === 0 && plan.leaderChanges.length === 0 && v.pendingMoves.length === 0)
            break;
          v = applyPlan(v, plan.moves, plan.leaderChanges);
          rounds += 1;
          expect(rounds).toBeLessThan(500);
        }
        // Replicas on a 'starting' broker stay: it is coming back, not leaving.
        const eligible = new Set(
          v.brokers.filter((b) => isEligible(b) || b.state === 'starting').map((b) => b.id),
        );
        const starting = v.brokers.some((b) => b.state === 'starting');
        const eligibleCount = v.brokers.filter(isEligible).length;
        const rfMax = Math.max(...v.topics.flatMap((t) => t.partitions.map((p) => p.replicas.length)));
        if (eligibleCount >= rfMax) {
          for (const t of v.topics)
            for (const p of t.partitions) for (const id of p.replicas) expect(eligible.has(id)).toBe(true);
          if (!starting) expect(imbalanceScore(v).replicaScore).toBe(0);
        }
      }),
      { seed, numRuns: 300 },
    );
  });

  it('converges with racks and capacities too (terminates; nothing left on evacuated brokers)', () => {
    const seed = propertySeed('rebalancer convergence racks');
    fc.assert(
      fc.property(arbView({ racks: true, capacities: true, inGrace: false }), ({ view, movesMax }) => {
        let v = view;
        for (let rounds = 0; ; rounds++) {
          expect(rounds).toBeLessThan(500);
          const plan = planRebalance(v, {
            nowMs: NOW_MS,
            failedGraceMs: GRACE_MS,
            concurrentMovesMax: movesMax,
          });
          if (plan.moves.length === 0 && plan.leaderChanges.length === 0 && v.pendingMoves.length === 0)
            break;
          v = applyPlan(v, plan.moves, plan.leaderChanges);
        }
        const eligible = new Set(
          v.brokers.filter((b) => isEligible(b) || b.state === 'starting').map((b) => b.id),
        );
        const rfMax = Math.max(...v.topics.flatMap((t) => t.partitions.map((p) => p.replicas.length)));
        if (v.brokers.filter(isEligible).length >= rfMax) {
          for (const t of v.topics)
            for (const p of t.partitions) for (const id of p.replicas) expect(eligible.has(id)).toBe(true);
        }
      }),
      { seed, numRuns: 300 },
    );
  });

  it("a pinned partition's replicas move only off brokers the operator asked to leave; its leader is its first candidate", () => {
    const seed = propertySeed('rebalancer pinned');
    const leaving = new Set<string | undefined>(['draining', 'decommissioned', undefined]);
    fc.assert(
      fc.property(
        arbView({ racks: true, capacities: true, inGrace: false, pins: true }),
        ({ view, movesMax }) => {
          let v = view;
          for (let rounds = 0; ; rounds++) {
            expect(rounds).toBeLessThan(500);
            const plan = planRebalance(v, {
              nowMs: NOW_MS,
              failedGraceMs: GRACE_MS,
              concurrentMovesMax: movesMax,
            });
            const stateOf = (id: number) => v.brokers.find((b) => b.id === id)?.state;
            const partitionOf = (t: string, n: number) =>
              v.topics.find((x) => x.name === t)?.partitions.find((p) => p.partition === n);
            for (const m of plan.moves) {
              if (partitionOf(m.topic, m.partition)?.pinned === true)
                expect(leaving.has(stateOf(m.from))).toBe(true);
            }
            for (const c of plan.leaderChanges) {
              const p = partitionOf(c.topic, c.partition);
              if (p?.pinned !== true) continue;
              const first = p.replicas.find(
                (id) => p.isr.includes(id) && isEligible(v.brokers.find((b) => b.id === id) as BrokerView),
              );
              expect(c.to).toBe(first);
            }
            if (plan.moves.length === 0 && plan.leaderChanges.length === 0 && v.pendingMoves.length === 0)
              break;
            v = applyPlan(v, plan.moves, plan.leaderChanges);
          }
          // Settled: a pinned partition keeps its replicas on failed brokers (it waits for them).
          const started = projectedReplicas(view);
          for (const t of v.topics) {
            for (const p of t.partitions) {
              if (p.pinned !== true) continue;
              for (const id of started.get(partitionKey(t.name, p.partition)) ?? []) {
                if (v.brokers.find((b) => b.id === id)?.state === 'failed') expect(p.replicas).toContain(id);
              }
            }
          }
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
