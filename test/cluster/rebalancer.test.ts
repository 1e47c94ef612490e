import { describe, expect, it } from 'vitest';
import { imbalanceScore } from '../../src/cluster/load.js';
import { planRebalance, type RebalanceOptions } from '../../src/cluster/rebalancer.js';
import type { ClusterView } from '../../src/cluster/types.js';
import {
  applyPlan,
  broker,
  brokers,
  leaderCounts,
  perBrokerCounts,
  topic,
  view,
  withBrokerState,
} from './helpers.js';

const OPTS: RebalanceOptions = { nowMs: 100_000, failedGraceMs: 30_000, concurrentMovesMax: 100 };

/** Plans and applies until the planner has nothing left to do. */
function settle(
  v: ClusterView,
  opts: RebalanceOptions = OPTS,
  roundsMax = 100,
): { view: ClusterView; rounds: number } {
  for (let round = 0; round < roundsMax; round++) {
    const plan = planRebalance(v, opts);
    if (plan.moves.length === 0 && plan.leaderChanges.length === 0) return { view: v, rounds: round };
    v = applyPlan(v, plan.moves, plan.leaderChanges);
  }
  throw new Error('planner did not settle');
}

const balanced = (): ClusterView =>
  view({
    brokers: brokers([1, 2, 3]),
    topics: [
      topic('t', [
        [1, 2],
        [2, 3],
        [3, 1],
        [1, 3],
        [2, 1],
        [3, 2],
      ]),
    ],
  });

describe('planRebalance', () => {
  it('a balanced cluster scores 0 and gets no moves and no leader changes', () => {
    const plan = planRebalance(balanced(), OPTS);
    expect(plan).toMatchObject({ moves: [], leaderChanges: [], imbalanceScore: 0 });
  });

  it("a failed broker's replicas stay during the grace period and move once it has passed", () => {
    const v = withBrokerState({ ...balanced(), brokers: brokers([1, 2, 3, 4]) }, 3, 'failed', 80_000);
    const during = planRebalance(v, { ...OPTS, nowMs: 80_000 + 29_999 });
    expect(during.moves.filter((m) => m.from === 3)).toEqual([]);
    const after = planRebalance(v, { ...OPTS, nowMs: 80_000 + 30_000 });
    const fromFailed = after.moves.filter((m) => m.from === 3);
    expect(fromFailed).toHaveLength(4);
    for (const m of fromFailed) expect(m.reason).toBe('broker-failed');
    const settled = settle(v, { ...OPTS, nowMs: 110_000 }).view;
    expect(perBrokerCounts(settled).get(3) ?? 0).toBe(0);
  });

  it('leadership leaves a failed broker immediately, without waiting for the grace', () => {
    const v = withBrokerState(balanced(), 1, 'failed', 99_000);
    const plan = planRebalance(v, OPTS);
    expect(plan.moves).toEqual([]);
    const fromOne = plan.leaderChanges.filter((c) => c.from === 1);
    expect(fromOne).toHaveLength(2);
    for (const c of fromOne) expect(c.reason).toBe('leader-unavailable');
  });

  it('a new empty broker receives replicas until counts are even', () => {
    const v = { ...balanced(), brokers: brokers([1, 2, 3, 4]) };
    const first = planRebalance(v, OPTS);
    expect(first.moves.length).toBeGreaterThan(0);
    for (const m of first.moves) expect(m.to).toBe(4);
    const settled = settle(v).view;
    expect([...perBrokerCounts(settled).values()].sort()).toEqual([3, 3, 3, 3]);
    expect(imbalanceScore(settled).score).toBe(0);
  });

  it('balance moves stop once the replica score is within the configured bound', () => {
    // 12 replicas on 3 brokers, a 4th joins: share 3 each, mean 3.
    const v = { ...balanced(), brokers: brokers([1, 2, 3, 4]) };
    const loose = settle(v, { ...OPTS, replicaScoreMax: 0.5 }).view;
    const score = imbalanceScore(loose).replicaScore;
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThanOrEqual(0.5);
    expect(imbalanceScore(settle(v).view).replicaScore).toBe(0);
  });

  it('draining empties a broker and takes its leadership away', () => {
    const v = withBrokerState(balanced(), 2, 'draining', 0);
    const settled = settle({ ...v, brokers: [...v.brokers, broker(4)] }).view;
    expect(perBrokerCounts(settled).get(2) ?? 0).toBe(0);
    expect(leaderCounts(settled).get(2) ?? 0).toBe(0);
    const moves = planRebalance({ ...v, brokers: [...v.brokers, broker(4)] }, OPTS).moves;
    expect(moves.filter((m) => m.from === 2).every((m) => m.reason === 'broker-draining')).toBe(true);
  });

  it('a decommissioned broker is emptied with reason broker-decommissioned', () => {
    const v = withBrokerState({ ...balanced(), brokers: brokers([1, 2, 3, 4]) }, 1, 'decommissioned');
    const plan = planRebalance(v, OPTS);
    expect(plan.moves.filter((m) => m.from === 1)).toHaveLength(4);
    expect(plan.moves.every((m) => m.reason === 'broker-decommissioned')).toBe(true);
  });

  it('leaders spread evenly: preferred leaders elected, then spread where preferred ones pile up', () => {
    // Every partition prefers broker 1; all replicas are in sync, so spreading is possible.
    const v = view({
      brokers: brokers([1, 2, 3]),
      topics: [
        topic(
          't',
          Array.from({ length: 6 }, () => [1, 2, 3]),
        ),
      ],
    });
    const plan = planRebalance(v, OPTS);
    const after = applyPlan(v, [], plan.leaderChanges);
    expect([...leaderCounts(after).values()]).toEqual([2, 2, 2]);
    expect(plan.leaderChanges.every((c) => c.reason === 'leader-spread')).toBe(true);
    expect(planRebalance(after, OPTS).leaderChanges).toEqual([]);
  });

  it('a preferred leader back in sync gets its leadership back', () => {
    const base = balanced();
    const t = base.topics[0]!;
    const v: ClusterView = {
      ...base,
      topics: [{ ...t, partitions: t.partitions.map((p, i) => (i === 0 ? { ...p, leader: 2 } : p)) }],
    };
    const plan = planRebalance(v, OPTS);
    expect(plan.leaderChanges).toEqual([
      { topic: 't', partition: 0, from: 2, to: 1, reason: 'preferred-leader' },
    ]);
  });

  it('a replica out of the ISR is never chosen as leader', () => {
    const v = view({
      brokers: brokers([1, 2, 3]),
      topics: [
        {
          name: 't',
          partitions: [{ partition: 0, replicas: [1, 2, 3], leader: 2, leaderEpoch: 3, isr: [2, 3] }],
        },
      ],
    });
    expect(planRebalance(v, OPTS).leaderChanges).toEqual([]);
  });

  it('never plans more moves than the limit minus the pending ones', () => {
    const v = { ...balanced(), brokers: brokers([1, 2, 3, 4, 5, 6]) };
    expect(planRebalance(v, { ...OPTS, concurrentMovesMax: 2 }).moves).toHaveLength(2);
    const pending = {
      ...v,
      pendingMoves: [{ topic: 't', partition: 0, from: 1, to: 4, reason: 'rebalance' as const }],
    };
    const plan = planRebalance(pending, { ...OPTS, concurrentMovesMax: 2 });
    expect(plan.moves).toHaveLength(1);
    expect(plan.moves[0]?.partition).not.toBe(0);
  });

  it('keeps replicas of a partition on distinct racks when rebalancing onto a new broker', () => {
    const racks = { 1: 'a', 2: 'b', 3: 'c', 4: 'a' } as const;
    const v = view({
      brokers: [1, 2, 3, 4].map((id) => broker(id, { rack: racks[id as 1 | 2 | 3 | 4] })),
      topics: [
        topic(
          't',
          Array.from({ length: 6 }, () => [1, 2, 3]),
          'rack-aware',
        ),
      ],
    });
    const settled = settle(v).view;
    for (const p of settled.topics[0]!.partitions) {
      expect(new Set(p.replicas.map((id) => racks[id as 1 | 2 | 3 | 4])).size).toBe(3);
    }
    // Only broker 1 shares a rack with 4, so 4 takes half of 1's replicas.
    expect(perBrokerCounts(settled).get(4)).toBe(3);
  });

  it('evacuation prefers a target on a rack the partition does not use yet', () => {
    const v = withBrokerState(
      view({
        brokers: [
          broker(1, { rack: 'a' }),
          broker(2, { rack: 'b' }),
          broker(3, { rack: 'b' }),
          broker(4, { rack: 'c' }),
        ],
        topics: [topic('t', [[1, 2]])],
      }),
      1,
      'draining',
    );
    expect(planRebalance(v, OPTS).moves).toEqual([
      { topic: 't', partition: 0, from: 1, to: 4, reason: 'broker-draining' },
    ]);
  });
});
