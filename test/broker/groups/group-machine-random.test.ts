/**
 * Randomized: simulated consumers follow the client side of the group protocol (join, sync, heartbeat,
 * rejoin on REBALANCE_IN_PROGRESS, reset the member id on UNKNOWN_MEMBER_ID) while the driver randomly
 * crashes, restarts and removes them, stalls their heartbeats, fails persists and moves the clock. After
 * every step the machine's invariants are checked; at the end chaos stops and the group must settle.
 *
 * Replay a failure with GROUP_MACHINE_SEED=<seed printed in the failure message>.
 */
import { describe, expect, it } from 'vitest';
import { GroupMachine } from '../../../src/broker/groups/group-machine.js';
import type { GroupEffect, GroupPhase } from '../../../src/broker/groups/group-types.js';
import { mulberry32 } from '../../../src/raft/core/rand.js';
import { options, proto } from './group-machine-harness.js';

type ClientState = 'out' | 'joining' | 'to-sync' | 'syncing' | 'stable' | 'crashed';

interface Client {
  readonly name: string;
  readonly instanceId: string | null;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  incarnation: number;
  memberId: string;
  generation: number;
  state: ClientState;
  /** The leader's member list from its join answer (null for followers and skipAssignment leaders). */
  toAssign: string[] | null;
  /** While stalled the client sends nothing (a long GC pause): its session may run out. */
  stalledUntilMs: number;
  /** Answers to older requests (given up on by a client-side timeout) are ignored. */
  latestRequestId: number;
}

interface Outstanding {
  readonly client: Client;
  readonly incarnation: number;
  readonly kind: 'join' | 'sync';
  readonly sentMs: number;
}

/** A cheap assertion for the hot loop (vitest's expect costs too much at 100k steps). */
function check(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

const expectedAssignment = (instanceId: string | null, memberId: string) =>
  `assign:${instanceId ?? memberId}`;

class Simulation {
  readonly rand: () => number;
  readonly machine: GroupMachine;
  readonly clients: Client[];
  readonly outstanding = new Map<number, Outstanding>();
  readonly waitBoundMs: number;
  nowMs = 0;
  private requestId = 0;
  private lastGeneration = 0;
  private chaos = true;
  private readonly fenced = new Set<string>();

  constructor(readonly seed: number) {
    this.rand = mulberry32(seed);
    let ids = 0;
    this.machine = new GroupMachine(
      'g',
      options({
        initialRebalanceDelayMs: this.int(0, 3_000),
        minSessionTimeoutMs: 6_000,
        maxSessionTimeoutMs: 10_000,
        maxSize: 8,
        newMemberId: (clientId) => `${clientId}#${++ids}`,
      }),
    );
    this.clients = ['d1', 'd2', 'd3', 's1', 's2'].map((name) => ({
      name,
      instanceId: name.startsWith('s') ? `inst-${name}` : null,
      sessionTimeoutMs: this.int(6_000, 10_000),
      rebalanceTimeoutMs: this.int(8_000, 20_000),
      incarnation: 0,
      memberId: '',
      generation: -1,
      state: 'out',
      toAssign: null,
      stalledUntilMs: 0,
      latestRequestId: 0,
    }));
    const maxSession = Math.max(...this.clients.map((c) => c.sessionTimeoutMs));
    const maxRebalance = Math.max(...this.clients.map((c) => c.rebalanceTimeoutMs));
    this.waitBoundMs = maxSession + maxRebalance;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  /** Moves the clock, ticking at every deadline the machine announces on the way. */
  advance(byMs: number): void {
    const target = this.nowMs + byMs;
    for (
      let due = this.machine.nextDeadlineMs();
      due !== null && due <= target;
      due = this.machine.nextDeadlineMs()
    ) {
      check(due >= this.nowMs, () => `deadline ${due} is in the past`);
      this.nowMs = due;
      const before = `${this.machine.phase}/${this.machine.generation}/${this.machine.memberCount}`;
      const effects = this.machine.tick(due);
      const after = `${this.machine.phase}/${this.machine.generation}/${this.machine.memberCount}`;
      // The announced deadline must be one where tick acts, else the driver's timer would spin.
      check(
        effects.length > 0 || after !== before || this.machine.nextDeadlineMs() !== due,
        () => `tick at ${due} did nothing`,
      );
      this.deliver(effects);
    }
    this.nowMs = target;
    // Before the next deadline tick has nothing to do.
    const early = this.machine.tick(target);
    check(early.length === 0, () => `tick before the deadline acted: ${JSON.stringify(early)}`);
  }

  step(): void {
    this.advance(this.int(0, 1_500));
    const actors = this.int(1, 3);
    for (let i = 0; i < actors; i++) this.act(this.clients[this.int(0, this.clients.length - 1)]!);
  }

  act(c: Client): void {
    if (c.stalledUntilMs > this.nowMs) return;
    const r = this.rand();
    if (c.state === 'crashed') {
      if (!this.chaos || r < 0.15) this.restart(c);
      return;
    }
    if (this.chaos && r < 0.02) {
      c.state = 'crashed';
      return;
    }
    if (this.chaos && r < 0.04) {
      c.stalledUntilMs = this.nowMs + this.int(2_000, 15_000);
      return;
    }
    if (this.chaos && r < 0.06 && c.memberId !== '') {
      this.leave(c);
      return;
    }
    switch (c.state) {
      case 'out':
        this.sendJoin(c);
        return;
      case 'to-sync':
        this.sendSync(c);
        return;
      case 'stable':
      case 'syncing':
        // A client-side request timeout: the sync is sent again while the first one still waits.
        if (this.chaos && c.state === 'syncing' && r < 0.09) this.sendSync(c);
        else if (r < 0.12) this.commit(c);
        else this.heartbeat(c);
        return;
      case 'joining':
        // The same for a join (a known member id only: a new member resending would add a second member).
        if (this.chaos && r < 0.1 && c.memberId !== '') this.sendJoin(c);
        return;
    }
  }

  restart(c: Client): void {
    c.incarnation += 1;
    c.memberId = '';
    c.generation = -1;
    c.state = 'out';
    c.toAssign = null;
  }

  sendJoin(c: Client): void {
    const requestId = ++this.requestId;
    this.outstanding.set(requestId, {
      client: c,
      incarnation: c.incarnation,
      kind: 'join',
      sentMs: this.nowMs,
    });
    c.state = 'joining';
    c.latestRequestId = requestId;
    this.deliver(
      this.machine.join(
        {
          requestId,
          groupId: 'g',
          memberId: c.memberId,
          groupInstanceId: c.instanceId,
          clientId: c.name,
          clientHost: '/127.0.0.1',
          sessionTimeoutMs: c.sessionTimeoutMs,
          rebalanceTimeoutMs: c.rebalanceTimeoutMs,
          protocolType: 'consumer',
          protocols: [proto('range', c.name), proto('roundrobin', c.name)],
        },
        this.nowMs,
      ),
    );
  }

  sendSync(c: Client): void {
    const requestId = ++this.requestId;
    this.outstanding.set(requestId, {
      client: c,
      incarnation: c.incarnation,
      kind: 'sync',
      sentMs: this.nowMs,
    });
    c.state = 'syncing';
    c.latestRequestId = requestId;
    const assignments = (c.toAssign ?? []).map((entry) => {
      const [memberId, instanceId] = entry.split('|') as [string, string];
      return { memberId, assignment: Buffer.from(expectedAssignment(instanceId || null, memberId)) };
    });
    this.deliver(
      this.machine.sync(
        {
          requestId,
          groupId: 'g',
          memberId: c.memberId,
          groupInstanceId: c.instanceId,
          generation: c.generation,
          assignments,
        },
        this.nowMs,
      ),
    );
  }

  heartbeat(c: Client): void {
    const error = this.machine.heartbeat(
      { groupId: 'g', memberId: c.memberId, groupInstanceId: c.instanceId, generation: c.generation },
      this.nowMs,
    );
    if (c.state === 'syncing' && error === 'REBALANCE_IN_PROGRESS') return; // the pending sync will say so
    this.onError(c, error);
  }

  commit(c: Client): void {
    const error = this.machine.validateCommit(
      { memberId: c.memberId, groupInstanceId: c.instanceId, generation: c.generation },
      this.nowMs,
    );
    const phase: GroupPhase = this.machine.phase;
    check(
      error !== null ||
        ((phase === 'Stable' || phase === 'PreparingRebalance') && c.generation === this.machine.generation),
      () => `commit accepted in ${phase} for generation ${c.generation}`,
    );
  }

  leave(c: Client): void {
    const out = this.machine.leave(
      { groupId: 'g', members: [{ memberId: c.memberId, groupInstanceId: c.instanceId }] },
      this.nowMs,
    );
    this.restart(c);
    this.deliver(out.effects);
  }

  /** The client's reaction to an error, as the Kafka consumer does it. */
  onError(c: Client, error: string | null): void {
    if (error === null) return;
    if (error === 'FENCED_INSTANCE_ID') {
      this.fenced.add(`${c.name}/${c.incarnation}`);
      c.state = 'crashed';
      return;
    }
    if (error === 'UNKNOWN_MEMBER_ID') c.memberId = '';
    const expected = [
      'UNKNOWN_MEMBER_ID',
      'ILLEGAL_GENERATION',
      'REBALANCE_IN_PROGRESS',
      'COORDINATOR_NOT_AVAILABLE',
    ];
    check(expected.includes(error), () => `unexpected error ${error} for ${c.name}`);
    c.state = 'out';
  }

  deliver(effects: readonly GroupEffect[]): void {
    const failedPersists: number[] = [];
    for (const e of effects) {
      if (e.kind === 'persist') {
        if (!(this.chaos && this.rand() < 0.1)) this.deliver(e.then);
        else if (e.otherwise !== undefined) this.deliver(e.otherwise);
        else failedPersists.push(e.snapshot.generation);
        continue;
      }
      if (e.kind !== 'join-response' && e.kind !== 'sync-response') continue;
      const req = this.outstanding.get(e.requestId);
      check(req !== undefined, () => `request ${e.requestId} answered twice or never asked`);
      this.outstanding.delete(e.requestId);
      if (req === undefined || req.incarnation !== req.client.incarnation) continue;
      if (e.requestId !== req.client.latestRequestId) continue;
      const c = req.client;
      if (e.kind === 'join-response') {
        check(req.kind === 'join', () => 'a join answered as a sync');
        const r = e.result;
        if (r.error !== null) {
          this.onError(c, r.error);
          continue;
        }
        c.memberId = r.memberId;
        c.generation = r.generation;
        const leads = r.leaderId === r.memberId && !r.skipAssignment;
        check(
          leads ? r.members.length > 0 : r.leaderId === r.memberId || r.members.length === 0,
          () => 'only the leader gets the member list',
        );
        c.toAssign = leads ? r.members.map((m) => `${m.memberId}|${m.groupInstanceId ?? ''}`) : null;
        c.state = 'to-sync';
      } else {
        check(req.kind === 'sync', () => 'a sync answered as a join');
        if (e.result.error !== null) this.onError(c, e.result.error);
        else if (c.state === 'syncing') c.state = 'stable';
      }
    }
    for (const generation of failedPersists) this.deliver(this.machine.persistFailed(generation, this.nowMs));
  }

  checkInvariants(): void {
    const m = this.machine;
    check(m.generation >= this.lastGeneration, () => `generation went back from ${this.lastGeneration}`);
    this.lastGeneration = m.generation;
    const d = m.describe();
    const ids = new Set(d.members.map((x) => x.memberId));
    check(ids.size === d.members.length && m.memberCount === ids.size, () => 'member ids are unique');
    check(m.memberCount <= 8, () => 'maxSize holds');
    check(d.leaderId === null || ids.has(d.leaderId), () => `leader ${d.leaderId} is not a member`);
    check(
      d.leaderId !== null || (d.phase !== 'Stable' && d.phase !== 'CompletingRebalance'),
      () => `no leader in ${d.phase}`,
    );
    check(d.phase !== 'Empty' || d.members.length === 0, () => 'an Empty group has no members');
    if (d.phase === 'Stable') {
      for (const x of d.members) {
        const want = expectedAssignment(x.groupInstanceId, x.memberId);
        check(x.assignment.toString() === want, () => `in Stable ${x.memberId} holds '${x.assignment}'`);
      }
    }
    const instances = d.members.flatMap((x) => (x.groupInstanceId === null ? [] : [x.groupInstanceId]));
    check(new Set(instances).size === instances.length, () => 'one member per instance id');
    for (const [id, req] of this.outstanding) {
      check(this.nowMs - req.sentMs <= this.waitBoundMs, () => `request ${id} (${req.kind}) waits too long`);
    }
  }

  /** Chaos stops, everyone restarts and behaves: the group must settle with every client in it. */
  settle(): void {
    this.chaos = false;
    for (const c of this.clients) {
      c.stalledUntilMs = 0;
      if (c.state === 'crashed') this.restart(c);
    }
    for (let i = 0; i < 400; i++) {
      this.advance(this.int(0, 500));
      for (const c of this.clients) this.act(c);
      this.checkInvariants();
    }
    const d = this.machine.describe();
    expect(d.phase).toBe('Stable');
    expect(d.members.map((x) => x.clientId).sort()).toEqual(this.clients.map((c) => c.name).sort());
    expect(this.outstanding.size).toBe(0);
    for (const c of this.clients) expect(c.state).toBe('stable');
  }
}

describe('GroupMachine under random membership churn', () => {
  const fromEnv = process.env.GROUP_MACHINE_SEED;
  const baseSeed = fromEnv === undefined ? 20261125 : Number(fromEnv);
  const runs = fromEnv === undefined ? 300 : 1;

  it('keeps its invariants after every step and settles once churn stops', () => {
    console.info(
      `group machine random: seeds ${baseSeed}..${baseSeed + runs - 1} (GROUP_MACHINE_SEED=<n> replays one)`,
    );
    let generations = 0;
    let stableSteps = 0;
    for (let run = 0; run < runs; run++) {
      const seed = baseSeed + run;
      const sim = new Simulation(seed);
      try {
        for (let i = 0; i < 400; i++) {
          sim.step();
          sim.checkInvariants();
          if (sim.machine.phase === 'Stable') stableSteps++;
        }
        sim.settle();
        generations += sim.machine.generation;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`seed ${seed} (replay: GROUP_MACHINE_SEED=${seed}) at t=${sim.nowMs}: ${message}`, {
          cause: err,
        });
      }
    }
    // The runs exercised something: many generations and time spent Stable under churn.
    expect(generations).toBeGreaterThan(runs * 3);
    expect(stableSteps).toBeGreaterThan(runs * 20);
  });
});
