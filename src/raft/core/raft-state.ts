import { invariant } from '../../errors/index.js';
import { type RaftCoreConfig, type ResolvedConfig, resolveConfig } from './config.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { allVoters } from './quorum.js';
import { randomInt } from './rand.js';
import { ReadOnly } from './read-only.js';
import {
  type ConfState,
  type HardState,
  type Message,
  NONE,
  type NodeId,
  type ReadState,
  type Role,
} from './types.js';

/**
 * The state every Raft role shares (terms, votes, the log, per-follower progress) and the role
 * transitions. `RaftLeader` adds replication and membership, `RaftCore` the inputs and the Ready cycle.
 */
export abstract class RaftState {
  readonly id: NodeId;
  readonly cfg: ResolvedConfig;
  readonly log: RaftLog;
  term = 0;
  vote: NodeId = NONE;
  leaderId: NodeId = NONE;
  /**
   * The highest commit index a leader has told this node in this life (from appends, heartbeats and
   * snapshots). How far a node that restarted, or came back on an empty disk, must apply to have caught up.
   */
  leaderCommitSeen = 0;
  role: Role = 'follower';
  conf: ConfState;
  /** Index of the last conf-change entry folded into `conf` (replays after restart are skipped). */
  protected configIndex: number;
  readonly prs = new Map<NodeId, Progress>();
  protected readonly votes = new Map<NodeId, boolean>();
  protected msgs: Message[] = [];
  protected electionElapsed = 0;
  protected heartbeatElapsed = 0;
  protected randomizedElectionTimeout = 0;
  /** Ticks left during which the election timer does not start a campaign (after stepDown). */
  protected campaignHoldoffTicks = 0;
  leadTransferee: NodeId = NONE;
  /**
   * An idle group gone quiet (RaftCore.quiesce): ticks do nothing (no heartbeats, no election timer) until
   * an input other than the quiesce exchange itself wakes it. Any role change or new term wakes it too.
   */
  quiesced = false;
  /** A leader refuses a new conf change until the entry at this index is applied. */
  protected pendingConfIndex = 0;
  protected readonly readOnly = new ReadOnly();
  protected readStates: ReadState[] = [];
  /** Read requests that arrived before this leader committed an entry in its term. */
  protected pendingReadIndex: Message[] = [];

  /** Loads the durable state; the concrete core finishes start-up (membership replay, role). */
  constructor(config: RaftCoreConfig) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    this.log = new RaftLog(this.cfg.storage, this.cfg.maxCommittedSizePerReadyBytes);
    const { hardState, confState } = this.cfg.storage.initialState();
    this.conf = confState;
    this.configIndex = this.log.applied;
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      invariant(
        hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(),
        () =>
          `hard state commit ${hardState.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
      this.log.commitTo(hardState.commit);
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  protected reset(term: number): void {
    if (term !== this.term) {
      invariant(term > this.term, () => `term must never decrease (${this.term} -> ${term})`);
      this.term = term;
      this.vote = NONE;
    }
    this.leaderId = NONE;
    this.quiesced = false;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    const et = this.cfg.electionTimeoutTicks;
    this.randomizedElectionTimeout = randomInt(this.cfg.random, et, 2 * et);
    this.leadTransferee = NONE;
    this.votes.clear();
    this.resetProgress();
    this.pendingConfIndex = 0;
    this.readOnly.reset();
    this.pendingReadIndex = [];
  }

  protected resetProgress(): void {
    this.prs.clear();
    const next = this.log.lastIndex() + 1;
    for (const id of allVoters(this.conf)) this.prs.set(id, this.newProgress(next, false));
    for (const id of this.conf.learners) this.prs.set(id, this.newProgress(next, true));
    const self = this.prs.get(this.id);
    if (self !== undefined) self.match = this.durableLastIndex();
  }

  protected newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, isLearner, this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
  }

  protected durableLastIndex(): number {
    return this.log.hasPendingSnapshot() ? 0 : this.log.unstable.offset - 1;
  }

  becomeFollower(term: number, leaderId: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.leaderId = leaderId;
  }

  protected becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a pre-candidate');
    // No term change: a pre-election that fails leaves no trace (dissertation §9.6).
    this.role = 'pre-candidate';
    this.quiesced = false;
    this.votes.clear();
    this.leaderId = NONE;
    // The election timer restarts with the campaign, however it was started (timer, campaign()).
    this.electionElapsed = 0;
  }

  protected becomeCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  protected promotable(): boolean {
    const pr = this.prs.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasPendingSnapshot();
  }

  protected send(m: Message): void {
    invariant(m.to !== this.id, 'a node never sends a message to itself');
    this.msgs.push(m);
  }
}
