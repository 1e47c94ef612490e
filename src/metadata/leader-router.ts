/**
 * Where one attempt of a metadata write goes: proposed here on the leader, forwarded from a follower, and
 * held (within the attempt's budget) while no leader is known or the known one cannot be reached. Apart
 * from MetadataStore, which decides how many attempts run and under which deadline; this decides only
 * where each one is sent.
 */
import { type ErrorCode, invariant, isStreamBusError, StreamBusError } from '../errors/index.js';
import type { NodeId } from '../raft/core/types.js';
import { abortError, type Clock, type Deadline, sleep, type Timers } from '../resilience/index.js';
import { forwardWhileLeader, type MetadataForwarder } from './forwarder.js';
import type { JoinRoute } from './join-route.js';
import type { LeaderWait } from './leader-wait.js';
import type { ProposeRoute } from './propose-span.js';
import type { MetadataRaft } from './store.js';
import type { ApplyResult } from './types.js';

/** Errors that say the leader cannot be reached now, not that the write is wrong: look again. */
const UNREACHABLE: ReadonlySet<ErrorCode> = new Set([
  'NETWORK_ERROR',
  'CONNECTION_CLOSED',
  'BROKER_NOT_AVAILABLE',
  'NOT_LEADER',
  'RAFT_STOPPED',
]);

export interface LeaderRouterOptions {
  readonly raft: MetadataRaft;
  /** Absent: a follower's attempt fails with NOT_LEADER. */
  readonly forwarder: MetadataForwarder | undefined;
  /** The voters a node outside the group tries in turn while it knows no leader (join-route.ts). */
  readonly join: JoinRoute | undefined;
  readonly leaderPollMs: number;
  readonly clock: Clock;
  readonly timers: Timers;
}

export class LeaderRouter {
  private joinCursor = 0;

  constructor(private readonly o: LeaderRouterOptions) {}

  /**
   * One attempt: propose here if leader, else forward (with what is left of `deadline`, the attempt's);
   * wait while the leader is unknown or unreachable.
   */
  async attempt(
    bytes: Uint8Array,
    signal: AbortSignal,
    leader: LeaderWait,
    deadline: Deadline | undefined,
    route: ProposeRoute | undefined,
    leaderTerm?: number,
  ): Promise<ApplyResult> {
    invariant(deadline !== undefined, 'a metadata attempt runs under its attempt deadline');
    if (leaderTerm !== undefined) return this.proposeAsLeaderOf(leaderTerm, bytes, signal, route);
    for (;;) {
      if (signal.aborted) throw abortError(signal);
      const { role, leaderId } = this.o.raft.status();
      if (leaderId === 0) leader.check();
      else leader.seen();
      if (role === 'leader') {
        if (route !== undefined) route.forwarded = false;
        return (await this.o.raft.propose(bytes, { signal })) as ApplyResult;
      }
      const joining = leaderId === 0 ? this.nextJoinTarget() : undefined;
      const target = joining ?? leaderId;
      if (target !== 0) {
        if (this.o.forwarder === undefined) {
          throw new StreamBusError('NOT_LEADER', { operation: 'metadata.propose', metadata: { leaderId } });
        }
        if (route !== undefined) route.forwarded = true;
        try {
          // A joining node knows no leader and asks voters in turn: nothing to watch for.
          if (joining !== undefined) return await this.o.forwarder.forward(target, bytes, deadline);
          return await forwardWhileLeader(this.o.forwarder, target, bytes, deadline, {
            currentLeader: () => this.o.raft.status().leaderId,
            pollMs: this.o.leaderPollMs,
            clock: this.o.clock,
            timers: this.o.timers,
          });
        } catch (err) {
          // The leader died or is cut off: keep looking (this node learns of a new one, or the old one
          // comes back) until the attempt's budget runs out. The request id makes re-sending safe. A joining
          // node also moves on from a voter that does not lead.
          const notLeader = joining !== undefined && isStreamBusError(err, 'NOT_LEADER');
          if (signal.aborted || !isStreamBusError(err) || !(UNREACHABLE.has(err.code) || notLeader))
            throw err;
        }
      }
      await sleep(this.o.leaderPollMs, signal, this.o.timers);
    }
  }

  /** Throws NOT_LEADER unless this node leads in `leaderTerm`. */
  checkLeaderOf(leaderTerm: number): void {
    const { role, leaderId, term } = this.o.raft.status();
    if (role === 'leader' && term === leaderTerm) return;
    throw new StreamBusError('NOT_LEADER', {
      operation: 'metadata.propose',
      metadata: { leaderId, term, leaderTerm },
    });
  }

  /** A write fenced by a leader term (WriteOptions.leaderTerm): here, in that term, or not at all. */
  private async proposeAsLeaderOf(
    leaderTerm: number,
    bytes: Uint8Array,
    signal: AbortSignal,
    route: ProposeRoute | undefined,
  ): Promise<ApplyResult> {
    this.checkLeaderOf(leaderTerm);
    if (route !== undefined) route.forwarded = false;
    return (await this.o.raft.propose(bytes, { signal })) as ApplyResult;
  }

  /** The next voter to try while this node, outside the group, knows no leader; undefined for members. */
  private nextJoinTarget(): NodeId | undefined {
    const via = this.o.join?.via() ?? [];
    if (via.length === 0) return undefined;
    return via[this.joinCursor++ % via.length];
  }
}
