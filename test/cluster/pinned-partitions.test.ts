/**
 * Pinned partitions (an operator's replica assignment, Kafka's `--replica-assignment`): the rebalancer keeps
 * them where the operator put them. QA found `1:2:4` moved to `1,3,4` for balance.
 */
import { describe, expect, it } from 'vitest';
import { planLeaders } from '../../src/cluster/leader-planner.js';
import { planRebalance, type RebalanceOptions } from '../../src/cluster/rebalancer.js';
import type { ClusterView, TopicView } from '../../src/cluster/types.js';
import { applyPlan, brokers, perBrokerCounts, topic, view, withBrokerState } from './helpers.js';

const OPTS: RebalanceOptions = { nowMs: 100_000, failedGraceMs: 30_000, concurrentMovesMax: 100 };

function pinned(t: TopicView): TopicView {
  return { ...t, partitions: t.partitions.map((p) => ({ ...p, pinned: true })) };
}

function settle(v: ClusterView, opts: RebalanceOptions = OPTS): ClusterView {
  for (let round = 0; round < 100; round++) {
    const plan = planRebalance(v, opts);
    if (plan.moves.length === 0 && plan.leaderChanges.length === 0) return v;
    v = applyPlan(v, plan.moves, plan.leaderChanges);
  }
  throw new Error('planner did not settle');
}

const replicasOf = (v: ClusterView, name: string): number[][] =>
  v.topics.find((t) => t.name === name)?.partitions.map((p) => [...p.replicas]) ?? [];

const leadersOf = (v: ClusterView, name: string): number[] =>
  v.topics.find((t) => t.name === name)?.partitions.map((p) => p.leader) ?? [];

/** Four brokers; the operator put every replica of `manual` on 1, 2 and 4 (3 holds nothing). */
const MANUAL = [
  [1, 2, 4],
  [2, 4, 1],
  [4, 1, 2],
  [1, 2, 4],
];

describe('pinned partitions and the rebalancer', () => {
  it("balance never moves a pinned replica, however uneven the operator's layout (QA: 1:2:4 became 1,3,4)", () => {
    const v = view({ brokers: brokers([1, 2, 3, 4]), topics: [pinned(topic('manual', MANUAL))] });
    expect(planRebalance(v, OPTS).moves).toEqual([]);
    const settled = settle(v);
    expect(replicasOf(settled, 'manual')).toEqual(MANUAL);
    // The same layout unpinned is what the rebalancer spreads onto broker 3.
    const unpinned = settle(view({ brokers: brokers([1, 2, 3, 4]), topics: [topic('manual', MANUAL)] }));
    expect(perBrokerCounts(unpinned).get(3)).toBe(3);
  });

  it('other topics are balanced around the pinned replicas, which still count as load', () => {
    const v = view({
      brokers: brokers([1, 2, 3, 4]),
      topics: [
        pinned(topic('manual', MANUAL)),
        topic('placed', [
          [1, 2],
          [2, 1],
          [1, 2],
          [2, 1],
        ]),
      ],
    });
    const settled = settle(v);
    expect(replicasOf(settled, 'manual')).toEqual(MANUAL);
    // 20 replicas over 4 brokers (5 each): 3 takes one replica of every unpinned partition, all it can.
    const counts = perBrokerCounts(settled);
    expect(counts.get(3)).toBe(4);
    expect([...counts.values()].sort()).toEqual([4, 5, 5, 6]);
  });

  it("a failed broker's pinned replicas wait for it after the grace; leadership still leaves it at once", () => {
    const v = withBrokerState(
      view({
        brokers: brokers([1, 2, 3, 4]),
        topics: [
          pinned(topic('manual', MANUAL)),
          topic('placed', [
            [1, 3],
            [3, 1],
          ]),
        ],
      }),
      1,
      'failed',
      0,
    );
    const plan = planRebalance(v, { ...OPTS, nowMs: 10 * OPTS.failedGraceMs });
    // The unpinned topic is evacuated; the pinned one is not.
    expect(plan.moves.map((m) => `${m.topic}/${m.partition}:${m.from}->${m.reason}`)).toEqual([
      'placed/0:1->broker-failed',
      'placed/1:1->broker-failed',
    ]);
    // Led by the next replica in the operator's list (as Kafka elects), not spread elsewhere.
    const manual = plan.leaderChanges.filter((c) => c.topic === 'manual');
    expect(manual.map((c) => [c.partition, c.to, c.reason])).toEqual([
      [0, 2, 'leader-unavailable'],
      [3, 2, 'leader-unavailable'],
    ]);
    const settled = settle(v, { ...OPTS, nowMs: 10 * OPTS.failedGraceMs });
    expect(replicasOf(settled, 'manual')).toEqual(MANUAL);
  });

  it('a decommissioned or draining broker gives up its pinned replicas too; the substitute takes its place', () => {
    for (const state of ['decommissioned', 'draining'] as const) {
      const v = withBrokerState(
        view({ brokers: brokers([1, 2, 3, 4]), topics: [pinned(topic('manual', MANUAL))] }),
        1,
        state,
      );
      const plan = planRebalance(v, OPTS);
      expect(plan.moves.map((m) => [m.partition, m.from, m.to, m.reason])).toEqual(
        [0, 1, 2, 3].map((p) => [p, 1, 3, `broker-${state}`]),
      );
      const settled = settle(v);
      // Only broker 1 was replaced, in its position (partition 0's preferred leader is now 3).
      expect(replicasOf(settled, 'manual')).toEqual(MANUAL.map((r) => r.map((id) => (id === 1 ? 3 : id))));
      expect(settled.topics[0]?.partitions.every((p) => p.pinned === true)).toBe(true);
      expect(leadersOf(settled, 'manual')).toEqual([3, 2, 4, 3]);
    }
  });
});

describe('pinned partitions and leadership', () => {
  it('a pinned partition is led by its preferred leader, never spread to another replica', () => {
    const allPreferOne = [
      [1, 2],
      [1, 3],
      [1, 2],
      [1, 3],
    ];
    const spread = planLeaders(view({ brokers: brokers([1, 2, 3]), topics: [topic('t', allPreferOne)] }));
    expect(spread.changes.length).toBeGreaterThan(0);
    const kept = planLeaders(
      view({ brokers: brokers([1, 2, 3]), topics: [pinned(topic('t', allPreferOne))] }),
    );
    expect(kept.changes).toEqual([]);
  });

  it('leadership returns to the preferred leader once it is back in sync, and not before', () => {
    const base = pinned(topic('t', [[1, 2, 3]]));
    const outOfSync: TopicView = {
      ...base,
      partitions: base.partitions.map((p) => ({ ...p, leader: 2, isr: [2, 3] })),
    };
    const brokersUp = brokers([1, 2, 3]);
    expect(planLeaders(view({ brokers: brokersUp, topics: [outOfSync] })).changes).toEqual([]);
    const backInSync: TopicView = {
      ...outOfSync,
      partitions: outOfSync.partitions.map((p) => ({ ...p, isr: [2, 3, 1] })),
    };
    expect(planLeaders(view({ brokers: brokersUp, topics: [backInSync] })).changes).toEqual([
      { topic: 't', partition: 0, from: 2, to: 1, reason: 'preferred-leader' },
    ]);
  });

  it('unpinned partitions spread around the leaders pinned ones hold', () => {
    const v = view({
      brokers: brokers([1, 2]),
      topics: [
        pinned(topic('manual', [[1, 2]])),
        topic('placed', [
          [1, 2],
          [1, 2],
          [1, 2],
        ]),
      ],
    });
    const { desired } = planLeaders(v);
    const leaders = [...desired.values()];
    expect(leaders.filter((id) => id === 1)).toHaveLength(2);
    expect(leaders.filter((id) => id === 2)).toHaveLength(2);
    expect(planLeaders(v).changes.every((c) => c.topic === 'placed')).toBe(true);
  });
});
