/**
 * The debug-level trail of campaigns (which votes left, which answers came back), for elections that stall.
 * Its own module because both sides of a node feed it: RaftNode as messages arrive, ReadyHandler as they
 * leave.
 */
import type { RaftCore } from './core/raft.js';
import type { Message, NodeId } from './core/types.js';
import type { RaftLogger } from './logger.js';

/** Messages of a campaign; callers test this before tracing so other messages cost one set lookup. */
export const ELECTION_MESSAGES: ReadonlySet<string> = new Set([
  'pre-vote',
  'pre-vote-resp',
  'vote',
  'vote-resp',
]);

export class ElectionTrace {
  constructor(
    private readonly log: RaftLogger,
    private readonly core: RaftCore,
    private readonly id: NodeId,
    private readonly groupId: string,
  ) {}

  trace(direction: 'sent' | 'received', m: Message): void {
    this.log.debug(
      {
        node_id: this.id,
        group: this.groupId,
        direction,
        type: m.type,
        from: m.from,
        to: m.to,
        term: m.term,
        ...(m.reject ? { reject: true } : {}),
        role: this.core.role,
        own_term: this.core.term,
      },
      'raft election message',
    );
  }
}
