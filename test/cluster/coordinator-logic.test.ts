import { describe, expect, it } from 'vitest';
import {
  balanceSpacingMs,
  initialCoordinatorState,
  isLeader,
  step,
} from '../../src/cluster/coordinator-logic.js';
import type {
  CoordinatorAction,
  CoordinatorEvent,
  CoordinatorState,
} from '../../src/cluster/coordinator-types.js';
import { planLeaders } from '../../src/cluster/leader-planner.js';
import type { ClusterView, LeaderChange } from '../../src/cluster/types.js';
import { applyPlan, broker, brokers, topic, view, withBrokerState } from './helpers.js';

const GRACE_MS = 30_000;

/** Feeds events in order and collects every action; `nowMs` is the fake clock. */
class Harness {
  state: CoordinatorState = initialCoordinatorState({ failedGraceMs: GRACE_MS, rebalanceIntervalMs: 10_000 });
  actions: CoordinatorAction[] = [];
  nowMs = 0;

  send(event: CoordinatorEvent): CoordinatorAction[] {
    const out = step(this.state, event);
    this.state = out.state;
    this.actions.push(...out.actions);
    return [...out.actions];
  }
  at(nowMs: number): this {
    this.nowMs = nowMs;
    return this;
  }
  tick(): CoordinatorAction[] {
    return this.send({ type: 'tick', nowMs: this.nowMs });
  }
  beat(...ids: number[]): void {
    this.send({ type: 'heartbeats', nowMs: this.nowMs, beats: ids.map((brokerId) => ({ brokerId })) });
  }
  /**
   * Heartbeats from `ids` every 500 ms up to `untilMs`, ticking after each round; like a healthy driver,
   * it answers the probes of those brokers with success.
   */
  beatUntil(untilMs: number, ...ids: number[]): CoordinatorAction[] {
    const seen: CoordinatorAction[] = [];
    for (let t = this.nowMs; t <= untilMs; t += 500) {
      this.at(t).beat(...ids);
      const out = this.tick();
      seen.push(...out);
      for (const a of of(out, 'probeBroker')) {
        if (ids.includes(a.brokerId))
          this.send({ type: 'probeResult', nowMs: t, brokerId: a.brokerId, ok: true });
      }
    }
    return seen;
  }
  applied(v: ClusterView): void {
    this.send({ type: 'metadataApplied', nowMs: this.nowMs, view: v });
  }
}

const of = <T extends CoordinatorAction['type']>(actions: readonly CoordinatorAction[], type: T) =>
  actions.filter((a): a is Extract<CoordinatorAction, { type: T }> => a.type === type);

const threeBrokers = (): ClusterView =>
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

function leaderHarness(v: ClusterView = threeBrokers()): Harness {
  const h = new Harness();
  h.send({ type: 'becameLeader', nowMs: 0, view: v });
  return h;
}

describe('coordinator reducer', () => {
  it('emits nothing while standby, whatever the event', () => {
    const h = new Harness();
    h.applied(threeBrokers());
    h.at(100_000).tick();
    h.beat(1);
    h.send({ type: 'probeResult', nowMs: 1, brokerId: 1, ok: false });
    expect(h.actions).toEqual([]);
    expect(isLeader(h.state)).toBe(false);
  });

  it('on becoming leader it probes brokers and plans; after losing leadership it emits nothing', () => {
    const h = leaderHarness();
    const first = h.at(100).tick();
    expect(of(first, 'probeBroker').map((a) => a.brokerId)).toEqual([1, 2, 3]);
    expect(h.state.imbalanceScore).toBe(0);
    h.send({ type: 'lostLeadership', nowMs: 200 });
    expect(h.at(60_000).tick()).toEqual([]);
    h.beat(1);
    expect(h.at(60_500).tick()).toEqual([]);
  });

  it('marks a broker failed once its heartbeats stop for longer than 3 s, and only once', () => {
    const h = leaderHarness();
    h.beatUntil(2000, 1, 2, 3);
    const quiet = h.beatUntil(5000, 1, 2);
    expect(of(quiet, 'markBrokerFailed')).toEqual([]);
    expect(of(h.at(5001).tick(), 'markBrokerFailed')).toEqual([
      { type: 'markBrokerFailed', brokerId: 3, cause: 'heartbeat-timeout' },
    ]);
    expect(of(h.at(5100).tick(), 'markBrokerFailed')).toEqual([]);
  });

  it('proposes the failure again if metadata has not shown it after the proposal timeout', () => {
    const h = leaderHarness();
    h.at(3001).tick();
    expect(of(h.actions, 'markBrokerFailed')).toHaveLength(3);
    expect(of(h.at(7999).tick(), 'markBrokerFailed')).toEqual([]);
    expect(of(h.at(8001).tick(), 'markBrokerFailed')).toHaveLength(3);
  });

  it('a new coordinator gives every broker a fresh heartbeat window from its takeover', () => {
    const h = new Harness();
    h.send({ type: 'becameLeader', nowMs: 100_000, view: threeBrokers() });
    expect(of(h.at(103_000).tick(), 'markBrokerFailed')).toEqual([]);
    expect(of(h.at(103_001).tick(), 'markBrokerFailed')).toHaveLength(3);
  });

  it('a commit stall is at least two heartbeat intervals: with slow heartbeats a gap of one is not a stall', () => {
    // 2 s heartbeats against a 3 s timeout (allowed): commits 2 s apart are normal, and silence still counts.
    const h = new Harness();
    h.state = initialCoordinatorState({
      detector: { ...h.state.config.detector, heartbeatIntervalMs: 2_000, heartbeatTimeoutMs: 3_000 },
    });
    h.send({ type: 'becameLeader', nowMs: 0, view: threeBrokers() });
    for (let t = 0; t <= 6_000; t += 2_000) {
      h.at(t).beat(...(t < 2_000 ? [1, 2, 3] : [1, 2]));
      h.send({ type: 'tick', nowMs: t + 1_900, commitAgeMs: 1_900 });
    }
    expect(of(h.actions, 'markBrokerFailed')).toEqual([
      { type: 'markBrokerFailed', brokerId: 3, cause: 'heartbeat-timeout' },
    ]);
    // With the default 500 ms heartbeats the same 1.9 s without a commit is a stall: nobody is judged.
    const d = leaderHarness();
    d.at(2_000).beat(1, 2, 3);
    d.send({ type: 'tick', nowMs: 5_500, commitAgeMs: 1_900 });
    expect(d.actions.filter((a) => a.type !== 'probeBroker')).toEqual([]);
  });

  it('a failed broker that heartbeats again rejoins', () => {
    const h = leaderHarness(withBrokerState(threeBrokers(), 3, 'failed', 0));
    h.beatUntil(1000, 1, 2);
    expect(of(h.actions, 'markBrokerAlive')).toEqual([]);
    h.at(1500).beat(1, 2, 3);
    expect(of(h.tick(), 'markBrokerAlive')).toEqual([
      { type: 'markBrokerAlive', brokerId: 3, cause: 'rejoined' },
    ]);
  });

  it('a registered broker becomes alive on its first ready heartbeat', () => {
    const v = threeBrokers();
    const h = leaderHarness(v);
    h.at(1000).applied({
      ...v,
      version: 2,
      brokers: [...v.brokers, broker(4, { state: 'starting', stateSinceMs: 1000 })],
    });
    h.send({ type: 'brokerRegistered', nowMs: 1000, brokerId: 4 });
    h.send({ type: 'heartbeat', nowMs: 1500, brokerId: 4, ready: false });
    expect(of(h.at(1500).tick(), 'markBrokerAlive')).toEqual([]);
    h.send({ type: 'heartbeat', nowMs: 2000, brokerId: 4 });
    expect(of(h.at(2000).tick(), 'markBrokerAlive')).toEqual([
      { type: 'markBrokerAlive', brokerId: 4, cause: 'ready' },
    ]);
  });

  it('a broker alive by heartbeat but failing 3 probes in a row is marked failed as stuck', () => {
    const h = leaderHarness();
    h.at(0).tick();
    for (const t of [1000, 2000, 3000]) {
      h.at(t).beat(1, 2, 3);
      h.send({ type: 'probeResult', nowMs: t, brokerId: 2, ok: false });
      expect(of(h.tick(), 'markBrokerFailed')).toEqual(
        t < 3000 ? [] : [{ type: 'markBrokerFailed', brokerId: 2, cause: 'probe-timeout' }],
      );
    }
  });

  it('a joining broker triggers a rebalance that moves replicas onto it, one plan at a time', () => {
    const v = threeBrokers();
    const h = leaderHarness(v);
    h.at(100).tick();
    expect(of(h.actions, 'proposeReplicaMoves')).toEqual([]);
    const joined = { ...v, version: 2, brokers: [...v.brokers, broker(4)] };
    h.at(200).applied(joined);
    const moves = of(h.tick(), 'proposeReplicaMoves');
    expect(moves).toHaveLength(1);
    expect(moves[0]?.moves.every((m) => m.to === 4)).toBe(true);
    // Until metadata shows the plan (a newer version) or the proposal times out, no second plan.
    h.beatUntil(4500, 1, 2, 3, 4);
    expect(of(h.actions, 'proposeReplicaMoves')).toHaveLength(1);
    const pending = moves[0]?.moves ?? [];
    h.applied({ ...joined, version: 3, pendingMoves: pending });
    // The periodic check plans again; pending moves count against the limit and their partitions wait.
    const next = of(h.beatUntil(10_500, 1, 2, 3, 4), 'proposeReplicaMoves').flatMap((a) => a.moves);
    expect(next.length).toBeLessThanOrEqual(4 - pending.length);
    for (const m of next) expect(pending.some((p) => p.partition === m.partition)).toBe(false);
  });

  it('a failed broker loses leadership at once but its replicas move only after the grace', () => {
    const v = threeBrokers();
    const h = leaderHarness({ ...v, brokers: [...v.brokers, broker(4)] });
    h.at(0).tick();
    const base = applyPlan(
      h.state.view!,
      of(h.actions, 'proposeReplicaMoves').flatMap((a) => a.moves),
    );
    h.applied({ ...base, version: 10 });
    h.beatUntil(2000, 1, 2, 3, 4);
    const failedAt = 5001;
    h.beatUntil(failedAt, 1, 2, 4);
    const failed = withBrokerState({ ...base, version: 11 }, 3, 'failed', failedAt);
    h.applied(failed);
    const onFailure = h.tick();
    expect(
      of(onFailure, 'proposeLeaderChanges')[0]?.changes.every(
        (c) => c.from !== 3 || c.reason === 'leader-unavailable',
      ),
    ).toBe(true);
    expect(of(onFailure, 'proposeLeaderChanges')[0]?.changes.some((c) => c.from === 3)).toBe(true);
    // The driver carries the leader changes out; metadata shows them.
    const changes = of(onFailure, 'proposeLeaderChanges').flatMap((a) => a.changes);
    h.applied({ ...applyPlan(failed, [], changes), version: 12 });
    const duringGrace = h.beatUntil(failedAt + GRACE_MS - 1, 1, 2, 4);
    expect(
      of(duringGrace, 'proposeReplicaMoves')
        .flatMap((a) => a.moves)
        .filter((m) => m.from === 3),
    ).toEqual([]);
    const afterGrace = h.beatUntil(failedAt + GRACE_MS + 500, 1, 2, 4);
    const moves = of(afterGrace, 'proposeReplicaMoves').flatMap((a) => a.moves);
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.every((m) => m.from === 3 && m.reason === 'broker-failed')).toBe(true);
  });

  it('a new coordinator moves no leadership for balance until it has seen a heartbeat timeout of liveness', () => {
    const v = threeBrokers();
    const allOnOne: ClusterView = {
      ...v,
      topics: v.topics.map((t) => ({
        ...t,
        partitions: t.partitions.map((p) => ({ ...p, leader: p.replicas.includes(1) ? 1 : p.leader })),
      })),
    };
    const h = leaderHarness(allOnOne);
    // The fresh window: broker 2 or 3 could have died just before the takeover.
    const early = h.beatUntil(2500, 1, 2, 3);
    expect(of(early, 'proposeLeaderChanges').flatMap((a) => a.changes)).toEqual([]);
    const later = h.beatUntil(3500, 1, 2, 3);
    const changes = of(later, 'proposeLeaderChanges').flatMap((a) => a.changes);
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.every((c) => c.from === 1 && c.reason !== 'leader-unavailable')).toBe(true);
  });

  it('a broker that fails and comes back within the grace gets its preferred leadership back, one balance spacing after it was taken', () => {
    const v = threeBrokers();
    const h = leaderHarness(v);
    const spacingMs = balanceSpacingMs(h.state.config);
    h.beatUntil(2000, 1, 2, 3);
    let current: ClusterView = withBrokerState({ ...v, version: 2 }, 3, 'failed', 5000);
    h.beatUntil(5000, 1, 2);
    h.applied(current);
    const away = of(h.tick(), 'proposeLeaderChanges').flatMap((a) => a.changes);
    expect(away.filter((c) => c.from === 3)).toHaveLength(2);
    current = { ...applyPlan(current, [], away), version: 3 };
    h.applied(current);
    // Its heartbeats were only late (a slow network): it is back a second later.
    h.at(6000).beat(1, 2, 3);
    expect(of(h.tick(), 'markBrokerAlive')).toEqual([
      { type: 'markBrokerAlive', brokerId: 3, cause: 'rejoined' },
    ]);
    current = withBrokerState({ ...current, version: 4 }, 3, 'alive', 6000);
    h.applied(current);
    // Not at once: its leaderships would otherwise be taken and returned within that second (each move a
    // short outage for the partition).
    const held = h.beatUntil(5000 + spacingMs - 500, 1, 2, 3);
    expect(of(held, 'proposeLeaderChanges')).toEqual([]);
    // The spacing ends: the plan that runs then hands them back.
    const back = of(h.beatUntil(5000 + spacingMs, 1, 2, 3), 'proposeLeaderChanges').flatMap((a) => a.changes);
    expect(back.filter((c) => c.to === 3 && c.reason === 'preferred-leader')).toHaveLength(2);
    const final = applyPlan(current, [], back);
    const leaders = final.topics[0]!.partitions.map((p) => p.leader);
    expect(leaders).toEqual([1, 2, 3, 1, 2, 3]);
    expect(of(h.actions, 'proposeReplicaMoves')).toEqual([]);
  });

  it('moves a partition leader for balance at most once per balance spacing, as in-sync sets arrive one by one', () => {
    // Replication factor 3 on three brokers, each the preferred leader of one partition.
    const v = view({
      brokers: brokers([1, 2, 3]),
      topics: [
        topic('t', [
          [1, 2, 3],
          [2, 3, 1],
          [3, 1, 2],
        ]),
      ],
    });
    /** Broker 3 in sync only in `partitions` (the others' leaders have not taken it back yet). */
    const threeInSyncIn = (at: ClusterView, partitions: readonly number[]): ClusterView => ({
      ...at,
      topics: at.topics.map((t) => ({
        ...t,
        partitions: t.partitions.map((p) => ({
          ...p,
          isr: partitions.includes(p.partition) ? [...p.replicas] : p.replicas.filter((id) => id !== 3),
        })),
      })),
    });
    const h = leaderHarness(v);
    h.beatUntil(2000, 1, 2, 3);
    let current: ClusterView = threeInSyncIn(withBrokerState({ ...v, version: 2 }, 3, 'failed', 5000), []);
    h.beatUntil(5000, 1, 2);
    h.applied(current);
    const away = of(h.tick(), 'proposeLeaderChanges').flatMap((a) => a.changes);
    current = { ...applyPlan(current, [], away), version: 3 };
    h.applied(current);
    // Broker 3 comes back; partitions 0 and 1 take it back in sync first: a plan on this view spreads
    // leadership through them (3 may lead partition 1 only).
    h.at(8000).beat(1, 2, 3);
    h.tick();
    current = threeInSyncIn(withBrokerState({ ...current, version: 4 }, 3, 'alive', 8000), [0, 1]);
    h.applied(current);
    h.at(8500).beat(1, 2, 3);
    const first = of(h.tick(), 'proposeLeaderChanges').flatMap((a) => a.changes);
    expect(first.some((c) => c.reason === 'leader-spread')).toBe(true);
    current = { ...applyPlan(current, [], first), version: 5 };
    h.applied(current);
    // Partition 2 takes it back too: the plan for this view (the planner itself, unspaced) hands back
    // leaderships that just moved; the coordinator holds those for the interval.
    current = { ...threeInSyncIn(current, [0, 1, 2]), version: 6 };
    const wanted = planLeaders(current).changes;
    const movedTwice = wanted.filter((c) => first.some((f) => f.partition === c.partition));
    expect(movedTwice.length).toBeGreaterThan(0);
    h.applied(current);
    h.at(9000).beat(1, 2, 3);
    const second = of(h.tick(), 'proposeLeaderChanges').flatMap((a) => a.changes);
    expect(second.filter((c) => first.some((f) => f.partition === c.partition))).toEqual([]);
    current = { ...applyPlan(current, [], second), version: 7 };
    h.applied(current);
    // Once the interval has passed they go ahead (with partition 2, whose leader moved away from the failed
    // broker at 5 s), and every partition ends with its preferred leader.
    const later: LeaderChange[] = [];
    for (let t = 9_500; t <= 19_000; t += 500) {
      h.at(t).beat(1, 2, 3);
      const changes = of(h.tick(), 'proposeLeaderChanges').flatMap((a) => a.changes);
      if (changes.length === 0) continue;
      later.push(...changes);
      current = { ...applyPlan(current, [], changes), version: current.version + 1 };
      h.applied(current);
    }
    const recentlyMoved = [...first, ...away].map((c) => c.partition);
    expect(later.every((c) => recentlyMoved.includes(c.partition))).toBe(true);
    for (const c of movedTwice) expect(later.map((l) => l.partition)).toContain(c.partition);
    expect(current.topics[0]!.partitions.map((p) => p.leader)).toEqual([1, 2, 3]);
  });

  it('a broker marked draining in metadata gets its replicas planned away', () => {
    const v = threeBrokers();
    const h = leaderHarness({ ...v, brokers: [...v.brokers, broker(4)] });
    h.at(0).tick();
    const base = applyPlan(
      h.state.view!,
      of(h.actions, 'proposeReplicaMoves').flatMap((a) => a.moves),
    );
    h.applied({ ...base, version: 5 });
    h.at(100).applied(withBrokerState({ ...base, version: 6 }, 2, 'draining', 100));
    const moves = of(h.tick(), 'proposeReplicaMoves').flatMap((a) => a.moves);
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.every((m) => m.from === 2 && m.reason === 'broker-draining')).toBe(true);
  });

  it('a broker marked decommissioned in metadata is emptied, then unregistered', () => {
    const v = threeBrokers();
    const h = leaderHarness({ ...v, brokers: [...v.brokers, broker(4)] });
    h.at(0).tick();
    let current = applyPlan(
      h.state.view!,
      of(h.actions, 'proposeReplicaMoves').flatMap((a) => a.moves),
    );
    h.applied({ ...current, version: 5 });
    current = withBrokerState({ ...current, version: 6 }, 3, 'decommissioned', 0);
    h.applied(current);
    // Plan, apply, repeat: the executor finishing each batch of moves.
    for (let t = 500; t <= 60_000 && of(h.actions, 'unregisterBroker').length === 0; t += 500) {
      h.at(t).beat(1, 2, 4);
      const out = h.tick();
      const moves = of(out, 'proposeReplicaMoves').flatMap((a) => a.moves);
      const changes = of(out, 'proposeLeaderChanges').flatMap((a) => a.changes);
      if (moves.length > 0 || changes.length > 0) {
        expect(moves.every((m) => m.from === 3 || m.reason === 'rebalance')).toBe(true);
        current = { ...applyPlan(current, moves, changes), version: current.version + 1 };
        h.applied(current);
      }
    }
    expect(of(h.actions, 'unregisterBroker')).toEqual([{ type: 'unregisterBroker', brokerId: 3 }]);
    expect(current.topics.flatMap((t) => t.partitions.flatMap((p) => p.replicas))).not.toContain(3);
  });
});
