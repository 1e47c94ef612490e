import { invariant } from '../../errors/index.js';
import type { RaftCoreConfig } from './config.js';
import { isTransferCampaign, newMessage } from './messages.js';
import { RaftQuiescence } from './quiescence.js';
import {
  applyConfChange,
  encodeConfChange,
  encodeEnterJoint,
  encodeLeaveJoint,
  enterJoint,
  isJoint,
} from './quorum.js';
import { randomInt } from './rand.js';
import {
  type ConfChange,
  type ConfState,
  type HardState,
  type Message,
  NONE,
  type NodeId,
  type Ready,
  type Role,
  type SoftState,
} from './types.js';

export type ProposeResult =
  | { readonly ok: true; readonly term: number; readonly firstIndex: number; readonly lastIndex: number }
  | { readonly ok: true; readonly forwarded: true; readonly leaderId: NodeId }
  | {
      readonly ok: false;
      readonly reason:
        | 'not-leader'
        | 'transfer-in-progress'
        | 'config-change-pending'
        | 'invalid-config-change';
      readonly leaderId: NodeId;
      readonly detail?: string;
    };

/** A follower whose leader's connection was lost campaigns within this many ticks (at least one). */
export const LOST_LEADER_CAMPAIGN_TICKS_MAX = 3;

/** A leader that stepped down (stepDown) does not campaign for this many election timeouts. */
export const STEP_DOWN_HOLDOFF_ELECTION_TIMEOUTS = 3;

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leaderId: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  /** The last index this node's own storage holds durably (the leader's own vote towards a commit). */
  readonly durableIndex: number;
  readonly firstIndex: number;
  readonly conf: ConfState;
  readonly leadTransferee: NodeId;
  /** The highest commit index a leader told this node in this life; a leader's own commit index. */
  readonly leaderCommit: number;
}

/** What the leader knows of one member's replication (empty on followers). */
export interface FollowerProgress {
  readonly id: NodeId;
  /** Highest index known to be in its log. */
  readonly match: number;
  readonly next: number;
  readonly isLearner: boolean;
  /** Heard from since the last check-quorum round (about one election timeout). */
  readonly recentActive: boolean;
}

/**
 * One Raft group's state machine. Synchronous and deterministic: inputs are `tick`, `step` and the
 * propose/read/transfer calls; outputs are collected in a Ready that the driver persists, sends and
 * applies in that order before calling `advance`. It owns no timer, socket or file.
 */
export class RaftCore extends RaftQuiescence {
  private prevSoft: SoftState;
  private prevHard: HardState;
  private readyOutstanding = false;

  constructor(config: RaftCoreConfig) {
    super(config);
    // Committed membership changes are known to be agreed: fold them in now so this node never
    // campaigns or counts votes under a stale configuration.
    this.replayCommittedConfChanges();
    if (this.cfg.applied > 0) this.log.appliedTo(Math.min(this.cfg.applied, this.log.committed));
    this.resetProgress();
    this.becomeFollower(this.term, NONE);
    this.prevSoft = this.softState();
    this.prevHard = this.hardState();
  }

  tick(): void {
    if (this.quiesced) return;
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** Starts an election now (tests, or an operator forcing one); a learner or removed node ignores it. */
  campaign(): void {
    this.hup(false);
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (this.quietStep(m)) return;
    if (m.term === 0 && (m.type === 'prop' || m.type === 'read-index')) {
      // Local-origin messages forwarded by a follower carry no term.
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        // A node that heard from a leader recently ignores campaigns: it protects a working leader
        // from a partitioned node rejoining with a higher term (§6 of the dissertation, check-quorum).
        // A follower's lease is one tick shorter than the shortest election timeout: followers' tick
        // timers are not in phase, and a lease of exactly one timeout lets the first follower to time
        // out find the other still in lease, which costs a whole extra timeout before a new leader.
        const inLease = this.cfg.checkQuorum && this.leaderInLease() !== NONE;
        if (inLease && !isTransferCampaign(m)) return;
      }
      if (m.type === 'pre-vote' || (m.type === 'pre-vote-resp' && !m.reject)) {
        // Pre-votes never change terms; a granted pre-vote carries the term the candidate would use.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
        // Tell a stale leader our term so it steps down instead of staying stuck behind us.
        this.send(newMessage('app-resp', this.id, m.from, { term: this.term }));
      } else if (m.type === 'pre-vote') {
        this.send(newMessage('pre-vote-resp', this.id, m.from, { term: this.term, reject: true }));
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  propose(data: Uint8Array | readonly Uint8Array[]): ProposeResult {
    const items = data instanceof Uint8Array ? [data] : data;
    return this.proposeEntries(items.map((d) => ({ type: 'normal' as const, data: d })));
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderId: this.leaderId };
    if (this.pendingConfIndex > this.log.applied) {
      return { ok: false, reason: 'config-change-pending', leaderId: this.id };
    }
    const next = applyConfChange(this.conf, cc);
    if (typeof next === 'string') {
      return { ok: false, reason: 'invalid-config-change', leaderId: this.id, detail: next };
    }
    return this.proposeEntries([{ type: 'conf-change', data: encodeConfChange(cc) }]);
  }

  /**
   * Several membership changes at once through a joint configuration (Raft §6): the entry moves the
   * group to C(old,new); once it is applied the leader proposes leaving it automatically.
   */
  proposeJointConfChange(changes: readonly ConfChange[]): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderId: this.leaderId };
    if (this.pendingConfIndex > this.log.applied || isJoint(this.conf)) {
      return { ok: false, reason: 'config-change-pending', leaderId: this.id };
    }
    const next = enterJoint(this.conf, changes);
    if (typeof next === 'string') {
      return { ok: false, reason: 'invalid-config-change', leaderId: this.id, detail: next };
    }
    return this.proposeEntries([{ type: 'conf-change', data: encodeEnterJoint(changes) }]);
  }

  transferLeadership(to: NodeId): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderId: this.leaderId };
    if (to === this.id || !this.conf.voters.includes(to)) {
      return {
        ok: false,
        reason: 'invalid-config-change',
        leaderId: this.id,
        detail: `${to} is not a peer voter`,
      };
    }
    if (this.leadTransferee === to) return { ok: true, term: this.term, firstIndex: 0, lastIndex: 0 };
    if (this.quiesced) this.wake();
    // The transfer must finish within one election timeout or it is abandoned (tickHeartbeat).
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex())
      this.send(newMessage('timeout-now', this.id, to, { term: this.term }));
    else this.sendAppend(to, true);
    return { ok: true, term: this.term, firstIndex: 0, lastIndex: 0 };
  }

  /**
   * The transport lost its connection to `peer` (closed from the other side, or reset). A follower whose
   * leader that is stops counting on it: it drops the leader's lease at once, so it grants another
   * follower's (pre-)vote, and campaigns within LOST_LEADER_CAMPAIGN_TICKS_MAX ticks instead of a whole
   * election timeout. A process that died closes its connections at once; a paused or cut-off one does
   * not, and the election timeout still covers those. A leader that is in fact alive loses nothing: its next
   * heartbeat makes this node its follower again (before or after a pre-vote that its other followers,
   * still in its lease, refuse). Randomized, so two followers that lost the same leader rarely split a vote.
   *
   * A leader takes the appends it pipelined to `peer` as lost with the connection (etcd's ReportUnreachable):
   * it probes again from what the follower acknowledged, at the next heartbeat answer, instead of sending
   * past the gap until the follower rejects (one more round trip on a link that is already failing).
   */
  peerLost(peer: NodeId): void {
    if (this.role === 'leader') {
      const pr = peer === this.id ? undefined : this.prs.get(peer);
      if (pr !== undefined && this.quiesced) this.wake();
      if (pr?.state === 'replicate') pr.becomeProbe();
      return;
    }
    if (peer === NONE || this.role !== 'follower' || this.leaderId !== peer) return;
    if (this.quiesced) this.wake();
    this.leaderId = NONE;
    const soon = randomInt(this.cfg.random, 1, LOST_LEADER_CAMPAIGN_TICKS_MAX + 1);
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
  }

  /**
   * Gives up leadership without naming a successor, for a leader that cannot get its entries committed
   * although its own copy is durable (its links to the followers fail, their answers do not come back).
   * It becomes a follower in the same term and stays out of elections for
   * STEP_DOWN_HOLDOFF_ELECTION_TIMEOUTS election timeouts: its heartbeats stop, the followers' leases run
   * out and they elect one of themselves over the links that work. Without the holdoff it would win again
   * (its log is the longest). It still votes, and campaigns after the holdoff if nobody else has led; a
   * transfer to it (timeout-now) or `campaign()` still starts an election at once. A leader transferring
   * its leadership already hands over; it does not step down. Safety does not depend on any of this: a
   * leader may always stop leading. Returns whether it stepped down.
   */
  stepDown(): boolean {
    if (this.role !== 'leader' || this.leadTransferee !== NONE) return false;
    this.becomeFollower(this.term, NONE);
    this.campaignHoldoffTicks = STEP_DOWN_HOLDOFF_ELECTION_TIMEOUTS * this.cfg.electionTimeoutTicks;
    return true;
  }

  /**
   * The leader this node heard from within its lease, one tick shorter than the shortest election timeout
   * (see step); itself while it leads under check-quorum, which steps a leader that lost its majority down
   * within an election timeout. NONE when no leader is known to be current. Counted in ticks: a node whose
   * ticks stopped (its process paused) still believes its lease until ticking resumes.
   */
  leaderInLease(): NodeId {
    if (this.leaderId === NONE) return NONE;
    if (this.role === 'leader') return this.cfg.checkQuorum ? this.id : NONE;
    return this.electionElapsed < this.cfg.electionTimeoutTicks - 1 ? this.leaderId : NONE;
  }

  /** Requests a linearizable read point; the answer arrives as a ReadState carrying `context`. */
  readIndex(context: Uint8Array): ProposeResult {
    const m = newMessage('read-index', this.id, this.id, { context });
    if (this.role === 'leader') {
      this.leaderReadIndex(m);
      return { ok: true, term: this.term, firstIndex: 0, lastIndex: 0 };
    }
    if (this.leaderId === NONE || this.role !== 'follower') {
      return { ok: false, reason: 'not-leader', leaderId: this.leaderId };
    }
    this.send(newMessage('read-index', this.id, this.leaderId, { context }));
    return { ok: true, forwarded: true, leaderId: this.leaderId };
  }

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    if (this.softStateChanged()) return true;
    const hs = this.hardState();
    if (
      hs.term !== this.prevHard.term ||
      hs.vote !== this.prevHard.vote ||
      hs.commit !== this.prevHard.commit
    ) {
      return true;
    }
    return (
      this.msgs.length > 0 ||
      this.log.unstableEntries().length > 0 ||
      this.log.hasPendingSnapshot() ||
      this.log.hasNextCommittedEntries() ||
      this.readStates.length > 0
    );
  }

  private softState(): SoftState {
    return { role: this.role, leaderId: this.leaderId, term: this.term };
  }

  /** Whether the role or leader changed since the last Ready, or this node leads again in a new term. */
  private softStateChanged(): boolean {
    const prev = this.prevSoft;
    return (
      this.role !== prev.role ||
      this.leaderId !== prev.leaderId ||
      (this.role === 'leader' && this.term !== prev.term)
    );
  }

  /** Takes the pending work; the caller must `advance(ready)` before asking for the next one. */
  ready(): Ready | null {
    if (!this.hasReady()) return null;
    const hs = this.hardState();
    const hardChanged =
      hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote || hs.commit !== this.prevHard.commit;
    const softChanged = this.softStateChanged();
    const soft = this.softState();
    const entries = [...this.log.unstableEntries()];
    const snapshot = this.log.unstable.snapshot;
    const rd: Ready = {
      ...(hardChanged ? { hardState: hs } : {}),
      ...(softChanged ? { softState: soft } : {}),
      ...(snapshot === undefined ? {} : { snapshot }),
      entries,
      messages: this.msgs,
      committedEntries: this.log.nextCommittedEntries(),
      readStates: this.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hs.term !== this.prevHard.term ||
        hs.vote !== this.prevHard.vote,
    };
    this.msgs = [];
    this.readStates = [];
    this.prevHard = hs;
    this.prevSoft = soft;
    this.readyOutstanding = true;
    return rd;
  }

  /**
   * How many of `rd`'s committed entries this node held durably before `rd` (below the unstable offset,
   * which entries overwriting a suffix move down): a driver may apply those while it writes `rd`'s entries.
   * Call before advance(rd).
   */
  committedHeldDurably(rd: Ready): number {
    if (rd.snapshot !== undefined) return 0;
    const offset = this.log.unstable.offset;
    const committed = rd.committedEntries;
    let n = 0;
    while (n < committed.length && committed[n]!.index < offset) n++;
    return n;
  }

  advance(rd: Ready): void {
    invariant(this.readyOutstanding, 'advance without an outstanding ready');
    this.readyOutstanding = false;
    if (rd.snapshot !== undefined) {
      this.log.stableSnapTo(rd.snapshot.metadata.index);
      // The driver restored the state machine from it.
      if (this.log.applied < rd.snapshot.metadata.index) this.log.applied = rd.snapshot.metadata.index;
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.log.stableTo(last.index, last.term);
    for (const e of rd.committedEntries) {
      if (e.type === 'conf-change' && e.index > this.configIndex) this.applyConfEntry(e);
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
    if (this.role === 'leader') {
      // The leader counts itself towards a quorum only for entries it has made durable.
      const self = this.prs.get(this.id);
      if (self?.maybeUpdate(this.durableLastIndex()) && this.maybeCommit()) {
        this.bcastAppend();
      }
      // Leave a joint configuration as soon as entering it (and everything before) is applied; a new
      // leader that inherits a joint configuration does the same once its first entry is applied.
      if (isJoint(this.conf) && this.log.applied >= this.pendingConfIndex && this.leadTransferee === NONE) {
        this.proposeEntries([{ type: 'conf-change', data: encodeLeaveJoint() }]);
      }
    }
  }

  /**
   * The membership as of the applied index, for a snapshot taken now. Undefined while a snapshot received
   * from the leader waits in a Ready: the membership is then already the snapshot's, ahead of `applied`.
   */
  appliedConfState(): ConfState | undefined {
    return this.log.hasPendingSnapshot() ? undefined : this.conf;
  }

  /**
   * Leader only (0 otherwise): how many voters, itself included, hold `index` as far as the leader knows
   * (their acknowledged match; its own durable log). Allocates nothing: an acks=all write under a
   * min_insync_replicas above the majority asks after every follower acknowledgement.
   */
  votersHolding(index: number): number {
    if (this.role !== 'leader') return 0;
    let holding = 0;
    for (const pr of this.prs.values()) if (!pr.isLearner && pr.match >= index) holding++;
    return holding;
  }

  /** The leader's view of every member other than itself; empty unless leader. */
  progress(): FollowerProgress[] {
    if (this.role !== 'leader') return [];
    const out: FollowerProgress[] = [];
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      out.push({
        id,
        match: pr.match,
        next: pr.next,
        isLearner: pr.isLearner,
        recentActive: pr.recentActive,
      });
    }
    return out;
  }

  status(): RaftStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      durableIndex: this.durableLastIndex(),
      firstIndex: this.log.firstIndex(),
      conf: this.conf,
      leadTransferee: this.leadTransferee,
      leaderCommit: this.role === 'leader' ? this.log.committed : this.leaderCommitSeen,
    };
  }
}
