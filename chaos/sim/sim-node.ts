import { type Message, type NodeId, RaftCore, type Ready } from '../../src/raft/core/index.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import { fingerprint, type SafetyChecker, type VoterSets } from './checker.js';
import { applyWrite, SimDisk, SimStateMachine, type SimWrite } from './sim-disk.js';

export interface SimNodeOptions {
  readonly electionTimeoutTicks: number;
  readonly maxInflightMsgs: number;
  readonly maxSizePerMsgBytes: number;
  /** Take a local snapshot once this many applied entries sit above the last one. */
  readonly snapshotEveryEntries: number;
  /** Entries kept below a local snapshot, so slightly-behind followers still catch up from the log. */
  readonly keepEntries: number;
  /** Sabotage for checker tests: never fsync. */
  readonly skipFsync?: boolean;
  /**
   * Probability that a Ready's persist takes up to `asyncPersistMaxDelay` time units, during which the
   * core keeps receiving messages and ticks (the real driver's interleaving between ready and advance).
   */
  readonly asyncPersistRate?: number;
  readonly asyncPersistMaxDelay?: number;
}

/** The core's state when a Ready was taken: its checks must use it even if the core moved on since. */
interface Taken {
  readonly term: number;
  readonly role: RaftCore['role'];
  readonly conf: RaftCore['conf'];
  /** The configuration when the previous Ready was taken: commits in this Ready used one of the two. */
  readonly prevConf: RaftCore['conf'];
}

function writeOf(rd: Ready): SimWrite {
  return {
    entries: rd.entries,
    ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
    ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
  };
}

/** What a node tells the cluster while it drains its Ready queue. */
export interface SimHooks {
  send(m: Message): void;
  /** A proposal this node accepted was applied (matching term) or overwritten (other term). */
  applied(node: SimNode, index: number, term: number, fp: string): void;
  trace(...nums: number[]): void;
  /** A read-index answer came back on this node. */
  readState(node: SimNode, index: number, context: Uint8Array): void;
}

/**
 * One simulated process: a Raft core driven synchronously, a volatile in-memory log (what the process
 * sees), a disk that only keeps what was fsynced, and the state machine.
 */
export class SimNode {
  core: RaftCore | undefined;
  live: MemoryRaftStorage;
  readonly disk: SimDisk;
  readonly sm = new SimStateMachine();
  /** Incremented on every restart; the commit index only has to be monotonic within one life. */
  life = 0;
  private lastCommit = 0;
  /** Set by the fault injector: the next persist is interrupted by a crash. */
  crashDuringNextPersist = false;
  /** A Ready whose persist is still in progress (asynchronous driver model). */
  private inFlight: { rd: Ready; taken: Taken; doneAt: number; appliedEarly: number } | undefined;
  private lastConf: RaftCore['conf'] | undefined;
  /** Proposals accepted by this node as leader: index -> term. */
  readonly pending = new Map<number, { term: number; fp: string; configs?: readonly VoterSets[] }>();

  constructor(
    readonly id: NodeId,
    bootstrap: MemoryRaftStorage,
    private readonly opts: SimNodeOptions,
    private readonly checker: SafetyChecker,
  ) {
    this.disk = new SimDisk(bootstrap);
    this.live = bootstrap.clone();
  }

  get alive(): boolean {
    return this.core !== undefined;
  }

  start(random: () => number): void {
    this.life++;
    this.live = this.disk.durable.clone();
    this.sm.restore(this.live.snapshot());
    this.lastCommit = this.live.hardState().commit;
    this.pending.clear();
    this.inFlight = undefined;
    this.lastConf = undefined;
    this.core = new RaftCore({
      id: this.id,
      storage: this.live,
      random,
      electionTimeoutTicks: this.opts.electionTimeoutTicks,
      heartbeatIntervalTicks: 1,
      // Idle groups go quiet, as partition groups do (quietTick, as RaftNode ticks them).
      quiesce: true,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      maxSizePerMsgBytes: this.opts.maxSizePerMsgBytes,
    });
  }

  /** Power loss; a persist in progress is torn. */
  crash(random: () => number, torn?: SimWrite): void {
    const interrupted = this.inFlight === undefined ? undefined : writeOf(this.inFlight.rd);
    this.disk.crash(random, torn ?? interrupted);
    this.core = undefined;
    this.inFlight = undefined;
    this.crashDuringNextPersist = false;
  }

  hasDuePersist(now: number): boolean {
    return this.inFlight !== undefined && this.inFlight.doneAt <= now;
  }

  /**
   * Drains the Ready queue in the etcd order: persist, send, apply, advance. A persist may stay in
   * flight for a while (see `asyncPersistRate`); the core keeps stepping and ticking meanwhile.
   */
  drain(hooks: SimHooks, random: () => number, now: number): void {
    const core = this.core;
    if (core === undefined) return;
    if (this.inFlight !== undefined) {
      if (this.inFlight.doneAt > now) return;
      const { rd, taken, appliedEarly } = this.inFlight;
      this.inFlight = undefined;
      if (!this.handle(core, rd, taken, hooks, random, appliedEarly)) return;
    }
    for (let rd = core.ready(); rd !== null; rd = core.ready()) {
      const taken: Taken = {
        term: core.term,
        role: core.role,
        conf: core.conf,
        prevConf: this.lastConf ?? core.conf,
      };
      this.lastConf = core.conf;
      if (random() < (this.opts.asyncPersistRate ?? 0)) {
        const delay = 1 + Math.floor(random() * (this.opts.asyncPersistMaxDelay ?? 1));
        // As the broker's ReadyHandler: committed entries this node already held durably are applied (and
        // their proposals answered) while the write runs.
        const appliedEarly = core.committedHeldDurably(rd);
        this.applyCommitted(rd, 0, appliedEarly, hooks);
        this.inFlight = { rd, taken, doneAt: now + delay, appliedEarly };
        return;
      }
      if (!this.handle(core, rd, taken, hooks, random)) return;
    }
  }

  private handle(
    core: RaftCore,
    rd: Ready,
    taken: Taken,
    hooks: SimHooks,
    random: () => number,
    appliedEarly = 0,
  ): boolean {
    if (rd.softState?.role === 'leader') {
      this.checker.onLeader(this.id, taken.term, this.live, rd.entries);
      hooks.trace(1, this.id, taken.term);
    }
    const write = writeOf(rd);
    if (this.crashDuringNextPersist && (rd.entries.length > 0 || rd.snapshot !== undefined)) {
      hooks.trace(2, this.id, rd.entries.length);
      this.crash(random, write);
      return false;
    }
    applyWrite(this.live, write);
    this.disk.write(write, rd.mustSync && this.opts.skipFsync !== true);
    if (rd.entries.length > 0) {
      this.checker.onStored(this.id, rd.entries, (i) => {
        const t =
          i >= this.live.firstIndex() - 1 && i <= this.live.lastIndex() ? this.live.term(i) : undefined;
        return typeof t === 'number' ? t : undefined;
      });
    }
    if (rd.hardState !== undefined) {
      const commit = rd.hardState.commit;
      this.checker.onCommitIndex(this.id, this.lastCommit, commit);
      const from = Math.max(this.lastCommit + 1, this.live.firstIndex());
      if (commit >= from) {
        const ents = this.live.entries(from, commit + 1, Number.POSITIVE_INFINITY);
        if (typeof ents !== 'string') for (const e of ents) this.checker.onCommitted(this.id, e);
      }
      this.lastCommit = commit;
      // The leader's configuration now is the one whose quorum moved the commit index.
      for (const [index, p] of this.pending) {
        if (index <= commit && p.configs === undefined) {
          p.configs = taken.role === 'leader' ? [taken.conf, taken.prevConf] : [];
        }
      }
    }
    for (const m of rd.messages) hooks.send(m);
    if (rd.snapshot !== undefined) {
      this.sm.restore(rd.snapshot);
      // Proposals folded into a snapshot have an unknown outcome: the client would time out, not be acked.
      for (const index of [...this.pending.keys()])
        if (index <= rd.snapshot.metadata.index) this.pending.delete(index);
      this.checker.onApplied(this.id, this.sm.applied, this.sm.chain);
    }
    this.applyCommitted(rd, appliedEarly, rd.committedEntries.length, hooks);
    for (const rs of rd.readStates) hooks.readState(this, rs.index, rs.context);
    core.advance(rd);
    this.maybeCompact(core);
    return true;
  }

  /** Applies rd.committedEntries[from, to). */
  private applyCommitted(rd: Ready, from: number, to: number, hooks: SimHooks): void {
    for (let i = from; i < to; i++) {
      const e = rd.committedEntries[i]!;
      this.sm.apply(e);
      this.checker.onApplied(this.id, e.index, this.sm.chain);
      if (this.pending.has(e.index)) hooks.applied(this, e.index, e.term, fingerprint(e));
    }
  }

  private maybeCompact(core: RaftCore): void {
    const snapIndex = this.live.snapshot().metadata.index;
    if (this.sm.applied - snapIndex < this.opts.snapshotEveryEntries) return;
    const confState = core.appliedConfState();
    if (confState === undefined) return;
    const localSnapshot = {
      metadata: { index: this.sm.applied, term: 0, confState },
      data: this.sm.snapshotData(),
    };
    const term = this.live.term(this.sm.applied);
    if (typeof term !== 'number') return;
    const snap = { ...localSnapshot, metadata: { ...localSnapshot.metadata, term } };
    const compactTo = Math.max(snapIndex, this.sm.applied - this.opts.keepEntries);
    const write: SimWrite = { entries: [], localSnapshot: snap, compactTo };
    applyWrite(this.live, write);
    this.disk.write(write, true);
  }

  /** A fresh bootstrap store for a node that starts as a member of `voters`, or as a spare (empty). */
  static bootstrap(voters: readonly NodeId[]): MemoryRaftStorage {
    return MemoryRaftStorage.bootstrap(voters);
  }
}
