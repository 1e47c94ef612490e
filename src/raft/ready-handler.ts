/**
 * Carries out one Ready of a RaftCore in the etcd order: persist (with fsync when required), send, apply,
 * advance, then take a snapshot when one is due; a leader's appends and the committed entries already
 * durable here overlap the persist (docs/raft.md, "The Ready order"). Apart from RaftNode so the order
 * that keeps a node's log and votes safe across crashes sits in one place, away from the node's promises,
 * timers and lifecycle.
 * The node serialises calls to `handle`, so two persists never overlap.
 */
import type { EventEmitter } from 'node:events';
import type { Envelope } from './codec.js';
import type { RaftCore } from './core/raft.js';
import type { Entry, HardState, Message, NodeId, Ready } from './core/types.js';
import { ELECTION_MESSAGES, type ElectionTrace } from './election-trace.js';
import type { RaftLogger } from './logger.js';
import type { RaftNodeEvents, RaftNodeOptions } from './node-types.js';
import type { ProposalTracker } from './proposals.js';
import type { ReadWaiters } from './read-waiters.js';

export interface ReadyHandlerOptions {
  readonly id: NodeId;
  readonly groupId: string;
  readonly core: RaftCore;
  readonly node: RaftNodeOptions;
  readonly log: RaftLogger;
  readonly now: () => number;
  /** The RaftNode, which emits what each Ready changed. */
  readonly events: EventEmitter<RaftNodeEvents>;
  readonly proposals: ProposalTracker;
  readonly reads: ReadWaiters;
  /** Told every leader change (transferLeadership's waiters). */
  readonly leaderWaiters: ReadonlySet<(leaderId: NodeId) => void>;
  readonly elections: ElectionTrace;
}

export class ReadyHandler {
  // Copied out of the options so the per-entry apply loop reads them as directly as RaftNode did.
  private readonly id: NodeId;
  private readonly groupId: string;
  private readonly core: RaftCore;
  private readonly opts: RaftNodeOptions;
  private readonly log: RaftLogger;
  private readonly now: () => number;
  private readonly events: EventEmitter<RaftNodeEvents>;
  private readonly proposals: ProposalTracker;
  private readonly reads: ReadWaiters;
  private readonly leaderWaiters: ReadonlySet<(leaderId: NodeId) => void>;
  private readonly elections: ElectionTrace;
  private applied: number;
  private lastSnapshotIndex: number;
  private lastCommit: number;
  private lastCommitMs: number | undefined;
  /** The hard state as last persisted (at start: as loaded from storage). */
  private persistedHard: HardState;
  private lastTermSeen = -1;

  constructor(o: ReadyHandlerOptions) {
    this.id = o.id;
    this.groupId = o.groupId;
    this.core = o.core;
    this.opts = o.node;
    this.log = o.log;
    this.now = o.now;
    this.events = o.events;
    this.proposals = o.proposals;
    this.reads = o.reads;
    this.leaderWaiters = o.leaderWaiters;
    this.elections = o.elections;
    this.applied = this.core.log.applied;
    this.lastSnapshotIndex = this.opts.storage.snapshot().metadata.index;
    this.lastCommit = this.core.log.committed;
    this.persistedHard = this.core.hardState();
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** When the commit index last moved (undefined before the first commit). */
  get lastCommitAtMs(): number | undefined {
    return this.lastCommitMs;
  }

  async handle(rd: Ready): Promise<void> {
    const prevRole = this.core.role;
    if (rd.softState !== undefined) this.onSoftState(rd);
    if (rd.hardState !== undefined && rd.hardState.term !== this.lastTermSeen) {
      this.lastTermSeen = rd.hardState.term;
      this.events.emit('term-change', { term: rd.hardState.term });
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
    // Committed entries this node held durably before this Ready are applied while the new entries are
    // written: a leader's commit of its previous write then answers its producers now, not after the next
    // write too.
    const heldDurably = this.core.committedHeldDurably(rd);
    // 1. Persist: nothing below may leave this node before the hard state and entries are durable.
    let saving: Promise<void> | undefined;
    if (rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined) {
      saving = Promise.resolve(
        this.opts.storage.save(
          {
            entries: rd.entries,
            ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
            ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
          },
          rd.mustSync,
        ),
      );
      // Awaited below; until then a failure must not count as unhandled.
      saving.catch(() => {});
    }
    const confApplied: Entry[] = [];
    if (heldDurably > 0) await this.applyCommitted(rd.committedEntries, 0, heldDurably, confApplied);
    if (saving !== undefined) {
      await saving;
      if (rd.hardState !== undefined) this.persistedHard = rd.hardState;
    }
    // 2. Send, one batch per peer.
    if (late.length > 0) this.send(late);
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      await this.opts.stateMachine.restore(rd.snapshot.data);
      this.applied = rd.snapshot.metadata.index;
      this.lastSnapshotIndex = rd.snapshot.metadata.index;
      this.proposals.dropUpTo(rd.snapshot.metadata.index);
      snapshotInstalled?.();
    }
    await this.applyCommitted(rd.committedEntries, heldDurably, rd.committedEntries.length, confApplied);
    for (const rs of rd.readStates) this.reads.onReadState(rs.index, rs.context);
    // 4. Advance.
    this.core.advance(rd);
    for (const e of confApplied) {
      this.proposals.settle(e, { ok: true, value: this.core.conf });
      this.events.emit('conf-change', { conf: this.core.conf, index: e.index });
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

  /** Applies committed entries [from, to); membership changes are collected for after advance. */
  private async applyCommitted(
    entries: readonly Entry[],
    from: number,
    to: number,
    confApplied: Entry[],
  ): Promise<void> {
    for (let i = from; i < to; i++) {
      const e = entries[i]!;
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
      this.applied = e.index;
    }
  }

  /** Whether this Ready carries a term or vote not yet persisted. */
  private termOrVoteChanges(rd: Ready): boolean {
    const hs = rd.hardState;
    return hs !== undefined && (hs.term !== this.persistedHard.term || hs.vote !== this.persistedHard.vote);
  }

  private onSoftState(rd: Ready): void {
    const soft = rd.softState!;
    this.events.emit('role-change', { role: soft.role, term: soft.term });
    this.events.emit('leader-change', { leaderId: soft.leaderId, term: soft.term });
    this.log.info(
      { node_id: this.id, group: this.groupId, role: soft.role, leader: soft.leaderId, term: soft.term },
      'raft role or leader changed',
    );
    for (const w of [...this.leaderWaiters]) w(soft.leaderId);
  }

  private afterApply(): void {
    const commit = this.core.log.committed;
    if (commit !== this.lastCommit) {
      this.lastCommit = commit;
      this.lastCommitMs = this.now();
      this.events.emit('commit', { commitIndex: commit });
    }
    this.events.emit('applied', { appliedIndex: this.applied });
    this.reads.onApplied(this.applied);
  }

  private async maybeSnapshot(): Promise<void> {
    const every = this.opts.snapshotIntervalEntries ?? 10_000;
    if (this.applied <= this.lastSnapshotIndex) return;
    if (
      this.applied - this.lastSnapshotIndex < every &&
      this.opts.storage.wantsSnapshot?.(this.applied) !== true
    )
      return;
    const term = this.opts.storage.term(this.applied);
    const confState = this.core.appliedConfState();
    if (typeof term !== 'number' || confState === undefined) return;
    const index = this.applied;
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
      if (ELECTION_MESSAGES.has(m.type)) this.elections.trace('sent', m);
      let list = byPeer.get(m.to);
      if (list === undefined) {
        list = [];
        byPeer.set(m.to, list);
      }
      list.push({ groupId: this.groupId, message: m });
    }
    for (const [to, envs] of byPeer) this.opts.transport.send(to, envs);
  }
}
