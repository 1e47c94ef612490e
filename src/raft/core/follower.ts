import { RaftCandidate } from './candidate.js';
import { newMessage } from './messages.js';
import { type Message, NONE } from './types.js';

/**
 * The follower side: appends and snapshots from the leader (§5.3, §7), heartbeats, and what a follower
 * forwards to its leader (proposals, read requests). `RaftCore` adds the public inputs and the Ready.
 */
export abstract class RaftFollower extends RaftCandidate {
  protected stepFollower(m: Message): void {
    switch (m.type) {
      case 'prop':
        if (this.leaderId !== NONE && this.cfg.proposalForwarding) {
          this.send({ ...m, from: this.id, to: this.leaderId, term: 0 });
        }
        return;
      case 'app':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.leaderCommitSeen = Math.max(this.leaderCommitSeen, m.commit);
        this.handleAppend(m);
        return;
      case 'heartbeat': {
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.leaderCommitSeen = Math.max(this.leaderCommitSeen, m.commit);
        const last = this.log.lastIndex();
        this.log.commitTo(Math.min(m.commit, last));
        // The leader holds nothing this node lacks and goes quiet: so does this node's election timer.
        if (m.quiesce === true && this.cfg.quiesce && m.commit <= last) this.quiesced = true;
        // A heartbeat's commit is capped by what this node acknowledged in the leader's term, which a
        // follower never drops: a log ending below it lost acknowledged entries (this node came back under
        // its id on an empty or rolled-back disk). The answer says so and where the log ends, so that the
        // leader replicates to it again (etcd stops the process here instead). Leaders before this change
        // ignore both fields on a heartbeat answer.
        const lost = m.commit > last;
        this.send(
          newMessage('heartbeat-resp', this.id, m.from, {
            term: this.term,
            ...(lost ? { reject: true, rejectHint: last } : {}),
            ...(m.context === undefined ? {} : { context: m.context }),
          }),
        );
        return;
      }
      case 'snap':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.leaderCommitSeen = Math.max(this.leaderCommitSeen, m.snapshot?.metadata.index ?? 0);
        this.handleSnapshot(m);
        return;
      case 'timeout-now':
        this.hup(true);
        return;
      case 'read-index':
        if (this.leaderId !== NONE) this.send({ ...m, from: this.id, to: this.leaderId, term: 0 });
        return;
      case 'read-index-resp':
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array(0) });
        return;
      default:
        return;
    }
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(newMessage('app-resp', this.id, m.from, { term: this.term, index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(newMessage('app-resp', this.id, m.from, { term: this.term, index: lastNew }));
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(
      newMessage('app-resp', this.id, m.from, {
        term: this.term,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    );
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (snap === undefined) return;
    const { index, term, confState } = snap.metadata;
    if (index <= this.log.committed) {
      this.send(newMessage('app-resp', this.id, m.from, { term: this.term, index: this.log.committed }));
      return;
    }
    if (this.log.matchTerm(index, term)) {
      // We already have the snapshot's last entry: just move the commit index. Answer the commit index, not
      // the last index (as etcd): entries past the snapshot's may be a stale tail the leader does not share,
      // and the leader takes the answer as how far this log matches its own.
      this.log.commitTo(index);
      this.send(newMessage('app-resp', this.id, m.from, { term: this.term, index: this.log.committed }));
      return;
    }
    this.log.restore(snap);
    this.conf = confState;
    this.configIndex = index;
    this.resetProgress();
    this.send(newMessage('app-resp', this.id, m.from, { term: this.term, index: this.log.lastIndex() }));
  }
}
