import { RaftLeader } from './leader.js';
import { CAMPAIGN_TRANSFER, newMessage } from './messages.js';
import { allVoters, jointVoteResult } from './quorum.js';
import { type Message, NONE } from './types.js';

/**
 * Elections: pre-vote and real campaigns, vote granting (§5.2, §5.4.1) and the follower's election timer.
 * `RaftFollower` adds the follower side, `RaftCore` the public inputs.
 */
export abstract class RaftCandidate extends RaftLeader {
  protected abstract stepFollower(m: Message): void;

  protected hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const ents = this.log.slice(
      Math.max(this.log.applied + 1, this.log.firstIndex()),
      this.log.committed + 1,
      Infinity,
    );
    if (typeof ents === 'string') return true;
    return ents.some((e) => e.type === 'conf-change');
  }

  protected hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // Campaigning before applying a committed membership change could use the wrong voter set.
    if (this.hasUnappliedConfChanges()) return;
    if (this.cfg.preVote && !transfer) this.runElection('pre', false);
    else this.runElection('real', transfer);
  }

  protected runElection(kind: 'pre' | 'real', transfer: boolean): void {
    let voteTerm: number;
    if (kind === 'pre') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (jointVoteResult(this.conf, this.votes) === 'won') {
      if (kind === 'pre') this.runElection('real', transfer);
      else this.becomeLeader();
      return;
    }
    const type = kind === 'pre' ? 'pre-vote' : 'vote';
    for (const id of allVoters(this.conf)) {
      if (id === this.id) continue;
      this.send(
        newMessage(type, this.id, id, {
          term: voteTerm,
          index: this.log.lastIndex(),
          logTerm: this.log.lastTerm(),
          ...(transfer ? { context: CAMPAIGN_TRANSFER } : {}),
        }),
      );
    }
  }

  protected handleVoteRequest(m: Message): void {
    const isPre = m.type === 'pre-vote';
    // Two nodes that time out in the same tick would both pass pre-vote and then split the real vote,
    // costing another election timeout. Pre-votes carry no safety weight, so break the tie by id: a
    // pre-candidate that has just started (within a tick) does not back a rival with a higher id whose
    // log is no better than its own. Outside that window, or against a better log, it votes as usual:
    // a pre-candidate stuck waiting for answers must not block a rival that can win.
    const rivalPreCandidate =
      isPre &&
      this.role === 'pre-candidate' &&
      this.electionElapsed <= 1 &&
      m.term === this.term + 1 &&
      m.from > this.id &&
      !(
        m.logTerm > this.log.lastTerm() ||
        (m.logTerm === this.log.lastTerm() && m.index > this.log.lastIndex())
      );
    const canVote =
      !rivalPreCandidate &&
      (this.vote === m.from ||
        (this.vote === NONE && this.leaderId === NONE) ||
        (isPre && m.term > this.term));
    const respType = isPre ? 'pre-vote-resp' : 'vote-resp';
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // A granted pre-vote answers with the candidate's future term so it is not mistaken for stale.
      this.send(newMessage(respType, this.id, m.from, { term: m.term }));
      if (!isPre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(newMessage(respType, this.id, m.from, { term: this.term, reject: true }));
    }
  }

  protected tickElection(): void {
    this.electionElapsed++;
    if (this.campaignHoldoffTicks > 0) {
      this.campaignHoldoffTicks--;
      return;
    }
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  protected stepCandidate(m: Message): void {
    const myResp = this.role === 'pre-candidate' ? 'pre-vote-resp' : 'vote-resp';
    switch (m.type) {
      case 'app':
      case 'heartbeat':
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'pre-vote-resp':
      case 'vote-resp': {
        if (m.type !== myResp) return;
        this.votes.set(m.from, !m.reject);
        const result = jointVoteResult(this.conf, this.votes);
        if (result === 'won') {
          if (this.role === 'pre-candidate') this.runElection('real', false);
          else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === 'lost') {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }
}
