import { invariant } from '../../errors/index.js';
import { newMessage } from './messages.js';
import type { Progress } from './progress.js';
import {
  allVoters,
  applyConfEntry,
  decodeConfEntry,
  isJoint,
  jointCommittedIndex,
  jointIsQuorum,
} from './quorum.js';
import type { ProposeResult } from './raft.js';
import { RaftState } from './raft-state.js';
import type { ConfState, Entry, EntryType, Message, NodeId } from './types.js';
import { NONE } from './types.js';

/**
 * The leader's half of Raft: appending proposals, replicating with flow control, committing by quorum,
 * heartbeats and check-quorum, read-index, and membership changes (which also run on followers as the
 * change entries are applied).
 */
export abstract class RaftLeader extends RaftState {
  protected becomeLeader(): void {
    invariant(this.role === 'candidate', 'only a candidate becomes leader');
    this.reset(this.term);
    this.role = 'leader';
    this.leaderId = this.id;
    for (const pr of this.prs.values()) pr.recentActive = true;
    // §5.4.2: an empty entry in the new term lets earlier entries commit. No conf change is accepted
    // until it is applied: a leader must commit in its own term before changing membership (the fix for
    // single-server changes, Ongaro's raft-dev post of 2015).
    this.pendingConfIndex = this.appendEntries([{ type: 'normal', data: new Uint8Array(0) }]);
  }

  protected tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const pr of this.prs.values()) {
      // A snapshot that was lost or failed is retried after an election timeout.
      if (pr.state === 'snapshot' && ++pr.snapshotElapsedTicks >= this.cfg.electionTimeoutTicks)
        pr.becomeProbe();
    }
    if (this.electionElapsed >= this.cfg.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, NONE);
        return;
      }
      this.leadTransferee = NONE;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(undefined);
    }
  }

  /**
   * Leaves quiescence (RaftCore.quiesce): timers start afresh, and a leader heartbeats at once so that
   * followers (and a restarted member whose pre-vote woke it) hear from it without waiting for a tick. What
   * a leader knew of its members' activity is from before it went quiet: each must answer again before the
   * group goes quiet again (a member that can reach it but no longer hears it would otherwise wake it with
   * pre-votes and be counted active and in sync each time). The next check-quorum round is a whole election
   * timeout away, time enough for live members to answer.
   */
  protected wake(): void {
    this.quiesced = false;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    if (this.role !== 'leader') return;
    for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
    this.bcastHeartbeat(undefined);
  }

  protected quorumActive(): boolean {
    const active = new Set<NodeId>([this.id]);
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      if (pr.recentActive && !pr.isLearner) active.add(id);
      pr.recentActive = false;
    }
    return jointIsQuorum(this.conf, active);
  }

  protected stepLeader(m: Message): void {
    switch (m.type) {
      case 'prop':
        // Forwarded membership changes are refused: they must go through proposeConfChange's checks.
        if (this.leadTransferee === NONE && m.entries.every((e) => e.type === 'normal')) {
          this.proposeEntries(m.entries.map((e) => ({ type: e.type, data: e.data })));
        }
        return;
      case 'read-index':
        this.leaderReadIndex(m);
        return;
      case 'app-resp':
        this.handleAppendResponse(m);
        return;
      case 'heartbeat-resp':
        this.handleHeartbeatResponse(m);
        return;
      default:
        return;
    }
  }

  protected proposeEntries(items: readonly { type: EntryType; data: Uint8Array }[]): ProposeResult {
    if (this.role !== 'leader') {
      if (
        this.role === 'follower' &&
        this.leaderId !== NONE &&
        this.cfg.proposalForwarding &&
        items.length > 0
      ) {
        const entries = items.map((it) => ({ term: 0, index: 0, type: it.type, data: it.data }));
        this.send(newMessage('prop', this.id, this.leaderId, { entries }));
        return { ok: true, forwarded: true, leaderId: this.leaderId };
      }
      return { ok: false, reason: 'not-leader', leaderId: this.leaderId };
    }
    if (this.leadTransferee !== NONE) return { ok: false, reason: 'transfer-in-progress', leaderId: this.id };
    if (!this.prs.has(this.id)) return { ok: false, reason: 'not-leader', leaderId: NONE };
    if (items.length === 0) return { ok: true, term: this.term, firstIndex: 0, lastIndex: 0 };
    if (this.quiesced) this.wake();
    const first = this.log.lastIndex() + 1;
    const last = this.appendEntries(items);
    if (items.some((it) => it.type === 'conf-change')) this.pendingConfIndex = last;
    this.bcastAppend();
    return { ok: true, term: this.term, firstIndex: first, lastIndex: last };
  }

  protected appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): number {
    let index = this.log.lastIndex();
    const ents: Entry[] = items.map((it) => ({
      term: this.term,
      index: ++index,
      type: it.type,
      data: it.data,
    }));
    return this.log.append(ents);
  }

  protected bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id, true);
  }

  /** Sends the next append (or a snapshot) to `to`; returns false when flow control holds it back. */
  protected sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const last = this.log.lastIndex();
    const ents = pr.next <= last ? this.log.slice(pr.next, last + 1, this.cfg.maxSizePerMsgBytes) : [];
    if (prevTerm === 'compacted' || ents === 'compacted') return this.sendSnapshot(to, pr);
    // The entries exist but are not in memory: the driver loads them and the next heartbeat retries.
    if (prevTerm === 'unavailable' || ents === 'unavailable') return false;
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(
      newMessage('app', this.id, to, {
        term: this.term,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.log.committed,
      }),
    );
    const lastSent = ents[ents.length - 1];
    if (lastSent !== undefined) {
      let bytes = 0;
      for (const e of ents) bytes += e.data.byteLength;
      pr.sentEntries(lastSent.index, bytes);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  protected sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snap = this.log.catchUpSnapshot();
    invariant(snap.metadata.index > 0, 'need a snapshot for a follower behind the compacted log');
    pr.becomeSnapshot(snap.metadata.index);
    this.send(newMessage('snap', this.id, to, { term: this.term, snapshot: snap }));
    return true;
  }

  protected handleAppendResponse(m: Message): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      let hint = m.rejectHint;
      if (m.logTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    // A probe at the acknowledged index that succeeds confirms the follower still holds it (as etcd): only
    // then does the leader stream to it again.
    const confirmed = pr.state === 'probe' && m.index === pr.match;
    if (!pr.maybeUpdate(m.index) && !confirmed) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

    if (this.maybeCommit()) this.bcastAppend();
    else if (wasPaused) this.sendAppend(m.from, true);
    // Fill the pipeline while flow control allows.
    while (this.sendAppend(m.from, false)) {
      /* keep sending */
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send(newMessage('timeout-now', this.id, m.from, { term: this.term }));
    }
  }

  protected handleHeartbeatResponse(m: Message): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) pr.lostLog(m.rejectHint);
    pr.probeSent = false;
    // Appends may have been lost: free a slot so the follower can tell us where it really is.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
    // In probe state the follower's log is unconfirmed even when `match` is the last index (after its
    // connection was lost it may have restarted on an empty disk): probe it, as etcd does.
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.sendAppend(m.from, true);
    if (m.context === undefined || m.context.byteLength === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined || !jointIsQuorum(this.conf, acks)) return;
    for (const rs of this.readOnly.advance(m.context)) this.answerRead(rs.from, rs.index, rs.context);
  }

  protected maybeCommit(): boolean {
    const idx = jointCommittedIndex(this.conf, (id) => this.prs.get(id)?.match ?? 0);
    const before = this.log.committed;
    if (!this.log.maybeCommit(Math.min(idx, this.log.lastIndex()), this.term)) return false;
    if (this.log.termOrZero(before) !== this.term && this.pendingReadIndex.length > 0) {
      const waiting = this.pendingReadIndex;
      this.pendingReadIndex = [];
      for (const r of waiting) this.leaderReadIndex(r);
    }
    return true;
  }

  protected bcastHeartbeat(context: Uint8Array | undefined): void {
    const ctx = context ?? this.readOnly.lastPendingContext();
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      this.send(
        newMessage('heartbeat', this.id, id, {
          term: this.term,
          commit: Math.min(pr.match, this.log.committed),
          ...(ctx === undefined ? {} : { context: ctx }),
        }),
      );
    }
  }

  protected leaderReadIndex(m: Message): void {
    // The read's heartbeat wakes the followers, so the leader must tick again too.
    if (this.quiesced) this.wake();
    const ctx = m.context ?? new Uint8Array(0);
    if (!isJoint(this.conf) && this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.answerRead(m.from, this.log.committed, ctx);
      return;
    }
    // Until this leader commits in its own term its commit index may be behind the true one.
    if (this.log.termOrZero(this.log.committed) !== this.term) {
      this.pendingReadIndex.push(m);
      return;
    }
    this.readOnly.addRequest(this.log.committed, m.from, ctx);
    this.readOnly.recvAck(this.id, ctx);
    this.bcastHeartbeat(ctx);
  }

  protected answerRead(from: NodeId, index: number, context: Uint8Array): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send(newMessage('read-index-resp', this.id, from, { term: this.term, index, context }));
  }

  protected replayCommittedConfChanges(): void {
    if (this.log.committed <= this.configIndex) return;
    const ents = this.log.slice(this.configIndex + 1, this.log.committed + 1, Infinity);
    invariant(typeof ents !== 'string', 'committed entries must be readable at start');
    for (const e of ents) if (e.type === 'conf-change') this.applyConfEntry(e);
  }

  protected applyConfEntry(e: Entry): void {
    this.configIndex = e.index;
    const decoded = decodeConfEntry(e.data);
    if (decoded === undefined) return;
    const next = applyConfEntry(this.conf, decoded);
    // An invalid change is a no-op on every node alike: they all evaluate the same log.
    if (typeof next === 'string') return;
    this.switchToConfig(next);
  }

  protected switchToConfig(cs: ConfState): void {
    this.conf = cs;
    const next = this.log.lastIndex() + 1;
    const voters = allVoters(cs);
    const members = new Set([...voters, ...cs.learners]);
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    for (const id of members) {
      const learner = !voters.includes(id);
      const pr = this.prs.get(id);
      if (pr === undefined) {
        const np = this.newProgress(next, learner);
        if (id === this.id) np.match = this.durableLastIndex();
        this.prs.set(id, np);
      } else pr.isLearner = learner;
    }
    if (this.role !== 'leader') return;
    // In a joint configuration an outgoing leader keeps leading until the joint configuration is left.
    if (!voters.includes(this.id)) {
      // Removed (or demoted) leader: hand over to the most caught-up voter so the group is not idle for
      // an election timeout, then step down.
      const last = this.log.lastIndex();
      const heir = cs.voters.find((id) => this.prs.get(id)?.match === last);
      if (heir !== undefined) this.send(newMessage('timeout-now', this.id, heir, { term: this.term }));
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.leadTransferee !== NONE && !cs.voters.includes(this.leadTransferee)) this.leadTransferee = NONE;
    if (this.maybeCommit()) this.bcastAppend();
    else this.bcastAppend();
  }
}
