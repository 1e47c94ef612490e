/**
 * The coordinator driver against a real metadata state machine (commands applied in process, no Raft), a
 * fake Raft status and a fake clock: it acts only on the leader, marks silent and stuck brokers failed,
 * brings rejoining ones back, adds non-voters as learners, finishes recorded moves and spreads leaders.
 */
import { describe, expect, it } from 'vitest';
import {
  ClusterCoordinator,
  type CoordinatorRaft,
  type CoordinatorStore,
} from '../../src/broker/cluster-coordinator.js';
import { MOVE_CATCH_UP_MAX_MS } from '../../src/broker/rebalance-executor.js';
import { DEFAULT_COORDINATOR_CONFIG } from '../../src/cluster/coordinator-logic.js';
import { StreamBusError } from '../../src/errors/index.js';
import { encodeCommand, type MetadataCommand } from '../../src/metadata/commands.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { MetadataStateMachine } from '../../src/metadata/state-machine.js';
import type { WriteOptions } from '../../src/metadata/store.js';
import { silentLogger } from '../../src/observability/index.js';
import { type SpanRunner, withSpan } from '../../src/observability/tracing.js';
import type { ConfChange } from '../../src/raft/core/types.js';
import { recordSpans } from '../helpers/memory-spans.js';
import { createTopic, register } from '../metadata/fixtures.js';

const quiet = silentLogger();

class Rig {
  readonly sm = new MetadataStateMachine();
  nowMs = 10_000;
  role = 'follower';
  term = 1;
  /** The metadata Raft's commit age as the coordinator reads it (undefined: no commit yet). */
  commitAgeMs: number | undefined = 0;
  learners: number[] = [];
  readonly conf: ConfChange[] = [];
  /** Membership proposals still to refuse with CONFIG_CHANGE_IN_PROGRESS (another change applying). */
  refuseConf = 0;
  readonly writes: string[] = [];
  /** The leader term each write was fenced by (WriteOptions.leaderTerm), in write order. */
  readonly writeTerms: (number | undefined)[] = [];
  /** Broker id -> when this broker's Raft transport last heard from it (silentForMs). */
  readonly heard = new Map<number, number>();
  /** Brokers whose Raft transport is heard on every tick of run(). */
  hearing: number[] = [];
  /** Broker ids whose probe fails. */
  readonly unreachable = new Set<number>();
  /** Runs before each replica-set write reaches the state machine (to race it). */
  beforeReplicaSet: (() => void) | undefined;
  /** Partition-leader writes wait for this (to hold a rebalance in progress). */
  leaderWriteGate: Promise<void> | undefined;
  /**
   * Whether partition leaders catch new replicas up at once: after each replica-set write the whole new
   * list is published in sync, as a leader does once its group has promoted the new replica and dropped the
   * old one. False: moved partitions stay without their new replica in sync (see catchUp()).
   */
  catchUpAtOnce = true;
  private index = 0;
  readonly coordinator: ClusterCoordinator;

  constructor(voters = [1, 2, 3], spans?: SpanRunner, featureLevelMax?: number) {
    const raft: CoordinatorRaft = {
      status: () => ({
        id: 1,
        role: this.role,
        term: this.term,
        lastCommitAgeMs: this.commitAgeMs,
        voters,
        votersOutgoing: [],
        learners: this.learners,
      }),
      proposeConfChange: async (cc) => {
        this.conf.push(cc);
        if (this.refuseConf > 0) {
          this.refuseConf--;
          throw new StreamBusError('CONFIG_CHANGE_IN_PROGRESS', { operation: 'raft.conf-change' });
        }
        return {};
      },
    };
    const exec = (command: MetadataCommand, options: WriteOptions | undefined) => {
      this.writes.push(summary(command));
      this.writeTerms.push(options?.leaderTerm);
      return this.apply(command);
    };
    const store: CoordinatorStore = {
      snapshotView: () => this.sm.view(),
      updateBroker: async (b, o) => exec({ type: 'updateBroker', ...b }, o),
      unregisterBroker: async (brokerId, o) => exec({ type: 'unregisterBroker', brokerId }, o),
      updateReplicaSet: async (u, o) => {
        this.beforeReplicaSet?.();
        const result = exec({ type: 'updateReplicaSet', ...u }, o);
        if (this.catchUpAtOnce) this.catchUp(u.topic, u.partition);
        return result;
      },
      updateLeader: async (u, o) => {
        await this.leaderWriteGate;
        return exec({ type: 'updateLeader', ...u }, o);
      },
      updateInSyncSets: async (items, o) => {
        await this.leaderWriteGate;
        const result = exec({ type: 'updateInSyncSets', items }, o);
        return { ...result, inSyncSets: result.inSyncSets ?? [] };
      },
      recordMove: async (m, o) => exec({ type: 'recordMove', ...m }, o),
      completeMove: async (m, o) => exec({ type: 'completeMove', ...m }, o),
      finalizeFeatureLevel: async (f, o) => exec({ type: 'finalizeFeatureLevel', ...f }, o),
      setClusterId: async (clusterId, o) => exec({ type: 'setClusterId', clusterId }, o),
    };
    this.coordinator = new ClusterCoordinator({
      raft,
      store,
      subscribe: (l) => this.sm.subscribe(l),
      probe: async (broker) => !this.unreachable.has(broker.id),
      silentForMs: (id) => {
        const at = this.heard.get(id);
        return at === undefined ? undefined : this.nowMs - at;
      },
      config: { ...DEFAULT_COORDINATOR_CONFIG, failedGraceMs: 1_000, rebalanceIntervalMs: 1_000 },
      nowMs: () => this.nowMs,
      logger: quiet,
      ...(spans === undefined ? {} : { spans }),
      ...(featureLevelMax === undefined ? {} : { featureLevelMax }),
      clusterId: 'cluster-of-broker-1',
    });
    this.coordinator.start();
  }

  apply(command: MetadataCommand) {
    const result = this.sm.apply({
      term: 1,
      index: ++this.index,
      type: 'normal',
      data: encodeCommand(command),
    });
    if (!result.ok) throw new StreamBusError(result.code, { message: result.message });
    return result;
  }

  /** The partition's leader publishing its whole replica list as in sync (its group caught up). */
  catchUp(topic: string, partition: number): void {
    const p = this.sm.view().topics.get(topic)?.partitions[partition];
    if (p === undefined) return;
    this.apply({
      type: 'updateLeader',
      topic,
      partition,
      expectedEpoch: p.leaderEpoch,
      leader: p.leader,
      isr: [...p.replicas],
    });
  }

  heartbeat(...ids: number[]): void {
    this.apply({ type: 'heartbeat', beats: ids.map((brokerId) => ({ brokerId, atMs: this.nowMs })) });
  }

  /** Advances the clock in ticks of 100 ms, heartbeating for `beating` brokers every 500 ms. */
  async run(ms: number, beating: number[]): Promise<void> {
    for (let t = 0; t < ms; t += 100) {
      this.nowMs += 100;
      for (const id of this.hearing) this.heard.set(id, this.nowMs);
      if (beating.length > 0 && this.nowMs % 500 === 0) this.heartbeat(...beating);
      this.coordinator.tick();
      await settle();
    }
  }

  state(id: number): string | undefined {
    return this.sm.view().brokers.get(id)?.state;
  }

  stop(): void {
    this.coordinator.stop();
  }
}

function summary(c: MetadataCommand): string {
  switch (c.type) {
    case 'updateBroker':
      return `broker ${c.brokerId} ${c.state}`;
    case 'updateLeader':
      return `leader ${c.topic}/${c.partition} ${c.leader}`;
    case 'updateReplicaSet':
      return `replicas ${c.topic}/${c.partition} ${c.replicas.join(',')}`;
    case 'updateInSyncSets':
      return `leaders ${c.items.map((i) => `${i.topic}/${i.partition} ${i.leader}`).join(', ')}`;
    case 'recordMove':
    case 'completeMove':
      return `${c.type} ${c.topic}/${c.partition} ${c.from}->${c.to}`;
    default:
      return c.type;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function threeAlive(rig: Rig): void {
  for (const id of [1, 2, 3]) {
    rig.apply(register(id, { atMs: rig.nowMs }));
    rig.apply({ type: 'updateBroker', brokerId: id, state: 'alive' });
  }
}

/** Broker 4 registered and alive (not yet in the metadata group). */
function fourthAlive(rig: Rig): void {
  rig.apply(register(4, { atMs: rig.nowMs }));
  rig.apply({ type: 'updateBroker', brokerId: 4, state: 'alive' });
}

/** Broker 4 alive, and topic `t` with one partition on brokers 1-3. */
function fourthAliveWithTopic(rig: Rig): void {
  fourthAlive(rig);
  rig.apply(createTopic('t', [[1, 2, 3]]));
}

describe('cluster coordinator driver', () => {
  it('writes nothing while this broker is a metadata follower, however silent the others are', async () => {
    const rig = new Rig();
    threeAlive(rig);
    await rig.run(10_000, []);
    expect(rig.writes).toEqual([]);
    expect(rig.coordinator.status().active).toBe(false);
    rig.stop();
  });

  it('marks a broker failed once its heartbeats stop for the heartbeat timeout, and alive when it returns', async () => {
    const rig = new Rig();
    threeAlive(rig);
    rig.role = 'leader';
    await rig.run(2_000, [1, 2, 3]);
    expect(rig.writes).toEqual([]);
    expect(rig.coordinator.status().active).toBe(true);

    await rig.run(2_500, [1, 2]);
    expect(rig.state(3)).toBe('alive'); // 2.5 s of silence: under the 3 s timeout
    await rig.run(1_000, [1, 2]);
    expect(rig.state(3)).toBe('failed');
    expect(rig.writes).toContain('broker 3 failed');
    expect(rig.state(1)).toBe('alive');

    await rig.run(1_000, [1, 2, 3]);
    expect(rig.state(3)).toBe('alive');
    rig.stop();
  });

  it('fences every write by the metadata term it leads in, and starts afresh when it leads again in a later term', async () => {
    const rig = new Rig();
    threeAlive(rig);
    rig.role = 'leader';
    rig.term = 7;
    await rig.run(4_000, [1, 2]);
    expect(rig.writes).toEqual(['broker 3 failed']);
    expect(rig.writeTerms).toEqual([7]);

    // Lost and won again between two ticks: a new term, a new window for everyone.
    rig.term = 9;
    await rig.run(2_500, [1]);
    expect(rig.state(2)).toBe('alive');
    await rig.run(1_000, [1]);
    expect(rig.writes).toEqual(['broker 3 failed', 'broker 2 failed']);
    expect(rig.writeTerms).toEqual([7, 9]);
    rig.stop();
  });

  it('decides nothing while its metadata commits are stalled, and gives every broker a fresh window after', async () => {
    // Heartbeats are metadata writes: a coordinator that cannot commit hears nobody, itself included.
    const rig = new Rig();
    threeAlive(rig);
    rig.role = 'leader';
    await rig.run(2_000, [1, 2, 3]);
    rig.commitAgeMs = 1_600; // over half the 3 s heartbeat timeout
    await rig.run(4_000, []);
    expect(rig.writes).toEqual([]);

    rig.commitAgeMs = 20;
    await rig.run(2_500, [1, 2]);
    expect(rig.writes).toEqual([]); // 2.5 s since commits resumed: under the timeout
    await rig.run(1_000, [1, 2]);
    expect(rig.writes).toEqual(['broker 3 failed']);

    // A stall shorter than half the timeout is ordinary commit latency: silence still counts.
    await rig.run(500, [1, 2, 3]);
    rig.commitAgeMs = 1_400;
    await rig.run(3_500, [1, 3]);
    expect(rig.writes).toContain('broker 2 failed');
    rig.stop();
  });

  it('does not mark failed a broker whose heartbeats stall while its Raft transport is heard; rejoining needs a heartbeat', async () => {
    // Heartbeats are forwarded metadata writes: under a slow network they can stall while Raft flows.
    const rig = new Rig();
    threeAlive(rig);
    rig.role = 'leader';
    await rig.run(2_000, [1, 2, 3]);
    rig.hearing = [2, 3];
    await rig.run(5_000, [1, 2]);
    expect(rig.writes).toEqual([]);

    rig.hearing = [2];
    await rig.run(3_500, [1, 2]);
    expect(rig.writes).toEqual(['broker 3 failed']);
    rig.hearing = [2, 3]; // its transport back, its heartbeats not yet: it stays failed
    await rig.run(2_000, [1, 2]);
    expect(rig.state(3)).toBe('failed');
    await rig.run(1_000, [1, 2, 3]);
    expect(rig.state(3)).toBe('alive');
    rig.stop();
  });

  it('marks a broker that heartbeats but does not answer probes failed (stuck)', async () => {
    const rig = new Rig();
    threeAlive(rig);
    rig.role = 'leader';
    rig.unreachable.add(2);
    await rig.run(6_000, [1, 2, 3]);
    expect(rig.state(2)).toBe('failed');
    expect(rig.state(1)).toBe('alive');
    expect(rig.state(3)).toBe('alive');
    rig.stop();
  });

  it('adds a registered broker outside the metadata group as a learner, once', async () => {
    const rig = new Rig();
    threeAlive(rig);
    rig.role = 'leader';
    await rig.run(300, [1, 2, 3]);
    rig.apply(register(4, { atMs: rig.nowMs }));
    await rig.run(300, [1, 2, 3, 4]);
    expect(rig.conf).toEqual([{ type: 'add-learner', nodeId: 4 }]);
    rig.learners = [4];
    await rig.run(6_000, [1, 2, 3, 4]);
    expect(rig.conf).toHaveLength(1);
    rig.stop();
  });

  it('proposes a refused learner addition again shortly, not after the whole proposal timeout', async () => {
    // A voter just removed by an operator must become a learner again while the removal still applies.
    const rig = new Rig();
    threeAlive(rig);
    rig.role = 'leader';
    await rig.run(300, [1, 2, 3]);
    rig.refuseConf = 1;
    rig.apply(register(4, { atMs: rig.nowMs }));
    await rig.run(300, [1, 2, 3, 4]);
    expect(rig.conf).toEqual([{ type: 'add-learner', nodeId: 4 }]);
    await rig.run(600, [1, 2, 3, 4]);
    expect(rig.conf).toEqual([
      { type: 'add-learner', nodeId: 4 },
      { type: 'add-learner', nodeId: 4 },
    ]);
    rig.learners = [4];
    await rig.run(6_000, [1, 2, 3, 4]);
    expect(rig.conf).toHaveLength(2);
    rig.stop();
  });

  it('finishes a move the previous coordinator recorded but did not apply', async () => {
    const rig = new Rig();
    threeAlive(rig);
    fourthAliveWithTopic(rig);
    rig.apply({ type: 'recordMove', topic: 't', partition: 0, from: 3, to: 4, state: 'pending' });
    rig.learners = [4];
    rig.role = 'leader';
    await rig.run(200, [1, 2, 3, 4]);
    const p = rig.sm.view().topics.get('t')?.partitions[0];
    expect(p?.replicas).toEqual([1, 2, 4]);
    expect(rig.sm.view().moves.size).toBe(0);
    expect(rig.writes.slice(0, 2)).toEqual(['replicas t/0 1,2,4', 'completeMove t/0 3->4']);
    rig.stop();
  });

  it('finishes a move recorded during its own term that a failed write abandoned', async () => {
    const rig = new Rig();
    threeAlive(rig);
    fourthAliveWithTopic(rig);
    rig.learners = [4];
    rig.role = 'leader';
    await rig.run(200, [1, 2, 3, 4]);
    // Recorded, then nothing: the write that should have applied it failed and nobody retries it.
    rig.apply({ type: 'recordMove', topic: 't', partition: 0, from: 1, to: 4, state: 'pending' });
    await rig.run(300, [1, 2, 3, 4]);
    expect(rig.sm.view().topics.get('t')?.partitions[0]?.replicas).toEqual([4, 2, 3]);
    expect(rig.sm.view().moves.size).toBe(0);
    rig.stop();
  });

  it('keeps a move pending until its new replica is in sync, and unregisters a decommissioned broker only then', async () => {
    // A partition group still counting the broker as a voter (the replacement not yet promoted) would lose
    // its quorum if the operator stopped the removed broker and one more failed.
    const rig = new Rig();
    threeAlive(rig);
    fourthAlive(rig);
    rig.learners = [4];
    rig.apply(
      createTopic('t', [
        [4, 1, 2],
        [2, 3, 4],
      ]),
    );
    rig.catchUpAtOnce = false;
    rig.role = 'leader';
    await rig.run(500, [1, 2, 3, 4]);
    rig.apply({ type: 'updateBroker', brokerId: 4, state: 'decommissioned' });
    await rig.run(5_000, [1, 2, 3]);
    const partitions = () => rig.sm.view().topics.get('t')!.partitions;
    for (const p of partitions()) expect(p.replicas).not.toContain(4);
    expect(rig.sm.view().moves.size).toBe(2);
    expect(rig.sm.view().brokers.has(4)).toBe(true);
    rig.catchUp('t', 0);
    await rig.run(1_000, [1, 2, 3]);
    expect(rig.sm.view().moves.size).toBe(1);
    expect(rig.sm.view().brokers.has(4)).toBe(true);
    rig.catchUp('t', 1);
    await rig.run(1_000, [1, 2, 3]);
    expect(rig.sm.view().moves.size).toBe(0);
    expect(rig.sm.view().brokers.has(4)).toBe(false);
    rig.stop();
  });

  it('completes a move whose new replica never catches up after MOVE_CATCH_UP_MAX_MS, so it can be planned again', async () => {
    const rig = new Rig();
    threeAlive(rig);
    fourthAliveWithTopic(rig);
    rig.apply({ type: 'recordMove', topic: 't', partition: 0, from: 3, to: 4, state: 'pending' });
    rig.learners = [4];
    rig.catchUpAtOnce = false;
    rig.role = 'leader';
    await rig.run(MOVE_CATCH_UP_MAX_MS - 1_000, [1, 2, 3, 4]);
    expect(rig.sm.view().topics.get('t')?.partitions[0]?.replicas).toEqual([1, 2, 4]);
    expect(rig.sm.view().moves.size).toBe(1);
    await rig.run(2_000, [1, 2, 3, 4]);
    expect(rig.sm.view().moves.size).toBe(0);
    rig.stop();
  });

  it('retries a replica-set write that lost a race with the partition leader bumping the epoch', async () => {
    const rig = new Rig();
    threeAlive(rig);
    fourthAliveWithTopic(rig);
    rig.apply({ type: 'recordMove', topic: 't', partition: 0, from: 3, to: 4, state: 'pending' });
    let races = 2;
    rig.beforeReplicaSet = () => {
      if (races-- <= 0) return;
      const p = rig.sm.view().topics.get('t')?.partitions[0];
      // The partition leader republishing itself: same leader, next epoch.
      rig.apply({
        type: 'updateLeader',
        topic: 't',
        partition: 0,
        expectedEpoch: p?.leaderEpoch ?? 0,
        leader: 1,
      });
    };
    rig.learners = [4];
    rig.role = 'leader';
    for (let i = 0; i < 20 && rig.sm.view().moves.size > 0; i++) {
      await rig.run(100, [1, 2, 3, 4]);
      await new Promise((r) => setTimeout(r, 60)); // the retry's backoff is real time
    }
    expect(races).toBeLessThan(0);
    expect(rig.sm.view().topics.get('t')?.partitions[0]?.replicas).toEqual([1, 2, 4]);
    expect(rig.sm.view().moves.size).toBe(0);
    rig.stop();
  });

  it('moves the replicas of a failed broker away after the grace period, and spreads leaders evenly', async () => {
    const rig = new Rig();
    threeAlive(rig);
    fourthAlive(rig);
    rig.learners = [4];
    // Six partitions all led by broker 1: leadership must spread; broker 3 then fails.
    rig.apply(
      createTopic('t', [
        [1, 2, 3],
        [1, 3, 4],
        [1, 4, 2],
        [1, 2, 3],
        [1, 3, 4],
        [1, 4, 2],
      ]),
    );
    rig.role = 'leader';
    // Balance waits for one heartbeat timeout of liveness after the takeover.
    await rig.run(4_000, [1, 2, 3, 4]);
    const leaders = () =>
      rig.sm
        .view()
        .topics.get('t')!
        .partitions.map((p) => p.leader);
    const counts = (xs: number[]) =>
      xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<number, number>());
    expect(Math.max(...counts(leaders()).values())).toBeLessThanOrEqual(2);

    await rig.run(8_000, [1, 2, 4]);
    expect(rig.state(3)).toBe('failed');
    const replicas = rig.sm
      .view()
      .topics.get('t')!
      .partitions.map((p) => p.replicas);
    expect(replicas.flat()).not.toContain(3);
    for (const r of replicas) expect(new Set(r).size).toBe(3);
    expect(leaders()).not.toContain(3);
    expect(rig.sm.view().moves.size).toBe(0);
    rig.stop();
  });

  it('runs each plan in a streambus.rebalance span: broker, kind, moves planned, partitions affected, outcome', async () => {
    const recorded = await recordSpans();
    try {
      const rig = new Rig([1, 2, 3], withSpan);
      threeAlive(rig);
      // Three partitions all led by broker 1: the leader planner spreads them.
      rig.apply(
        createTopic('t', [
          [1, 2, 3],
          [1, 3, 2],
          [1, 2, 3],
        ]),
      );
      rig.role = 'leader';
      await rig.run(4_000, [1, 2, 3]);
      rig.stop();
      const spans = await recorded.named('streambus.rebalance');
      const leaders = spans.find((s) => s.attributes['streambus.rebalance.kind'] === 'leaders');
      expect(leaders?.attributes).toMatchObject({
        'streambus.broker_id': 1,
        'streambus.outcome': 'success',
      });
      const planned = leaders?.attributes['streambus.rebalance.moves_planned'] as number;
      expect(planned).toBeGreaterThanOrEqual(1);
      expect(leaders?.attributes['streambus.rebalance.partitions_affected']).toBe(planned);
      const changed = rig.writes.filter((w) => w.startsWith('leader t/')).length;
      expect(changed).toBeGreaterThanOrEqual(planned);
    } finally {
      await recorded.stop();
    }
  });

  it('reports its running state, last tick and how long the oldest unfinished rebalance has run (for its health check)', async () => {
    const rig = new Rig();
    threeAlive(rig);
    // Three partitions all led by broker 1: the coordinator moves leadership, and those writes hang.
    rig.apply(
      createTopic('t', [
        [1, 2, 3],
        [1, 3, 2],
        [1, 2, 3],
      ]),
    );
    let release: () => void = () => {};
    rig.leaderWriteGate = new Promise<void>((resolve) => {
      release = resolve;
    });
    rig.role = 'leader';
    expect(rig.coordinator.status()).toMatchObject({ running: true, rebalancesInProgress: 0 });
    let startedMs: number | null = null;
    for (let t = 0; t < 10_000 && startedMs === null; t += 100) {
      await rig.run(100, [1, 2, 3]);
      startedMs = rig.coordinator.status().oldestRebalanceStartedMs;
    }
    expect(startedMs).not.toBeNull();
    await rig.run(2_000, [1, 2, 3]);
    const stuck = rig.coordinator.status();
    expect(stuck.rebalancesInProgress).toBeGreaterThan(0);
    // Later plans do not hide the oldest one.
    expect(stuck.oldestRebalanceStartedMs).toBe(startedMs);
    expect(stuck.lastTickMs).toBe(rig.nowMs);
    release();
    await rig.run(500, [1, 2, 3]);
    expect(rig.coordinator.status()).toMatchObject({
      rebalancesInProgress: 0,
      oldestRebalanceStartedMs: null,
    });
    rig.stop();
    expect(rig.coordinator.status().running).toBe(false);
  });

  it('empties a decommissioned broker, unregisters it and removes it from the metadata group', async () => {
    const rig = new Rig();
    threeAlive(rig);
    fourthAlive(rig);
    rig.learners = [4];
    rig.apply(
      createTopic('t', [
        [4, 1, 2],
        [2, 3, 4],
        [3, 4, 1],
      ]),
    );
    rig.role = 'leader';
    await rig.run(500, [1, 2, 3, 4]);
    rig.apply({ type: 'updateBroker', brokerId: 4, state: 'decommissioned' });
    await rig.run(5_000, [1, 2, 3]);
    const view = rig.sm.view();
    expect(view.brokers.has(4)).toBe(false);
    const replicas = view.topics.get('t')!.partitions.map((p) => p.replicas);
    for (const r of replicas) {
      expect(r).not.toContain(4);
      expect(new Set(r).size).toBe(3);
    }
    expect(rig.writes).toContain('unregisterBroker');
    expect(rig.conf).toContainEqual({ type: 'remove', nodeId: 4 });
    rig.stop();
  });
});

describe('ClusterCoordinator: cluster feature level', () => {
  /** Heartbeats from `ids`, each naming the feature level its build supports. */
  function beatWithLevel(rig: Rig, level: number, ...ids: number[]): void {
    rig.apply({
      type: 'heartbeat',
      beats: ids.map((brokerId) => ({ brokerId, atMs: rig.nowMs, featureLevel: level })),
    });
  }

  it('finalizes a level once every registered broker supports it, not before, and only while leading', async () => {
    const rig = new Rig();
    threeAlive(rig);
    beatWithLevel(rig, 2, 1, 2, 3);
    await rig.run(300, []);
    // A follower's coordinator writes nothing.
    expect(rig.sm.view().featureLevel).toBe(1);
    expect(rig.writes).not.toContain('finalizeFeatureLevel');
    rig.role = 'leader';
    rig.apply(register(3, { atMs: rig.nowMs }));
    await rig.run(300, []);
    // Broker 3 restarted on a build without feature levels: the cluster stays at the baseline.
    expect(rig.sm.view().featureLevel).toBe(1);
    expect(rig.writes).not.toContain('finalizeFeatureLevel');
    beatWithLevel(rig, 2, 3);
    await rig.run(200, []);
    expect(rig.sm.view().featureLevel).toBe(2);
    expect(rig.writes.filter((w) => w === 'finalizeFeatureLevel')).toHaveLength(1);
    expect(rig.writeTerms.at(-1)).toBe(rig.term);
    await rig.run(300, [1, 2, 3]);
    expect(rig.writes.filter((w) => w === 'finalizeFeatureLevel')).toHaveLength(1);
    rig.stop();
  });

  it("writes a plan's leader choices as one metadata write once the level is finalized (one per partition before)", async () => {
    const outcome = new Map<number, { leaders: number[]; writes: string[] }>();
    for (const level of [1, 2]) {
      const rig = new Rig();
      threeAlive(rig);
      beatWithLevel(rig, level, 1, 2, 3);
      // Four partitions that prefer brokers 2 and 3, all led by broker 1 (as after 2 and 3 restarted).
      rig.apply(
        createTopic('t', [
          [2, 1, 3],
          [3, 1, 2],
          [2, 3, 1],
          [3, 2, 1],
        ]),
      );
      for (let partition = 0; partition < 4; partition++) {
        const p = rig.sm.view().topics.get('t')!.partitions[partition]!;
        rig.apply({ type: 'updateLeader', topic: 't', partition, expectedEpoch: p.leaderEpoch, leader: 1 });
      }
      rig.role = 'leader';
      await rig.run(4_000, [1, 2, 3]);
      expect(rig.sm.view().featureLevel).toBe(level);
      outcome.set(level, {
        leaders: rig.sm
          .view()
          .topics.get('t')!
          .partitions.map((p) => p.leader),
        writes: rig.writes.filter((w) => w.startsWith('leader')),
      });
      rig.stop();
    }
    const before = outcome.get(1)!;
    const batched = outcome.get(2)!;
    // The same choices either way: most leadership leaves broker 1.
    expect(batched.leaders).toEqual(before.leaders);
    expect(before.leaders.filter((id) => id === 1).length).toBeLessThanOrEqual(1);
    expect(before.writes.length).toBeGreaterThanOrEqual(3);
    expect(before.writes.every((w) => /^leader t\/\d \d$/.test(w))).toBe(true);
    expect(batched.writes).toEqual([
      `leaders ${before.writes.map((w) => w.slice('leader '.length)).join(', ')}`,
    ]);
  });

  it("records its own data dir's cluster id as the cluster's once the level includes setClusterId, once", async () => {
    const rig = new Rig();
    threeAlive(rig);
    rig.role = 'leader';
    beatWithLevel(rig, 2, 1, 2, 3);
    await rig.run(500, [1, 2, 3]);
    expect(rig.sm.view().featureLevel).toBe(2);
    expect(rig.sm.view().clusterId).toBeNull(); // a level-2 replica could not decode the command
    beatWithLevel(rig, FEATURE.clusterId, 1, 2, 3);
    await rig.run(500, [1, 2, 3]);
    expect(rig.sm.view().featureLevel).toBe(FEATURE.clusterId);
    expect(rig.sm.view().clusterId).toBe('cluster-of-broker-1');
    await rig.run(500, [1, 2, 3]);
    expect(rig.writes.filter((w) => w === 'setClusterId')).toHaveLength(1);
    rig.stop();
  });

  it('counts a decommissioned broker until it is unregistered, and holds the level at cluster.feature_level_max', async () => {
    const held = new Rig([1, 2, 3], undefined, 1);
    held.role = 'leader';
    threeAlive(held);
    beatWithLevel(held, 2, 1, 2, 3);
    await held.run(300, []);
    expect(held.sm.view().featureLevel).toBe(1);
    expect(held.writes).not.toContain('finalizeFeatureLevel');
    held.stop();

    const rig = new Rig();
    rig.role = 'leader';
    threeAlive(rig);
    beatWithLevel(rig, 2, 1, 2);
    // Broker 3 (an older build) holds a replica that three brokers have nowhere to move.
    rig.apply(createTopic('t', [[1, 2, 3]]));
    rig.apply({ type: 'updateBroker', brokerId: 3, state: 'decommissioned' });
    await rig.run(300, []);
    // Decommissioned, it still runs that Raft replica: the level waits.
    expect(rig.sm.view().brokers.get(3)?.state).toBe('decommissioned');
    expect(rig.sm.view().featureLevel).toBe(1);
    expect(rig.writes).not.toContain('finalizeFeatureLevel');
    // Once it holds nothing the coordinator unregisters it, and then finalizes.
    rig.apply({ type: 'deleteTopic', name: 't' });
    await rig.run(300, []);
    expect(rig.sm.view().brokers.has(3)).toBe(false);
    expect(rig.sm.view().featureLevel).toBe(2);
    expect(rig.writes.filter((w) => w === 'unregisterBroker' || w === 'finalizeFeatureLevel')).toEqual([
      'unregisterBroker',
      'finalizeFeatureLevel',
    ]);
    rig.stop();
  });
});

/** Brokers 1-4 alive on a build at `level`, that level finalized by the coordinator, which leads. */
async function levelFinalized(rig: Rig, level: number): Promise<void> {
  threeAlive(rig);
  fourthAlive(rig);
  rig.learners = [4];
  rig.role = 'leader';
  rig.apply({
    type: 'heartbeat',
    beats: [1, 2, 3, 4].map((brokerId) => ({ brokerId, atMs: rig.nowMs, featureLevel: level })),
  });
  await rig.run(500, [1, 2, 3, 4]);
  expect(rig.sm.view().featureLevel).toBe(level);
}

describe('ClusterCoordinator: pinned partitions (an operator assignment)', () => {
  const pinsFinalized = (rig: Rig) => levelFinalized(rig, FEATURE.pinnedAssignments);

  const replicasOf = (rig: Rig, topic: string) =>
    rig.sm
      .view()
      .topics.get(topic)!
      .partitions.map((p) => [...p.replicas]);
  const leadersOf = (rig: Rig, topic: string) =>
    rig.sm
      .view()
      .topics.get(topic)!
      .partitions.map((p) => p.leader);

  const MANUAL = [
    [1, 2, 4],
    [2, 4, 1],
    [4, 1, 2],
  ];

  it('rebalances around a pinned topic on an uneven layout and leaves its assignment as the operator gave it', async () => {
    const rig = new Rig();
    await pinsFinalized(rig);
    // Broker 3 holds nothing: the QA run saw 1:2:4 become 1,3,4.
    rig.apply(createTopic('manual', MANUAL, { pinned: true }));
    rig.apply(
      createTopic('placed', [
        [1, 2, 4],
        [2, 4, 1],
        [4, 1, 2],
      ]),
    );
    await rig.run(10_000, [1, 2, 3, 4]);
    expect(replicasOf(rig, 'manual')).toEqual(MANUAL);
    expect(leadersOf(rig, 'manual')).toEqual([1, 2, 4]);
    // The unpinned topic took the moves instead: broker 3 has its share of it.
    expect(
      replicasOf(rig, 'placed')
        .flat()
        .filter((id) => id === 3),
    ).toHaveLength(3);
    expect(rig.writes.filter((w) => w.includes('manual/'))).toEqual([]);
    expect(rig.sm.view().moves.size).toBe(0);
    rig.stop();
  });

  it("waits for a failed broker's pinned replicas past the grace, led meanwhile by the next in-sync replica, and hands leadership back", async () => {
    const rig = new Rig();
    await pinsFinalized(rig);
    rig.apply(createTopic('manual', MANUAL, { pinned: true }));
    await rig.run(1_000, [1, 2, 3, 4]);
    // Broker 1 fails; the grace (1 s here) passes many times over.
    await rig.run(10_000, [2, 3, 4]);
    expect(rig.state(1)).toBe('failed');
    expect(replicasOf(rig, 'manual')).toEqual(MANUAL);
    expect(leadersOf(rig, 'manual')).toEqual([2, 2, 4]);
    // Back and in sync again: partition 0's preferred leader leads it again.
    await rig.run(1_000, [1, 2, 3, 4]);
    expect(rig.state(1)).toBe('alive');
    rig.catchUp('manual', 0);
    await rig.run(4_000, [1, 2, 3, 4]);
    expect(leadersOf(rig, 'manual')).toEqual([1, 2, 4]);
    expect(replicasOf(rig, 'manual')).toEqual(MANUAL);
    rig.stop();
  });

  it('moves pinned replicas off a decommissioned broker, keeping the partition pinned, and unregisters it', async () => {
    const rig = new Rig();
    await pinsFinalized(rig);
    rig.apply(createTopic('manual', MANUAL, { pinned: true }));
    await rig.run(500, [1, 2, 3, 4]);
    rig.apply({ type: 'updateBroker', brokerId: 4, state: 'decommissioned' });
    await rig.run(5_000, [1, 2, 3]);
    expect(rig.sm.view().brokers.has(4)).toBe(false);
    // Broker 3 took broker 4's place in each list; nothing else moved.
    expect(replicasOf(rig, 'manual')).toEqual(MANUAL.map((r) => r.map((id) => (id === 4 ? 3 : id))));
    expect(
      rig.sm
        .view()
        .topics.get('manual')!
        .partitions.every((p) => p.pinned === true),
    ).toBe(true);
    rig.stop();
  });
});

describe('ClusterCoordinator: reassigned and unpinned partitions (alterPartitionAssignments)', () => {
  const reassignmentFinalized = (rig: Rig) => levelFinalized(rig, FEATURE.partitionReassignment);

  it("carries a reassignment out one recorded move at a time and ends at the operator's list, led by its first replica", async () => {
    const rig = new Rig();
    await reassignmentFinalized(rig);
    rig.apply(createTopic('t', [[1, 2, 3]]));
    await rig.run(1_000, [1, 2, 3, 4]);
    rig.apply({
      type: 'alterPartitionAssignments',
      topic: 't',
      partitions: [{ partition: 0, replicas: [4, 3, 1] }],
    });
    await rig.run(5_000, [1, 2, 3, 4]);
    const p = rig.sm.view().topics.get('t')!.partitions[0]!;
    expect(p).toMatchObject({ replicas: [4, 3, 1], leader: 4, pinned: true });
    expect(p.targetReplicas).toBeUndefined();
    expect(rig.sm.view().moves.size).toBe(0);
    // One replica moved (2 -> 4), recorded before it was applied, its last write in the target's order.
    expect(rig.writes.filter((w) => w.includes('t/0') && !w.startsWith('leader'))).toEqual([
      'recordMove t/0 2->4',
      'replicas t/0 4,3,1',
      'completeMove t/0 2->4',
    ]);
    // Pinned at its new list: the rebalancer keeps it there.
    await rig.run(5_000, [1, 2, 3, 4]);
    expect(rig.sm.view().topics.get('t')!.partitions[0]!.replicas).toEqual([4, 3, 1]);
    rig.stop();
  });

  it('grows a partition with a move that only adds a replica, complete once it is in sync, and shrinks it, leader last', async () => {
    const rig = new Rig();
    await levelFinalized(rig, FEATURE.reassignmentReplicationFactor);
    rig.apply(createTopic('t', [[1, 2]]));
    await rig.run(1_000, [1, 2, 3, 4]);
    rig.catchUpAtOnce = false;
    rig.apply({
      type: 'alterPartitionAssignments',
      topic: 't',
      partitions: [{ partition: 0, replicas: [1, 2, 3] }],
    });
    await rig.run(3_000, [1, 2, 3, 4]);
    const partition = () => rig.sm.view().topics.get('t')!.partitions[0]!;
    // Written, and waiting for broker 3 to catch up: the move stays recorded, nothing else is planned.
    expect(partition()).toMatchObject({ replicas: [1, 2, 3], isr: [1, 2] });
    expect(rig.sm.view().moves.size).toBe(1);
    rig.catchUp('t', 0);
    await rig.run(1_000, [1, 2, 3, 4]);
    expect(rig.sm.view().moves.size).toBe(0);
    expect(partition().targetReplicas).toBeUndefined();
    // Shrink to broker 3 and 2: broker 1 leads and leaves, so leadership moves on with the write.
    rig.apply({
      type: 'alterPartitionAssignments',
      topic: 't',
      partitions: [{ partition: 0, replicas: [3, 2] }],
    });
    await rig.run(3_000, [1, 2, 3, 4]);
    expect(partition()).toMatchObject({ replicas: [3, 2], isr: [2, 3], leader: 3, pinned: true });
    expect(partition().targetReplicas).toBeUndefined();
    expect(rig.sm.view().moves.size).toBe(0);
    expect(rig.writes.filter((w) => /Move|replicas/.test(w) && w.includes('t/0'))).toEqual([
      'recordMove t/0 -1->3',
      'replicas t/0 1,2,3',
      'completeMove t/0 -1->3',
      'recordMove t/0 1->-1',
      'replicas t/0 3,2',
      'completeMove t/0 1->-1',
    ]);
    rig.stop();
  });

  it('balances an unpinned partition again', async () => {
    const rig = new Rig();
    await reassignmentFinalized(rig);
    const manual = [
      [1, 2],
      [2, 1],
      [1, 2],
      [2, 1],
    ];
    rig.apply(createTopic('manual', manual, { pinned: true }));
    await rig.run(5_000, [1, 2, 3, 4]);
    expect(
      rig.sm
        .view()
        .topics.get('manual')!
        .partitions.map((p) => [...p.replicas]),
    ).toEqual(manual);
    rig.apply({
      type: 'alterPartitionAssignments',
      topic: 'manual',
      partitions: manual.map((_, partition) => ({ partition, replicas: null })),
    });
    await rig.run(10_000, [1, 2, 3, 4]);
    const counts = new Map<number, number>();
    for (const p of rig.sm.view().topics.get('manual')!.partitions) {
      expect(p.pinned).toBeUndefined();
      for (const id of p.replicas) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.values()].sort()).toEqual([2, 2, 2, 2]);
    rig.stop();
  });
});
