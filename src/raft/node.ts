import { EventEmitter } from 'node:events';
import { InvariantViolation, invariant, StreamBusError, toStreamBusError } from '../errors/index.js';
import type { Envelope } from './codec.js';
import { type FollowerProgress, RaftCore } from './core/raft.js';
import { mulberry32 } from './core/rand.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  NONE,
  type NodeId,
  type Ready,
} from './core/types.js';
import { type RaftLogger, silentLogger } from './logger.js';
import type { CallOptions, RaftNodeEvents, RaftNodeOptions, RaftNodeStatus } from './node-types.js';
import { deadlinePromise, ProposalTracker, proposeError, type Settle } from './proposals.js';
import { ReadWaiters } from './read-waiters.js';

export type {
  CallOptions,
  RaftNodeEvents,
  RaftNodeOptions,
  RaftNodeStatus,
  StateMachine,
} from './node-types.js';

interface Queued {
  readonly data: Uint8Array;
  readonly settle: Settle<unknown>;
  /** The caller gave up (timeout, abort) before the proposal reached the core. */
  cancelled: boolean;
  onIndex(index: number, term: number): void;
}

type Waiter = { term: number; resolve(v: unknown): void; reject(e: Error): void };

/**
 * Drives one RaftCore: applies each Ready in the etcd order (persist with fsync when required, then send,
 * then apply, then advance), serialised so two persists never overlap, and turns proposals into promises.
 */
/** Messages of a campaign, traced at debug level. */
const ELECTION_MESSAGES: ReadonlySet<string> = new Set(['pre-vote', 'pre-vote-resp', 'vote', 'vote-resp']);

export class RaftNode extends EventEmitter<RaftNodeEvents> {
  readonly id: NodeId;
  readonly groupId: string;
  private readonly core: RaftCore;
  private readonly opts: RaftNodeOptions;
  private readonly log: RaftLogger;
  private readonly now: () => number;
  private readonly proposals = new ProposalTracker();
  private queue: Queued[] = [];
  private readonly reads = new ReadWaiters();
  private readonly leaderWaiters = new Set<(leaderId: NodeId) => void>();
  private state: 'new' | 'running' | 'stopped' = 'new';
  private ticker: NodeJS.Timeout | undefined;
  private phaseTimer: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  private scheduled = false;
  private loop: Promise<void> | undefined;
  private rerun = false;
  private appliedIndex: number;
  private lastSnapshotIndex: number;
  private lastCommit: number;
  private lastCommitAtMs: number | undefined;
  /** The hard state as last persisted (at start: as loaded from storage). */
  private persistedHard: HardState;

  constructor(options: RaftNodeOptions) {
    super();
    this.opts = options;
    this.id = options.id;
    this.groupId = options.groupId ?? 'default';
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    const seed = options.random === undefined ? (Math.random() * 2 ** 32) >>> 0 : 0;
    this.random = options.random ?? mulberry32(seed);
    this.core = new RaftCore({
      id: options.id,
      storage: options.storage,
      random: this.random,
      electionTimeoutTicks: options.electionTimeoutTicks ?? 10,
      heartbeatIntervalTicks: options.heartbeatIntervalTicks ?? 1,
      ...(options.preVote === undefined ? {} : { preVote: options.preVote }),
      ...(options.checkQuorum === undefined ? {} : { checkQuorum: options.checkQuorum }),
      ...(options.maxInflightMsgs === undefined ? {} : { maxInflightMsgs: options.maxInflightMsgs }),
      ...(options.maxInflightBytes === undefined ? {} : { maxInflightBytes: options.maxInflightBytes }),
      ...(options.maxSizePerMsgBytes === undefined ? {} : { maxSizePerMsgBytes: options.maxSizePerMsgBytes }),
      // The driver rejects proposals on followers with the leader id; clients retry at the leader.
      proposalForwarding: false,
    });
    this.appliedIndex = this.core.log.applied;
    this.lastSnapshotIndex = options.storage.snapshot().metadata.index;
    this.lastCommit = this.core.log.committed;
    this.persistedHard = this.core.hardState();
  }

  /** Restores the state machine from the stored snapshot, then starts ticking and processing. */
  async start(): Promise<void> {
    invariant(this.state === 'new', 'a RaftNode starts once');
    const snap = this.opts.storage.snapshot();
    if (snap.metadata.index > 0) await this.opts.stateMachine.restore(snap.data);
    this.state = 'running';
    if (this.opts.mode !== 'hosted') {
      this.opts.transport.onMessage((_from, envs) => {
        for (const env of envs) if (env.groupId === this.groupId) this.receive(env.message);
      });
      // Start at a random phase: nodes started together must not tick in lockstep (it makes their
      // election timeouts expire in the same instant more often than the randomization intends).
      const tickMs = this.opts.tickIntervalMs ?? 100;
      this.phaseTimer = setTimeout(() => {
        this.phaseTimer = undefined;
        if (this.state === 'running') this.ticker = setInterval(() => this.tick(), tickMs);
      }, this.random() * tickMs);
    }
    this.log.info({ node_id: this.id, group: this.groupId, ...this.core.hardState() }, 'raft node started');
    this.schedule();
  }

  /** Stops ticking and processing; pending calls reject with RAFT_STOPPED. Storage is the caller's. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.ticker !== undefined) clearInterval(this.ticker);
    if (this.phaseTimer !== undefined) clearTimeout(this.phaseTimer);
    const err = new StreamBusError('RAFT_STOPPED', { operation: 'raft' });
    for (const q of this.queue) q.settle.reject(err);
    this.queue = [];
    this.proposals.rejectAll(err);
    this.reads.rejectAll(err);
    for (const w of this.leaderWaiters) w(NONE);
    await this.loop;
  }

  tick(): void {
    if (this.state !== 'running') return;
    try {
      this.core.tick();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.schedule();
  }

  receive(m: Message): void {
    if (this.state !== 'running') return;
    if (ELECTION_MESSAGES.has(m.type)) this.traceElection('received', m);
    try {
      this.core.step(m);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.schedule();
  }

  /** Resolves with the state machine's result for this entry once it is committed and applied here. */
  propose(data: Uint8Array, options: CallOptions = {}): Promise<unknown> {
    const refused = this.refuse('raft.propose');
    if (refused !== undefined) return Promise.reject(refused);
    if (this.core.role !== 'leader') {
      return Promise.reject(
        new StreamBusError('NOT_LEADER', {
          operation: 'raft.propose',
          metadata: { leaderId: this.core.leaderId },
        }),
      );
    }
    if (this.proposals.size + this.queue.length >= (this.opts.maxPendingProposals ?? 10_000)) {
      return Promise.reject(new StreamBusError('BULKHEAD_FULL', { operation: 'raft.propose' }));
    }
    const timeoutMs = options.timeoutMs ?? this.opts.proposalTimeoutMs ?? 10_000;
    return deadlinePromise<unknown>('raft.propose', timeoutMs, options.signal, (settle) => {
      let registered: { index: number; waiter: Waiter } | undefined;
      const q: Queued = {
        data,
        settle,
        cancelled: false,
        onIndex: (index, term) => {
          const waiter = { term, resolve: settle.resolve, reject: settle.reject };
          this.proposals.add(index, waiter);
          registered = { index, waiter };
        },
      };
      this.queue.push(q);
      this.schedule();
      return () => {
        q.cancelled = true;
        if (registered !== undefined) this.proposals.forget(registered.index, registered.waiter);
      };
    });
  }

  /** Proposes one membership step; resolves with the new membership once it is applied here. */
  proposeConfChange(cc: ConfChange, options: CallOptions = {}): Promise<ConfState> {
    const refused = this.refuse('raft.conf-change');
    if (refused !== undefined) return Promise.reject(refused);
    const r = this.core.proposeConfChange(cc);
    if (!r.ok || !('firstIndex' in r)) return Promise.reject(proposeError(r, 'raft.conf-change'));
    this.schedule();
    return this.waitFor(r.firstIndex, r.term, options, 'raft.conf-change').then(() => this.core.conf);
  }

  /**
   * Several membership changes at once through joint consensus; resolves once the joint configuration is
   * applied here (the leader then leaves it on its own: watch `conf-change` for the final membership).
   */
  proposeJointConfChange(changes: readonly ConfChange[], options: CallOptions = {}): Promise<ConfState> {
    const refused = this.refuse('raft.conf-change');
    if (refused !== undefined) return Promise.reject(refused);
    const r = this.core.proposeJointConfChange(changes);
    if (!r.ok || !('firstIndex' in r)) return Promise.reject(proposeError(r, 'raft.conf-change'));
    this.schedule();
    return this.waitFor(r.firstIndex, r.term, options, 'raft.conf-change').then(() => this.core.conf);
  }

  /** Hands leadership to `to`; resolves once this node sees `to` as leader. */
  transferLeadership(to: NodeId, options: CallOptions = {}): Promise<void> {
    const refused = this.refuse('raft.transfer-leadership');
    if (refused !== undefined) return Promise.reject(refused);
    const r = this.core.transferLeadership(to);
    if (!r.ok) return Promise.reject(proposeError(r, 'raft.transfer-leadership'));
    this.schedule();
    const timeoutMs = options.timeoutMs ?? 2 * this.electionTimeoutMs();
    return deadlinePromise<void>('raft.transfer-leadership', timeoutMs, options.signal, (settle) => {
      const onLeader = (leaderId: NodeId): void => {
        if (leaderId === to) settle.resolve();
        else if (this.state !== 'running') {
          settle.reject(new StreamBusError('RAFT_STOPPED', { operation: 'raft.transfer-leadership' }));
        }
      };
      this.leaderWaiters.add(onLeader);
      return () => this.leaderWaiters.delete(onLeader);
    });
  }

  /** A linearizable read point: resolves with an index once this node has applied up to it. */
  readIndex(options: CallOptions = {}): Promise<number> {
    const refused = this.refuse('raft.read-index');
    if (refused !== undefined) return Promise.reject(refused);
    const { context, promise } = this.reads.begin(options.timeoutMs ?? this.opts.proposalTimeoutMs ?? 10_000);
    const r = this.core.readIndex(context);
    if (!r.ok) this.reads.cancel(context, proposeError(r, 'raft.read-index'));
    this.schedule();
    return promise;
  }

  /**
   * Starts an election now instead of waiting for the election timeout (a new group's preferred leader
   * uses it so the group has a leader within a round trip). Ignored by learners and while a leader is known.
   */
  campaign(): void {
    if (this.state !== 'running' || this.core.leaderId !== NONE) return;
    try {
      this.core.campaign();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.schedule();
  }

  /** The leader's view of its followers' replication (empty on followers). */
  progress(): FollowerProgress[] {
    return this.core.progress();
  }

  status(): RaftNodeStatus {
    const s = this.core.status();
    return {
      id: this.id,
      groupId: this.groupId,
      role: s.role,
      term: s.term,
      leaderId: s.leaderId,
      commitIndex: s.commit,
      appliedIndex: this.appliedIndex,
      lastIndex: s.lastIndex,
      voters: s.conf.voters,
      votersOutgoing: s.conf.votersOutgoing ?? [],
      learners: s.conf.learners,
      lastCommitAgeMs: this.lastCommitAtMs === undefined ? undefined : this.now() - this.lastCommitAtMs,
      pendingProposals: this.proposals.size + this.queue.length,
    };
  }

  // ---------------------------------------------------------------- loop

  private refuse(operation: string): StreamBusError | undefined {
    if (this.state !== 'running') return new StreamBusError('RAFT_STOPPED', { operation });
    return undefined;
  }

  private electionTimeoutMs(): number {
    return (this.opts.electionTimeoutTicks ?? 10) * (this.opts.tickIntervalMs ?? 100);
  }

  private waitFor(index: number, term: number, options: CallOptions, operation: string): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.opts.proposalTimeoutMs ?? 10_000;
    return deadlinePromise<unknown>(operation, timeoutMs, options.signal, (settle) => {
      const waiter = { term, resolve: settle.resolve, reject: settle.reject };
      this.proposals.add(index, waiter);
      return () => this.proposals.forget(index, waiter);
    });
  }

  private schedule(): void {
    if (this.scheduled || this.state !== 'running') return;
    this.scheduled = true;
    // setImmediate lets every proposal and message that arrives in this turn join one Ready.
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.loop !== undefined) {
      this.rerun = true;
      return;
    }
    this.loop = this.process()
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.loop = undefined;
      });
  }

  private async process(): Promise<void> {
    do {
      this.rerun = false;
      this.flushProposals();
      for (let rd = this.core.ready(); rd !== null; rd = this.core.ready()) {
        await this.handleReady(rd);
        if (this.state !== 'running') return;
        this.flushProposals();
      }
    } while (this.rerun && this.state === 'running');
  }

  /** Everything proposed since the last Ready becomes one append: one fsync, one message per follower. */
  private flushProposals(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue.filter((q) => !q.cancelled);
    this.queue = [];
    if (batch.length === 0) return;
    const r = this.core.propose(batch.map((q) => q.data));
    if (!r.ok || !('firstIndex' in r)) {
      const err = proposeError(r, 'raft.propose');
      for (const q of batch) q.settle.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.onIndex(r.firstIndex + i, r.term);
  }

  private async handleReady(rd: Ready): Promise<void> {
    const prevRole = this.core.role;
    if (rd.softState !== undefined) this.onSoftState(rd);
    if (rd.hardState !== undefined && rd.hardState.term !== this.lastTermSeen) {
      this.lastTermSeen = rd.hardState.term;
      this.emit('term-change', { term: rd.hardState.term });
    }
    // 0. A leader's appends may leave while its own copy of the same entries is being written (Raft thesis
    // 10.2.1, etcd raft doc.go): it counts itself towards a commit only once they are durable (advance), so
    // the followers' disks and its own work in parallel instead of one after the other. Anything that
    // speaks for a term or vote not yet durable, and every other message, waits for the persist.
    let late = rd.messages;
    if (this.core.role === 'leader' && rd.snapshot === undefined && !this.termOrVoteChanges(rd)) {
      const early = rd.messages.filter((m) => m.type === 'app');
      if (early.length > 0) {
        this.send(early);
        late = rd.messages.filter((m) => m.type !== 'app');
      }
    }
    const snapshotInstalled = rd.snapshot === undefined ? undefined : this.watchSnapshot();
    // 1. Persist: nothing below may leave this node before the hard state and entries are durable.
    if (rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined) {
      await this.opts.storage.save(
        {
          entries: rd.entries,
          ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
          ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
        },
        rd.mustSync,
      );
      if (rd.hardState !== undefined) this.persistedHard = rd.hardState;
    }
    // 2. Send, one batch per peer.
    if (late.length > 0) this.send(late);
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      await this.opts.stateMachine.restore(rd.snapshot.data);
      this.appliedIndex = rd.snapshot.metadata.index;
      this.lastSnapshotIndex = rd.snapshot.metadata.index;
      this.proposals.dropUpTo(rd.snapshot.metadata.index);
      snapshotInstalled?.();
    }
    const confApplied: Entry[] = [];
    for (const e of rd.committedEntries) {
      if (e.type === 'conf-change') {
        confApplied.push(e);
      } else if (e.data.byteLength === 0) {
        // A leader's no-op: not for the state machine.
        this.proposals.settle(e, { ok: true, value: undefined });
      } else {
        try {
          const value = await this.opts.stateMachine.apply(e);
          this.proposals.settle(e, { ok: true, value });
        } catch (err) {
          // The state machine is deterministic, so every replica fails this entry alike: report, go on.
          this.proposals.settle(e, { ok: false, error: err instanceof Error ? err : new Error(String(err)) });
        }
      }
      this.appliedIndex = e.index;
    }
    for (const rs of rd.readStates) this.reads.onReadState(rs.index, rs.context);
    // 4. Advance.
    this.core.advance(rd);
    for (const e of confApplied) {
      this.proposals.settle(e, { ok: true, value: this.core.conf });
      this.emit('conf-change', { conf: this.core.conf, index: e.index });
    }
    if (prevRole === 'leader' && this.core.role !== 'leader') {
      this.log.info({ node_id: this.id, group: this.groupId, term: this.core.term }, 'raft leadership lost');
    }
    if (this.core.role !== 'leader' && this.proposals.size > 0) {
      const log = this.core.log;
      this.proposals.dropOverwritten((i) => {
        if (i < log.firstIndex()) return undefined; // compacted: settled at apply, or dropped by a snapshot
        return i > log.lastIndex() ? -1 : log.termOrZero(i);
      });
    }
    this.afterApply();
    await this.maybeSnapshot();
  }

  private lastTermSeen = -1;

  /** Whether this Ready carries a term or vote not yet persisted. */
  private termOrVoteChanges(rd: Ready): boolean {
    const hs = rd.hardState;
    return hs !== undefined && (hs.term !== this.persistedHard.term || hs.vote !== this.persistedHard.vote);
  }

  private onSoftState(rd: Ready): void {
    const soft = rd.softState!;
    this.emit('role-change', { role: soft.role, term: this.core.term });
    this.emit('leader-change', { leaderId: soft.leaderId, term: this.core.term });
    this.log.info(
      { node_id: this.id, group: this.groupId, role: soft.role, leader: soft.leaderId, term: this.core.term },
      'raft role or leader changed',
    );
    for (const w of [...this.leaderWaiters]) w(soft.leaderId);
  }

  private afterApply(): void {
    const commit = this.core.log.committed;
    if (commit !== this.lastCommit) {
      this.lastCommit = commit;
      this.lastCommitAtMs = this.now();
      this.emit('commit', { commitIndex: commit });
    }
    this.emit('applied', { appliedIndex: this.appliedIndex });
    this.reads.onApplied(this.appliedIndex);
  }

  private async maybeSnapshot(): Promise<void> {
    const every = this.opts.snapshotIntervalEntries ?? 10_000;
    if (this.appliedIndex - this.lastSnapshotIndex < every) return;
    const term = this.opts.storage.term(this.appliedIndex);
    const confState = this.core.appliedConfState();
    if (typeof term !== 'number' || confState === undefined) return;
    const index = this.appliedIndex;
    const taken = this.watchSnapshot();
    try {
      const data = await this.opts.stateMachine.snapshot();
      const keep = this.opts.snapshotKeepEntries ?? 1_000;
      await this.opts.storage.saveSnapshot({ metadata: { index, term, confState }, data }, index - keep);
    } finally {
      taken?.();
    }
    this.lastSnapshotIndex = index;
    this.log.debug({ node_id: this.id, group: this.groupId, index }, 'raft snapshot taken');
  }

  /** Reports a snapshot (taken or installed) still running after snapshotTimeoutMs; call the result when done. */
  private watchSnapshot(): (() => void) | undefined {
    const limitMs = this.opts.snapshotTimeoutMs;
    const onTimeout = this.opts.onTimeout;
    if (limitMs === undefined || onTimeout === undefined) return undefined;
    const timer = setTimeout(() => onTimeout('raft.snapshot', limitMs), limitMs);
    timer.unref();
    return () => clearTimeout(timer);
  }

  private send(messages: readonly Message[]): void {
    const byPeer = new Map<NodeId, Envelope[]>();
    for (const m of messages) {
      if (ELECTION_MESSAGES.has(m.type)) this.traceElection('sent', m);
      let list = byPeer.get(m.to);
      if (list === undefined) {
        list = [];
        byPeer.set(m.to, list);
      }
      list.push({ groupId: this.groupId, message: m });
    }
    for (const [to, envs] of byPeer) this.opts.transport.send(to, envs);
  }

  /** Debug-level trail of campaigns (which votes left, which answers came back): elections that stall. */
  private traceElection(direction: 'sent' | 'received', m: Message): void {
    this.log.debug(
      {
        node_id: this.id,
        group: this.groupId,
        direction,
        type: m.type,
        from: m.from,
        to: m.to,
        term: m.term,
        ...(m.reject ? { reject: true } : {}),
        role: this.core.role,
        own_term: this.core.term,
      },
      'raft election message',
    );
  }

  private fail(err: unknown): void {
    const e = toStreamBusError(err, 'raft.ready');
    this.log.error(
      { node_id: this.id, group: this.groupId, error: e.message, code: e.code },
      'raft node failed',
    );
    void this.stop();
    if (this.listenerCount('fatal') > 0) this.emit('fatal', e);
    else if (err instanceof InvariantViolation) {
      // Nobody handles it: a broken invariant must stop the process loudly, not leave a zombie node.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
