import {
  type ConfChange,
  enterJoint,
  type Message,
  mulberry32,
  type NodeId,
} from '../../src/raft/core/index.js';
import { quietTick } from '../../src/raft/quiet-tick.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import { SafetyChecker, SimViolation } from './checker.js';
import { SimNetwork } from './network.js';
import { SimNode } from './sim-node.js';
import { TraceHash } from './trace-hash.js';

export interface SimOptions {
  /** Ticks of random faults and load before healing. */
  readonly faultTicks?: number;
  /** Ticks allowed after healing for a leader to appear and every member to catch up. */
  readonly convergeTicks?: number;
  /**
   * Deliberately break the system under test, to prove the checker notices: `skip-fsync` makes nodes
   * acknowledge writes that never reached the disk.
   */
  readonly sabotage?: 'skip-fsync';
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: string;
  readonly traceHash: string;
  readonly stats: {
    readonly nodes: number;
    readonly ticks: number;
    readonly messages: number;
    readonly acked: number;
    readonly crashes: number;
    readonly elections: number;
    /** Leaders that went quiet, and quiet nodes woken by a silent peer (src/raft/quiet-tick.ts). */
    readonly quiesces: number;
    readonly silentPeerWakes: number;
    readonly confChanges: number;
    readonly reads: number;
    readonly checks: number;
    readonly convergedAfterTicks: number;
  };
}

const TIME_UNITS_PER_TICK = 10;

/** One seeded run: everything (workload, faults, timeouts) derives from `seed`, so it replays exactly. */
export function runSimulation(seed: number, options: SimOptions = {}): SimResult {
  const random = mulberry32(seed);
  const rnd = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo));
  const chance = (p: number): boolean => random() < p;
  const trace = new TraceHash();
  const checker = new SafetyChecker();

  const faultTicks = options.faultTicks ?? 120;
  const convergeTicks = options.convergeTicks ?? 150;
  const total = rnd(3, 6);
  const initialVoters = total === 5 && chance(0.5) ? 5 : 3;
  const ids = Array.from({ length: total }, (_, i) => i + 1);
  const voters = ids.slice(0, initialVoters);
  const et = rnd(5, 11);
  const nodeOpts = {
    electionTimeoutTicks: et,
    maxInflightMsgs: rnd(1, 8),
    maxSizePerMsgBytes: rnd(30, 200),
    snapshotEveryEntries: rnd(8, 40),
    keepEntries: rnd(0, 6),
    skipFsync: options.sabotage === 'skip-fsync',
    // Half the seeds model the asynchronous driver: persists that take a while, with messages and ticks
    // reaching the core between ready() and advance().
    asyncPersistRate: chance(0.5) ? random() * 0.6 : 0,
    asyncPersistMaxDelay: rnd(1, 20),
  };
  const net = new SimNetwork(random, {
    dropRate: chance(0.3) ? 0 : random() * 0.15,
    duplicateRate: random() * 0.05,
    minDelay: 1,
    maxDelay: rnd(2, 25),
  });
  const nodes = new Map<NodeId, SimNode>();
  const heard = (from: NodeId, to: NodeId): boolean =>
    nodes.get(from)?.alive === true && !net.isCut(from, to);
  for (const id of ids) {
    const boot = voters.includes(id) ? SimNode.bootstrap(voters) : new MemoryRaftStorage();
    const n = new SimNode(id, boot, nodeOpts, checker);
    nodes.set(id, n);
    n.start(mulberry32(seed ^ (id * 0x9e3779b1)));
  }
  const durable = new Map([...nodes].map(([id, n]) => [id, n.disk.durable]));
  const downUntil = new Map<NodeId, number>();
  let now = 0;
  let nextProposal = 1;
  let crashes = 0;
  let elections = 0;
  let quiesces = 0;
  let silentPeerWakes = 0;
  let confChanges = 0;
  let nextRead = 1;
  let linearizableReads = 0;
  const reads = new Map<number, number>();

  const hooks = {
    send: (m: Message) => {
      trace.add(3, m.from, m.to, m.term, m.index, m.entries.length);
      net.send(now, m);
    },
    applied: (node: SimNode, index: number, term: number, fp: string) => {
      const p = node.pending.get(index);
      if (p === undefined) return;
      node.pending.delete(index);
      if (p.term !== term || p.fp !== fp) return; // overwritten: the client sees "dropped"
      trace.add(4, node.id, index, term);
      checker.onAck(
        {
          index,
          term,
          fp,
          configs: p.configs ?? [],
        },
        durable,
      );
    },
    readState: (node: SimNode, index: number, context: Uint8Array) => {
      const id = new DataView(context.buffer, context.byteOffset, context.byteLength).getUint32(0);
      const floor = reads.get(id);
      trace.add(10, node.id, id, index);
      if (floor === undefined) return;
      reads.delete(id);
      linearizableReads++;
      // Linearizability: a read that started after a write was acknowledged must observe it.
      if (index < floor) {
        throw new SimViolation(
          'read-index',
          `read ${id} on node ${node.id} got index ${index} < acked ${floor}`,
        );
      }
    },
    trace: (...nums: number[]) => {
      if (nums[0] === 1) elections++;
      trace.add(...nums);
    },
  };
  const drainAll = (): void => {
    for (const n of nodes.values()) n.drain(hooks, random, now);
  };
  const leader = (): SimNode | undefined => {
    let best: SimNode | undefined;
    for (const n of nodes.values()) {
      if (n.core?.role === 'leader' && (best === undefined || n.core.term > best.core!.term)) best = n;
    }
    return best;
  };
  const alive = (): SimNode[] => [...nodes.values()].filter((n) => n.alive);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[rnd(0, xs.length)];

  const propose = (): void => {
    const l = leader();
    const target = l !== undefined && chance(0.85) ? l : pick(alive());
    const core = target?.core;
    if (target === undefined || core === undefined) return;
    const id = nextProposal++;
    const data = new Uint8Array([id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]);
    const r = core.propose(data);
    trace.add(5, target.id, id, r.ok ? 1 : 0);
    if (r.ok && 'firstIndex' in r) {
      let fp = 'n';
      for (const b of data) fp += b.toString(16).padStart(2, '0');
      target.pending.set(r.firstIndex, { term: r.term, fp });
    }
  };

  const read = (): void => {
    const target = pick(alive());
    if (target?.core === undefined) return;
    const id = nextRead++;
    const ctx = new Uint8Array(4);
    new DataView(ctx.buffer).setUint32(0, id);
    let floor = 0;
    for (const a of checker.acked) floor = Math.max(floor, a.index);
    reads.set(id, floor);
    target.core.readIndex(ctx);
  };

  const changeMembership = (): void => {
    const l = leader();
    const core = l?.core;
    if (core === undefined) return;
    const { voters: vs, learners: ls } = core.conf;
    const spares = ids.filter((id) => !vs.includes(id) && !ls.includes(id));
    const options: ConfChange[] = [];
    for (const id of spares) options.push({ type: 'add-learner', nodeId: id });
    if (vs.length < 5) for (const id of ls) options.push({ type: 'add-voter', nodeId: id });
    if (vs.length > 3) for (const id of vs) options.push({ type: 'remove', nodeId: id });
    for (const id of ls) options.push({ type: 'remove', nodeId: id });
    if (chance(0.4)) {
      // Joint consensus: two changes at once (e.g. swap a voter for a learner or a spare).
      const all: ConfChange[] = [
        ...options,
        ...spares.map((nodeId) => ({ type: 'add-voter' as const, nodeId })),
        ...vs.map((nodeId) => ({ type: 'remove' as const, nodeId })),
      ];
      const a = pick(all);
      const b = pick(all.filter((c) => c.nodeId !== a?.nodeId));
      if (a === undefined || b === undefined) return;
      const next = enterJoint(core.conf, [a, b]);
      if (typeof next === 'string' || next.voters.length < 3 || next.voters.length > 5) return;
      const r = core.proposeJointConfChange([a, b]);
      trace.add(11, l!.id, a.nodeId, b.nodeId, r.ok ? 1 : 0);
      if (r.ok) confChanges++;
      return;
    }
    const cc = pick(options);
    if (cc === undefined) return;
    const r = core.proposeConfChange(cc);
    trace.add(6, l!.id, cc.nodeId, cc.type.length, r.ok ? 1 : 0);
    if (r.ok) confChanges++;
  };

  const injectFault = (): void => {
    const kind = rnd(0, 9);
    const all = [...ids];
    trace.add(7, kind);
    switch (kind) {
      case 0:
      case 1: {
        const l = leader();
        if (l !== undefined) net.isolate(l.id, all);
        break;
      }
      case 2: {
        const shuffled = [...all];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = rnd(0, i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const cut = rnd(1, shuffled.length);
        net.partition(shuffled.slice(0, cut), shuffled.slice(cut));
        break;
      }
      case 3: {
        const a = pick(all)!;
        const b = pick(all.filter((x) => x !== a))!;
        net.cutLink(a, b);
        break;
      }
      case 4:
      case 5: {
        const victim = chance(0.5) ? leader() : pick(alive());
        if (victim === undefined || alive().length <= 1) break;
        crashes++;
        if (chance(0.4)) victim.crashDuringNextPersist = true;
        else {
          victim.crash(random);
          // A dead process's connections close: most peers hear of it at once (RaftCore.peerLost).
          for (const n of alive()) if (chance(0.7)) n.core?.peerLost(victim.id);
        }
        downUntil.set(victim.id, now + rnd(3, 30) * TIME_UNITS_PER_TICK);
        break;
      }
      case 6: {
        const l = leader();
        const to = l?.core === undefined ? undefined : pick(l.core.conf.voters.filter((v) => v !== l.id));
        if (l?.core === undefined) break;
        // A transfer, or a step-down without a successor (a leader whose links failed: RaftCore.stepDown).
        if (chance(0.3)) l.core.stepDown();
        else if (to !== undefined) l.core.transferLeadership(to);
        break;
      }
      case 7: {
        // A connection reset between live nodes: a false alarm that the peer is gone.
        const a = pick(alive());
        const b = a === undefined ? undefined : pick(all.filter((id) => id !== a.id));
        if (a !== undefined && b !== undefined) a.core?.peerLost(b);
        break;
      }
      default:
        net.healAll();
    }
  };

  const restartDue = (force: boolean): void => {
    for (const n of nodes.values()) {
      if (n.crashDuringNextPersist && !n.alive) n.crashDuringNextPersist = false;
      if (n.alive) continue;
      const until = downUntil.get(n.id) ?? 0;
      if (force || now >= until) {
        trace.add(8, n.id);
        n.start(mulberry32(seed ^ (n.id * 0x9e3779b1) ^ (n.life * 0x85ebca6b)));
      }
    }
  };

  const step = (faults: boolean): void => {
    for (const n of nodes.values()) {
      if (n.hasDuePersist(now)) {
        n.drain(hooks, random, now);
        if (!n.alive) checker.checkAllAcked(durable);
      }
    }
    for (const m of net.due(now)) {
      const n = nodes.get(m.to);
      if (n?.core === undefined) continue;
      trace.add(9, m.from, m.to, m.term);
      n.core.step(m);
      n.drain(hooks, random, now);
      if (!n.alive) checker.checkAllAcked(durable);
    }
    if (now % TIME_UNITS_PER_TICK === 0) {
      for (const n of nodes.values()) {
        if (n.core === undefined) continue;
        const q = quietTick(n.core, (peer) => heard(peer, n.id), false);
        if (q === 'quiesced') quiesces++;
        else if (q === 'woke') silentPeerWakes++;
      }
      if (faults) {
        if (chance(0.5)) propose();
        if (chance(0.1)) read();
        if (chance(0.04)) injectFault();
        if (chance(0.03)) changeMembership();
        restartDue(false);
      }
      drainAll();
      for (const n of nodes.values()) if (!n.alive && n.life > 0) checker.checkAllAcked(durable);
    }
    now++;
  };

  let convergedAfter = -1;
  try {
    const faultEnd = faultTicks * TIME_UNITS_PER_TICK;
    while (now < faultEnd) step(true);
    // Heal: no more faults, everyone back, a clean network.
    net.healAll();
    net.faults = { ...net.faults, dropRate: 0, duplicateRate: 0 };
    restartDue(true);
    for (const n of nodes.values()) n.crashDuringNextPersist = false;
    drainAll();
    const healEnd = now + convergeTicks * TIME_UNITS_PER_TICK;
    let proposedAfterHeal = false;
    while (now < healEnd) {
      step(false);
      if (now % TIME_UNITS_PER_TICK !== 0) continue;
      const l = leader();
      if (l?.core === undefined) continue;
      if (!proposedAfterHeal) {
        // One more write proves the healed cluster still accepts and commits proposals.
        propose();
        proposedAfterHeal = true;
      }
      if (converged(l, nodes)) {
        convergedAfter = (now - faultEnd) / TIME_UNITS_PER_TICK;
        break;
      }
    }
    if (convergedAfter < 0) {
      throw new SimViolation('liveness', `no convergence within ${convergeTicks} ticks after healing`);
    }
    const l = leader()!;
    for (const id of [...l.core!.conf.voters, ...l.core!.conf.learners]) {
      const n = nodes.get(id)!;
      checker.checkAckedApplied(id, n.sm.applied, n.sm.chain);
    }
  } catch (err) {
    const violation = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return result(false, violation);
  }
  return result(true);

  function result(ok: boolean, violation?: string): SimResult {
    return {
      seed,
      ok,
      ...(violation === undefined ? {} : { violation }),
      traceHash: trace.hex(),
      stats: {
        nodes: total,
        ticks: Math.floor(now / TIME_UNITS_PER_TICK),
        messages: net.sent,
        acked: checker.acked.length,
        crashes,
        elections,
        quiesces,
        silentPeerWakes,
        confChanges,
        reads: linearizableReads,
        checks: checker.checks,
        convergedAfterTicks: convergedAfter,
      },
    };
  }
}

/** A leader whose term's entry is committed and applied on every member. */
function converged(l: SimNode, nodes: ReadonlyMap<NodeId, SimNode>): boolean {
  const core = l.core!;
  const last = core.log.lastIndex();
  if (core.log.committed !== last || core.log.termOrZero(last) !== core.term) return false;
  for (const id of [...core.conf.voters, ...core.conf.learners]) {
    const n = nodes.get(id);
    if (n?.core === undefined) return false;
    if (n.sm.applied !== last || n.core.leaderId !== l.id) return false;
  }
  // Proposals from this leader's current term must all be resolved; older ones may have been
  // overwritten by another leader and wait for a client timeout.
  for (const p of l.pending.values()) if (p.term === core.term) return false;
  return true;
}
