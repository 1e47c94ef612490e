import { RaftFollower } from './follower.js';
import { isStopNotice, newMessage } from './messages.js';
import { isJoint } from './quorum.js';
import { type Message, NONE, type NodeId } from './types.js';

/**
 * Quiescence (docs/raft.md, "Quiescence"): an idle, whole group stops heartbeating and its followers stop
 * their election timers, until anything but the quiet exchange wakes it. The inputs a driver calls
 * (quiesce, silentPeer, pingQuietLeader) and the wake on a stepped message; `wake` itself is the leader's
 * (leader.ts), since proposals and reads wake a group too. `RaftCore` adds the other inputs.
 */
export abstract class RaftQuiescence extends RaftFollower {
  abstract peerLost(peer: NodeId): void;

  /**
   * Leader only: goes quiet when the group is idle and whole, so an idle partition costs no heartbeats
   * (CockroachDB's quiescence). Every member must hold and have acknowledged the whole log, which is
   * committed in this term, with nothing else under way (membership change, transfer, read); `isLive`
   * (the host's word that it hears from a peer's process) must hold for each of them. The followers are told
   * with a last heartbeat carrying the commit index; they stop their election timers. The group wakes on any
   * other input (RaftCore.step, the proposal calls, peerLost): whoever the group relies on being silent
   * is the driver's to report (silentPeer). Returns whether it went quiet.
   */
  quiesce(isLive: (id: NodeId) => boolean): boolean {
    if (!this.cfg.quiesce || this.role !== 'leader' || this.quiesced || !this.idleAndWhole(isLive)) {
      return false;
    }
    this.quiesced = true;
    for (const id of this.prs.keys()) {
      if (id === this.id) continue;
      this.send(
        newMessage('heartbeat', this.id, id, { term: this.term, commit: this.log.committed, quiesce: true }),
      );
    }
    return true;
  }

  private idleAndWhole(isLive: (id: NodeId) => boolean): boolean {
    const last = this.log.lastIndex();
    if (
      this.leadTransferee !== NONE ||
      isJoint(this.conf) ||
      this.log.committed !== last ||
      this.log.termOrZero(last) !== this.term ||
      this.pendingConfIndex > this.log.applied ||
      this.pendingReadIndex.length > 0 ||
      this.readOnly.lastPendingContext() !== undefined ||
      this.prs.get(this.id)?.match !== last
    ) {
      return false;
    }
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      // Probing with everything matched is fine (a lost connection leaves a caught-up member probing).
      if (pr.match !== last || pr.state === 'snapshot' || !pr.recentActive || !isLive(id)) return false;
    }
    return true;
  }

  /**
   * A quiet follower's rare word to its leader (the driver calls it every so many ticks): an answer of the
   * quiet exchange, which keeps a live quiet leader asleep, while a host that no longer runs the leader's
   * group answers it with a stop notice (a notice the group sent itself may have been lost).
   */
  pingQuietLeader(): void {
    if (!this.quiesced || this.role !== 'follower' || this.leaderId === NONE) return;
    this.send(newMessage('heartbeat-resp', this.id, this.leaderId, { term: this.term }));
  }

  /**
   * While quiet: the first peer this node relies on that `isLive` says is silent (a leader's members, a
   * follower's leader), NONE when there is none. The driver reports it with peerLost, which wakes the group.
   */
  silentPeer(isLive: (id: NodeId) => boolean): NodeId {
    if (!this.quiesced) return NONE;
    if (this.role !== 'leader') return this.leaderId === NONE || isLive(this.leaderId) ? NONE : this.leaderId;
    for (const id of this.prs.keys()) if (id !== this.id && !isLive(id)) return id;
    return NONE;
  }

  /**
   * Before a message is stepped: a stop notice is taken whole here (true: nothing more to do with it); only
   * the quiesce exchange itself (the leader's quiet heartbeat, its answer in this term) keeps a quiet group
   * asleep, and anything else is activity, or news of it (a restarted member's pre-vote), which wakes it.
   */
  protected quietStep(m: Message): boolean {
    if (isStopNotice(m)) {
      this.memberStopped(m.from);
      return true;
    }
    // A heartbeat answer that reports a lost log (follower.ts) is news, not the quiet exchange.
    const quietExchange =
      (m.type === 'heartbeat' && m.quiesce === true) ||
      (m.type === 'heartbeat-resp' && m.term === this.term && !m.reject);
    if (this.quiesced && !quietExchange) this.wake();
    return false;
  }

  /**
   * A member's group stopped while its process lives on (messages.ts stopNotice). A leader no longer counts
   * it as recently active (so it neither goes quiet again relying on it nor lists it in sync for long); a
   * follower of it acts as on a lost connection.
   */
  private memberStopped(peer: NodeId): void {
    if (this.role !== 'leader') {
      this.peerLost(peer);
      return;
    }
    const pr = peer === this.id ? undefined : this.prs.get(peer);
    if (pr === undefined) return;
    pr.recentActive = false;
    this.peerLost(peer);
  }
}
