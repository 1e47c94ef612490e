/**
 * LeaderSearch (leader-search.ts): a founding voter that knows no metadata leader for searchAfterMs looks for
 * it like a joining broker (its writes go through the other voters cluster.voters lists, and its transport
 * dials every peer), because the group may have removed it while it was down. A leader heard in time
 * cancels that; a joiner searches from the start.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LeaderSearch } from '../../src/broker/leader-search.js';
import { silentLogger } from '../../src/observability/index.js';
import type { NodeId } from '../../src/raft/core/types.js';
import type { RaftNode } from '../../src/raft/node.js';
import { ManualClock } from '../../src/resilience/manual-clock.js';

const SEARCH_AFTER_MS = 10_000;

/** The part of a RaftNode the search watches: its leader now and word when it changes. */
class FakeRaft extends EventEmitter {
  leaderId: NodeId = 0;
  status() {
    return { leaderId: this.leaderId };
  }
  lead(leaderId: NodeId): void {
    this.leaderId = leaderId;
    this.emit('leader-change', { leaderId, term: 2 });
  }
}

function setup(searching = false) {
  const clock = new ManualClock();
  const calls = { dialAllPeers: 0, setPeer: [] as NodeId[] };
  const search = new LeaderSearch({
    transport: {
      dialAllPeers: () => calls.dialAllPeers++,
      setPeer: (id) => calls.setPeer.push(id),
    },
    contacts: [1, 2],
    searching,
    searchAfterMs: SEARCH_AFTER_MS,
    logger: silentLogger(),
    timers: clock,
  });
  const raft = new FakeRaft();
  const stop = search.watch(raft as unknown as Pick<RaftNode, 'status' | 'on' | 'off'>);
  return { clock, calls, search, raft, stop };
}

describe('LeaderSearch', () => {
  it('a voter that knows no leader for searchAfterMs searches through the other voters, dialing every peer', () => {
    const { clock, calls, search } = setup();
    expect(search.via()).toEqual([]);
    clock.advance(SEARCH_AFTER_MS - 1);
    expect(search.via()).toEqual([]);
    expect(calls.dialAllPeers).toBe(0);
    clock.advance(1);
    expect(search.via()).toEqual([1, 2]);
    expect(calls.dialAllPeers).toBe(1);
  });

  it('a leader heard in time cancels the search; losing it starts the wait again', () => {
    const { clock, calls, search, raft } = setup();
    clock.advance(SEARCH_AFTER_MS - 1);
    raft.lead(2);
    clock.advance(SEARCH_AFTER_MS * 3);
    expect(search.via()).toEqual([]);
    raft.lead(0);
    clock.advance(SEARCH_AFTER_MS - 1);
    expect(search.via()).toEqual([]);
    clock.advance(1);
    expect(search.via()).toEqual([1, 2]);
    expect(calls.dialAllPeers).toBe(1);
  });

  it('keeps searching once started, a leader heard or not (it is a learner by then, as a restart would make it)', () => {
    const { clock, calls, search, raft } = setup();
    clock.advance(SEARCH_AFTER_MS);
    raft.lead(2);
    raft.lead(0);
    clock.advance(SEARCH_AFTER_MS * 2);
    expect(search.via()).toEqual([1, 2]);
    expect(calls.dialAllPeers).toBe(1);
  });

  it('a joiner searches from the start; its transport dials every peer already', () => {
    const { clock, calls, search } = setup(true);
    expect(search.via()).toEqual([1, 2]);
    clock.advance(SEARCH_AFTER_MS);
    expect(calls.dialAllPeers).toBe(0);
  });

  it('follows a redirect by adding the named leader as a peer', () => {
    const { calls, search } = setup(true);
    search.learnPeer(4, { host: '127.0.3.1', port: 9093 });
    expect(calls.setPeer).toEqual([4]);
  });

  it('stops waiting once told to', () => {
    const { clock, calls, search, stop } = setup();
    stop();
    expect(clock.pendingCount).toBe(0);
    clock.advance(SEARCH_AFTER_MS);
    expect(search.via()).toEqual([]);
    expect(calls.dialAllPeers).toBe(0);
  });
});
