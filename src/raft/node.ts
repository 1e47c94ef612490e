import { EventEmitter } from 'node:events';
import { InvariantViolation, invariant, StreamBusError, toStreamBusError } from '../errors/index.js';
import { stopNotice } from './core/messages.js';
import { type FollowerProgress, RaftCore } from './core/raft.js';
import { mulberry32 } from './core/rand.js';
import { type ConfChange, type ConfState, type Message, NONE, type NodeId } from './core/types.js';
import { ELECTION_MESSAGES, ElectionTrace } from './election-trace.js';
import { type RaftLogger, silentLogger } from './logger.js';
import type { CallOptions, RaftNodeEvents, RaftNodeOptions, RaftNodeStatus } from './node-types.js';
import { deadlinePromise, ProposalTracker, proposeError, type Settle } from './proposals.js';
import { type QuietTickOutcome, quietTick } from './quiet-tick.js';
import { ReadWaiters } from './read-waiters.js';
import { ReadyHandler } from './ready-handler.js';

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
 * A quiet follower tells its leader it is there this often (RaftCore.pingQuietLeader): a host that no longer
 * runs the leader's group answers with a stop notice, so a lost notice costs at most this long.
 */
export const QUIET_LEADER_PING_TICKS = 100;

/**
 * Drives one RaftCore: ticks it, feeds it messages and proposals, turns proposals into promises, and hands
 * each Ready to a ReadyHandler (persist, send, apply, advance) one at a time, so two persists never overlap.
 */
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
  private readonly elections: ElectionTrace;
  private readonly ready: ReadyHandler;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private ticker: NodeJS.Timeout | undefined;
  private phaseTimer: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  private scheduled = false;
  private loop: Promise<void> | undefined;
  private rerun = false;
  private quietTicks = 0;

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
      quiesce: options.quiesce === true && options.mode === 'hosted',
      ...(options.maxInflightMsgs === undefined ? {} : { maxInflightMsgs: options.maxInflightMsgs }),
      ...(options.maxInflightBytes === undefined ? {} : { maxInflightBytes: options.maxInflightBytes }),
      ...(options.maxSizePerMsgBytes === undefined ? {} : { maxSizePerMsgBytes: options.maxSizePerMsgBytes }),
      // The driver rejects proposals on followers with the leader id; clients retry at the leader.
      proposalForwarding: false,
    });
    this.elections = new ElectionTrace(this.log, this.core, this.id, this.groupId);
    this.ready = new ReadyHandler({
      id: this.id,
      groupId: this.groupId,
      core: this.core,
      node: options,
      log: this.log,
      now: this.now,
      events: this,
      proposals: this.proposals,
      reads: this.reads,
      leaderWaiters: this.leaderWaiters,
      elections: this.elections,
    });
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
      this.opts.transport.onPeerLost?.((peer) => this.peerLost(peer));
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
    const wasRunning = this.state === 'running';
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
    // After the loop: a Ready it was writing may still send a quiet heartbeat, which must not land after it.
    if (wasRunning) this.sendStopNotice();
  }

  /** Whether stop() was called (or a failure stopped it): the host answers its messages with a stop notice. */
  get stopped(): boolean {
    return this.state === 'stopped';
  }

  /**
   * One tick. A hosted group that may go quiet gets `isLive` (whether the host hears from a peer's process)
   * and ticks as quiet-tick.ts says: an idle leader quiesces, a quiet group only checks that the peers it
   * relies on are still heard from (and pings its leader every QUIET_LEADER_PING_TICKS). `mayQuiesce` false:
   * an awake leader does not go quiet (quietTick).
   */
  tick(isLive?: (id: NodeId) => boolean, mayQuiesce = true): void {
    if (this.state !== 'running') return;
    if (isLive === undefined || !this.opts.quiesce) {
      // No word on the peers this tick (or no quiescence): a quiet group waits for the next one.
      if (!this.core.quiesced) this.drive(() => this.core.tick());
      return;
    }
    const pingDue = this.core.quiesced && ++this.quietTicks % QUIET_LEADER_PING_TICKS === 0;
    let outcome: QuietTickOutcome;
    try {
      outcome = quietTick(this.core, isLive, pingDue, mayQuiesce);
    } catch (err) {
      this.fail(err);
      return;
    }
    // A quiet group's tick costs no turn of the loop.
    if (outcome !== 'asleep') this.schedule();
  }

  /** Whether this group is quiet (RaftCore.quiesce). */
  get quiesced(): boolean {
    return this.core.quiesced;
  }

  /**
   * A quiet group's members no longer watch it with timers: a group that stops while its process lives on
   * (a storage failure, the replica closed) tells them (messages.ts stopNotice), so they wake and elect
   * without it. Best effort: a lost one is made up for by the quiet followers' pings (pingQuietLeader), which
   * a host that does not run the group answers with a notice of its own (RaftHost).
   */
  private sendStopNotice(): void {
    if (!this.opts.quiesce || this.opts.mode !== 'hosted') return;
    const conf = this.core.conf;
    for (const peer of new Set([...conf.voters, ...(conf.votersOutgoing ?? []), ...conf.learners])) {
      if (peer === this.id) continue;
      this.opts.transport.send(peer, [{ groupId: this.groupId, message: stopNotice(this.id, peer) }]);
    }
  }

  /**
   * Leader only: stops leading without a successor and stays out of elections for a while (RaftCore.stepDown),
   * for a leader whose commits stopped on its own side's links. Returns whether it stepped down.
   */
  stepDown(): boolean {
    let stepped = false;
    this.drive(() => {
      stepped = this.core.stepDown();
    });
    return stepped;
  }

  /** The transport lost its connection to `peer` (RaftCore.peerLost). */
  peerLost(peer: NodeId): void {
    this.drive(() => this.core.peerLost(peer));
  }

  /** As drive(), written out: it runs for every message of every group, so no closure per call. */
  receive(m: Message): void {
    if (this.state !== 'running') return;
    if (ELECTION_MESSAGES.has(m.type)) this.elections.trace('received', m);
    try {
      this.core.step(m);
    } catch (err) {
      this.fail(err);
      return;
    }
    // Only while someone waits for followers' copies (partition-replica.ts, min_insync_replicas).
    if (m.type === 'app-resp' && this.listenerCount('follower-ack') > 0) this.emit('follower-ack', m.from);
    this.schedule();
  }

  /** One input to the core while running; a throw stops the node (fail), otherwise the loop runs. */
  private drive(input: () => void): void {
    if (this.state !== 'running') return;
    try {
      input();
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
    if (this.core.leaderId !== NONE) return;
    this.drive(() => this.core.campaign());
  }

  /** The voter a leadership transfer is handing over to; 0 when none is under way (cheap: no status object). */
  leadTransferee(): NodeId {
    return this.core.leadTransferee;
  }

  /** The leader heard from within the lease (itself when leading under check-quorum); 0 when none. */
  leaderInLease(): NodeId {
    return this.core.leaderInLease();
  }

  /** The leader's view of its followers' replication (empty on followers). */
  progress(): FollowerProgress[] {
    return this.core.progress();
  }

  /** Leader only (0 otherwise): voters, itself included, known to hold `index` (RaftCore.votersHolding). */
  votersHolding(index: number): number {
    return this.core.votersHolding(index);
  }

  /** Voters of the current (incoming) configuration (cheap: no status object). */
  voterCount(): number {
    return this.core.conf.voters.length;
  }

  status(): RaftNodeStatus {
    const s = this.core.status();
    const lastCommitAtMs = this.ready.lastCommitAtMs;
    return {
      id: this.id,
      groupId: this.groupId,
      role: s.role,
      term: s.term,
      leaderId: s.leaderId,
      commitIndex: s.commit,
      appliedIndex: this.ready.appliedIndex,
      leaderCommitIndex: s.leaderCommit,
      lastIndex: s.lastIndex,
      durableIndex: s.durableIndex,
      voters: s.conf.voters,
      votersOutgoing: s.conf.votersOutgoing ?? [],
      learners: s.conf.learners,
      lastCommitAgeMs: lastCommitAtMs === undefined ? undefined : this.now() - lastCommitAtMs,
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
    // A turn scheduled just before stop() must not run: the owner closes the storage once stop() resolves.
    if (this.state !== 'running') return;
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
        await this.ready.handle(rd);
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
