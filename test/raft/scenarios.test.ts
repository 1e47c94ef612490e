/** Scripted scenarios for the features beyond the basic paper rules. */
import { describe, expect, it } from 'vitest';
import { bootstrapEntries, type Entry, type LogReadError } from '../../src/raft/core/index.js';
import {
  LOST_LEADER_CAMPAIGN_TICKS_MAX,
  STEP_DOWN_HOLDOFF_ELECTION_TIMEOUTS,
} from '../../src/raft/core/raft.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import { TestCluster, text } from './harness.js';

/** A store whose old entries are "only on disk" while `coldBelow` is set (the partition-log case). */
class ColdTailStorage extends MemoryRaftStorage {
  coldBelow = 0;

  override entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | LogReadError {
    if (lo < this.coldBelow) return 'unavailable';
    return super.entries(lo, hi, maxBytes);
  }
}

describe('pre-vote and check-quorum', () => {
  it('a partitioned node rejoining does not disrupt the leader (pre-vote keeps its term unchanged)', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    const term = c.core(1).term;
    c.isolate(3);
    for (let i = 0; i < 100; i++) {
      c.core(3).tick();
      c.tickAll(1);
    }
    // It kept pre-campaigning but never bumped its term.
    expect(c.core(3).term).toBe(term);
    c.heal();
    c.tickAll(5);
    expect(c.leaders()).toEqual([1]);
    expect(c.core(1).term).toBe(term);
    expect(c.core(3).leaderId).toBe(1);
  });

  it('without pre-vote the same rejoin forces a new election (what pre-vote prevents)', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false });
    c.campaign(1);
    const term = c.core(1).term;
    c.isolate(3);
    c.tick(3, 40);
    expect(c.core(3).term).toBeGreaterThan(term);
    c.heal();
    c.tickAll(40);
    expect(c.core(1).term).toBeGreaterThan(term);
  });

  it('two followers timing out in the same instant elect one leader in one round (pre-vote tie-break)', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    const term = c.core(1).term;
    c.isolate(1);
    // Let the followers' leases run out, then both campaign before any message is delivered.
    for (let i = 0; i < 9; i++) {
      c.core(2).tick();
      c.core(3).tick();
    }
    c.core(2).campaign();
    c.core(3).campaign();
    c.flush();
    const leaders = c.leaders().filter((id) => id !== 1);
    expect(leaders).toEqual([2]);
    expect(c.core(2).term).toBe(term + 1);
  });

  it('check-quorum: a leader cut off from the majority steps down within an election timeout', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(1);
    c.tick(1, 21);
    expect(c.core(1).role).toBe('follower');
  });

  it('check-quorum lease: followers that hear from a leader ignore a vote request from a higher term', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    const term = c.core(1).term;
    c.core(2).step({
      type: 'vote',
      from: 3,
      to: 2,
      term: term + 1,
      logTerm: c.core(3).log.lastTerm(),
      index: c.core(3).log.lastIndex(),
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
    });
    expect(c.core(2).term).toBe(term);
    expect(c.core(2).leaderId).toBe(1);
  });

  it("a follower told its leader's connection was lost drops the lease and campaigns within a few ticks", () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    const term = c.core(1).term;
    c.isolate(1);
    // Another peer lost, or a peer that is not the leader: nothing changes.
    c.core(2).peerLost(3);
    expect(c.core(2).leaderInLease()).toBe(1);
    c.core(2).peerLost(1);
    c.core(3).peerLost(1);
    expect(c.core(2).leaderInLease()).toBe(0);
    expect(c.core(3).leaderInLease()).toBe(0);
    const { leader, rounds } = c.ticksUntilLeader([2, 3]);
    expect(leader).toBeDefined();
    expect(rounds).toBeLessThanOrEqual(LOST_LEADER_CAMPAIGN_TICKS_MAX);
    expect(c.core(leader ?? 0).term).toBe(term + 1);
  });

  it('a leader that is alive loses nothing when one follower lost its connection to it', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    const term = c.core(1).term;
    c.core(2).peerLost(1);
    // Its pre-vote finds node 3 in the leader's lease; the leader's next heartbeat brings it back.
    c.tick(2, LOST_LEADER_CAMPAIGN_TICKS_MAX);
    c.tick(1, 2);
    expect(c.leaders()).toEqual([1]);
    expect(c.core(1).term).toBe(term);
    expect(c.core(2).leaderInLease()).toBe(1);
  });

  it('a leader that lost its connection to a follower resends from what it acknowledged, without a rejection', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    // The append carrying "b" to node 2 dies with the connection; node 3 commits it with the leader.
    c.cutLink(1, 2);
    c.propose(1, 'b');
    c.heal();
    const match = c
      .core(1)
      .progress()
      .find((p) => p.id === 2)!.match;
    c.core(1).peerLost(2);
    // Probing again from the acknowledged index, not past the lost append.
    expect(
      c
        .core(1)
        .progress()
        .find((p) => p.id === 2)!.next,
    ).toBe(match + 1);
    const sentBefore = c.sent.length;
    c.tick(1); // heartbeat; its answer brings the resend
    expect(c.appliedData(2)).toEqual(['a', 'b']);
    const rejections = c.sent
      .slice(sentBefore)
      .filter((m) => m.type === 'app-resp' && m.from === 2 && m.reject);
    expect(rejections).toEqual([]);
    // A lost peer that is not a follower here changes nothing.
    c.core(1).peerLost(1);
    expect(c.leaders()).toEqual([1]);
  });

  it('a leader that steps down leaves the election to the others and stays out of it for the holdoff', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    // Its appends stop reaching anyone (the links that fail are its own): "b" stays uncommitted, its log
    // is the longest.
    c.drop = (m) => m.from === 1 && m.type === 'app';
    c.propose(1, 'b');
    const term = c.core(1).term;
    expect(c.core(1).status().durableIndex).toBe(c.core(1).status().lastIndex);
    expect(c.core(1).stepDown()).toBe(true);
    expect(c.core(1).role).toBe('follower');
    expect(c.core(1).term).toBe(term);
    expect(c.core(1).stepDown()).toBe(false); // not a leader any more
    c.drop = () => false;
    // Every node's timer runs; node 1's holdoff outlasts the others' election timeouts.
    const holdoff = STEP_DOWN_HOLDOFF_ELECTION_TIMEOUTS * 10;
    for (let t = 0; t < holdoff - 1 && c.leaders().length === 0; t++) c.tickAll();
    expect(c.leaders()).toHaveLength(1);
    expect(c.leaders()[0]).not.toBe(1);
    const leader = c.leaders()[0]!;
    c.propose(leader, 'c');
    expect(c.appliedData(1)).toEqual(['a', 'c']); // the uncommitted "b" gave way
  });

  it('a leader that stepped down campaigns once its holdoff ends if nobody else led, and not before', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    c.core(1).stepDown();
    c.isolate(2);
    c.isolate(3); // the others cannot run an election among themselves
    const holdoff = STEP_DOWN_HOLDOFF_ELECTION_TIMEOUTS * 10;
    c.tick(1, holdoff);
    expect(c.core(1).role).toBe('follower');
    c.tick(1, 2 * 10);
    expect(c.core(1).role).not.toBe('follower');
  });

  it('a leader transferring its leadership does not step down', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(2);
    c.core(1).transferLeadership(2);
    expect(c.core(1).stepDown()).toBe(false);
    expect(c.core(1).role).toBe('leader');
  });

  it('leaderInLease: the leader a follower heard from lately, itself on a check-quorum leader, none once silent', () => {
    const c = new TestCluster([1, 2, 3]);
    expect(c.core(2).leaderInLease()).toBe(0);
    c.campaign(1);
    expect(c.core(1).leaderInLease()).toBe(1);
    expect(c.core(2).leaderInLease()).toBe(1);
    // Cut off from the leader, a follower keeps its lease for one tick less than the election timeout (10).
    c.isolate(1);
    c.tick(2, 8);
    expect(c.core(2).leaderInLease()).toBe(1);
    c.tick(2);
    expect(c.core(2).leaderId).toBe(1);
    expect(c.core(2).leaderInLease()).toBe(0);
    // The leader loses its lease when check-quorum steps it down: the first round after the cut still counts
    // what it heard before it, the second finds no majority.
    c.tick(1, 21);
    expect(c.core(1).role).toBe('follower');
    expect(c.core(1).leaderInLease()).toBe(0);
    // Without check-quorum nothing deposes a leader cut off from its majority: it claims no lease.
    const plain = new TestCluster([1, 2, 3], { checkQuorum: false });
    plain.campaign(1);
    expect(plain.core(1).leaderInLease()).toBe(0);
    expect(plain.core(2).leaderInLease()).toBe(1);
  });
});

describe('leader transfer', () => {
  it('transfers leadership to an up-to-date follower with TimeoutNow', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    expect(c.core(1).transferLeadership(2).ok).toBe(true);
    c.flush();
    expect(c.leaders()).toEqual([2]);
    expect(c.sent.some((m) => m.type === 'timeout-now' && m.to === 2)).toBe(true);
  });

  it('catches a lagging transferee up first, and refuses proposals while transferring', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    expect(c.core(1).transferLeadership(3).ok).toBe(true);
    expect(c.core(1).propose(text('during'))).toMatchObject({ ok: false, reason: 'transfer-in-progress' });
    c.heal();
    c.tick(1);
    expect(c.leaders()).toEqual([3]);
    expect(c.appliedData(3)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it('abandons a transfer to an unreachable node after an election timeout', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    c.core(1).transferLeadership(3);
    c.tick(1, 11);
    expect(c.core(1).role).toBe('leader');
    expect(c.core(1).leadTransferee).toBe(0);
    expect(c.core(1).propose(text('ok')).ok).toBe(true);
  });
});

describe('read index', () => {
  it('the leader answers a read with its commit index once a quorum confirms its leadership', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'w');
    const ctx = text('r1');
    c.core(1).readIndex(ctx);
    c.flush();
    const rs = c.node(1).readStates;
    expect(rs).toHaveLength(1);
    expect(rs[0]!.index).toBe(c.core(1).log.committed);
  });

  it('a leader cut off from the quorum cannot answer a read', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(1);
    c.core(1).readIndex(text('r'));
    c.flush();
    expect(c.node(1).readStates).toHaveLength(0);
  });

  it('a follower read is forwarded to the leader and answered with the leader commit index', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'w');
    expect(c.core(2).readIndex(text('f')).ok).toBe(true);
    c.flush();
    expect(c.node(2).readStates.map((r) => r.index)).toEqual([c.core(1).log.committed]);
  });
});

describe('proposals on a follower', () => {
  it('are forwarded to the leader when forwarding is on', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    expect(c.core(2).propose(text('via-2'))).toMatchObject({ ok: true, forwarded: true, leaderId: 1 });
    c.flush();
    expect(c.appliedData(1)).toEqual(['via-2']);
  });

  it('are refused with the known leader id when forwarding is off', () => {
    const c = new TestCluster([1, 2, 3], { proposalForwarding: false });
    c.campaign(1);
    expect(c.core(2).propose(text('x'))).toEqual({ ok: false, reason: 'not-leader', leaderId: 1 });
  });
});

describe('storage that cannot serve old entries synchronously', () => {
  it('the leader holds back a lagging follower while entries are unavailable, then catches it up', () => {
    const cold = new ColdTailStorage();
    cold.append(bootstrapEntries([1, 2, 3]));
    cold.setHardState({ term: 1, vote: 0, commit: 3 });
    const c = new TestCluster([1, 2, 3], {}, new Map([[1, cold]]));
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.propose(1, `e${i}`);
    cold.coldBelow = c.core(1).log.applied;
    c.heal();
    c.tickAll(3);
    expect(c.appliedData(3)).toEqual([]);
    expect(c.core(1).role).toBe('leader');
    // The driver finished loading: the next heartbeat response triggers the catch-up.
    cold.coldBelow = 0;
    c.tickAll(2);
    expect(c.appliedData(3)).toHaveLength(10);
  });
});
