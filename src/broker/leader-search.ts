/**
 * Whether this broker looks for the metadata leader like a broker joining from outside the group: it dials
 * every peer it knows whatever the ids, and while it knows no leader it sends its writes (its registration
 * first) through the other brokers cluster.voters lists (join-route.ts).
 *
 * A joiner does so from the start, and so does a founding voter whose own log says it no longer votes
 * (log-membership.ts). A founding voter whose log says it votes starts as a voter: the voters connect (the
 * lower id dials) and Raft finds the leader. But the group may have removed it while it was down (`cluster
 * remove-voter`): its log ends before its removal, so it still says it votes, yet the leader no longer
 * replicates to it, and once it is also decommissioned (unregistered, out of the group) the others drop it
 * as a peer, so a higher id than theirs is never dialed again. It would wait forever to hear a leader that
 * never speaks to it, and never register (a write needs a leader). Its log cannot tell it apart from a voter
 * whose group simply has no leader, so silence does: a voter that knows no leader for `searchAfterMs`
 * (resilience.timeouts.leader_election) searches from then on. It registers through the voters, the
 * coordinator adds it as a learner, the leader replicates the log to it, and it applies its removal: a
 * learner from then on, as it would be restarted.
 *
 * This changes how the broker connects and where its writes go, never what its Raft core counts: the
 * removed broker still campaigns by its stale configuration, but pre-vote keeps it from raising anyone's
 * term, the others refuse it while they hear their leader (check-quorum), and it lacks the removal entry a
 * majority holds, so its log is behind theirs and it can win no vote. For a voter that really votes (its
 * group had no leader for that long) searching costs a dial of each lower id, refused when that peer dials
 * too (the lower id's connection wins), and writes tried through voters that know no leader either.
 */
import type { JoinRoute } from '../metadata/join-route.js';
import type { Logger } from '../observability/index.js';
import type { NodeId } from '../raft/core/types.js';
import type { RaftNode } from '../raft/node.js';
import type { PeerAddress, TcpTransport } from '../raft/transport/tcp-transport.js';
import { systemTimers, type TimerHandle, type Timers } from '../resilience/clock.js';

export interface LeaderSearchOptions {
  readonly transport: Pick<TcpTransport, 'setPeer' | 'dialAllPeers'>;
  /** The other brokers cluster.voters lists: the ones a search goes through. */
  readonly contacts: readonly NodeId[];
  /** Searching from the start: a joiner (the transport then dials every peer already, dialsAllPeers). */
  readonly searching: boolean;
  /** How long a voter may know no leader before it searches (resilience.timeouts.leader_election). */
  readonly searchAfterMs: number;
  readonly logger: Logger;
  readonly timers?: Timers;
}

export class LeaderSearch implements JoinRoute {
  private searching: boolean;
  private timer: TimerHandle | undefined;
  private readonly timers: Timers;

  constructor(private readonly o: LeaderSearchOptions) {
    this.searching = o.searching;
    this.timers = o.timers ?? systemTimers;
  }

  via(): readonly NodeId[] {
    return this.searching ? this.o.contacts : [];
  }

  learnPeer(id: NodeId, address: PeerAddress): void {
    this.o.transport.setPeer(id, address);
  }

  /** Searches once `raft` has known no leader for searchAfterMs; returns what stops watching. */
  watch(raft: Pick<RaftNode, 'status' | 'on' | 'off'>): () => void {
    const onLeader = ({ leaderId }: { leaderId: NodeId }): void => {
      if (this.searching) return;
      if (leaderId !== 0) this.clearTimer();
      else this.timer ??= this.timers.setTimeout(() => this.search(), this.o.searchAfterMs);
    };
    onLeader(raft.status());
    raft.on('leader-change', onLeader);
    return () => {
      raft.off('leader-change', onLeader);
      this.clearTimer();
    };
  }

  private search(): void {
    this.timer = undefined;
    this.searching = true;
    this.o.logger.warn(
      { operation: 'leader-search', after_ms: this.o.searchAfterMs, via: this.o.contacts },
      'no metadata leader heard: looking for it through the voters, as a joining broker does (this broker may have been removed from the voters while it was down)',
    );
    this.o.transport.dialAllPeers();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
