/**
 * Tests named after the rules of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm", sections 5 to 7). Each drives pure RaftCores through the synchronous harness.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32, NONE, newMessage, RaftCore } from '../../src/raft/core/index.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import { TestCluster, text } from './harness.js';

/** Bootstrap store for voters 1..3 (entries 1..3) plus extra entries given as terms from index 4. */
function storeWith(terms: readonly number[], hardTerm: number, commit = 3): MemoryRaftStorage {
  const s = MemoryRaftStorage.bootstrap([1, 2, 3]);
  s.append(
    terms.map((term, i) => ({
      term,
      index: 4 + i,
      type: 'normal' as const,
      data: text(`t${term}i${4 + i}`),
    })),
  );
  s.setHardState({ term: hardTerm, vote: NONE, commit });
  return s;
}

describe('§5.1 terms', () => {
  it('a node that sees a higher term adopts it and becomes a follower', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    expect(c.core(1).role).toBe('leader');
    const term = c.core(1).term;
    c.core(1).step(newMessage('app-resp', 2, 1, { term: term + 5 }));
    expect(c.core(1).role).toBe('follower');
    expect(c.core(1).term).toBe(term + 5);
  });

  it('a request carrying a stale term is rejected and the sender learns the current term', () => {
    // Without check-quorum's lease the followers will vote for node 2 straight away.
    const c = new TestCluster([1, 2, 3], { checkQuorum: false });
    c.campaign(1);
    const stale = c.core(1).term;
    c.campaign(2);
    expect(c.core(2).role).toBe('leader');
    const before = c.core(3).log.lastIndex();
    c.core(3).step(
      newMessage('app', 1, 3, { term: stale, index: before, logTerm: c.core(3).log.lastTerm(), entries: [] }),
    );
    const rd = c.core(3).ready();
    expect(c.core(3).log.lastIndex()).toBe(before);
    const resp = rd?.messages.find((m) => m.to === 1);
    expect(resp?.term).toBe(c.core(2).term);
  });
});

describe('§5.2 leader election', () => {
  it('a candidate that receives votes from a majority becomes leader and the others follow it', () => {
    const c = new TestCluster([1, 2, 3, 4, 5]);
    c.campaign(3);
    expect(c.leaders()).toEqual([3]);
    for (const id of [1, 2, 4, 5]) expect(c.core(id).leaderId).toBe(3);
  });

  it('each node grants at most one vote per term, first come first served', () => {
    const c = new TestCluster([1, 2, 3]);
    const voter = c.core(3);
    const last = voter.log.lastIndex();
    const req = (from: number) => newMessage('vote', from, 3, { term: 5, index: last, logTerm: 1 });
    voter.step(req(1));
    voter.step(req(2));
    const votes = voter.ready()!.messages.filter((m) => m.type === 'vote-resp');
    expect(votes.map((m) => [m.to, m.reject])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(voter.hardState().vote).toBe(1);
  });

  it('election safety: at most one leader per term under random message loss and timing', () => {
    console.log('election safety property: fast-check seed 42');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        let x = seed;
        const rnd = () => {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          return x / 2 ** 32;
        };
        const c = new TestCluster([1, 2, 3, 4, 5], { preVote: rnd() < 0.5, checkQuorum: rnd() < 0.5 });
        c.drop = () => rnd() < 0.3;
        const leaderOfTerm = new Map<number, number>();
        for (let t = 0; t < 150; t++) {
          const id = 1 + Math.floor(rnd() * 5);
          c.tick(id);
          for (const l of c.leaders()) {
            const term = c.core(l).term;
            const prev = leaderOfTerm.get(term);
            if (prev !== undefined && prev !== l)
              throw new Error(`two leaders in term ${term}: ${prev}, ${l}`);
            leaderOfTerm.set(term, l);
          }
        }
      }),
      { numRuns: 60, seed: 42, verbose: true },
    );
  });

  it('election timeouts are randomized in [electionTimeout, 2 * electionTimeout)', () => {
    const seen = new Set<number>();
    for (let id = 1; id <= 40; id++) {
      const c = new TestCluster([id, 100 + id], { preVote: false });
      c.isolate(id);
      let ticks = 0;
      while (c.core(id).role === 'follower') {
        c.tick(id);
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    // Spread matters: identical timeouts would make split votes repeat forever.
    expect(seen.size).toBeGreaterThan(4);
  });

  it('a split vote is resolved by a later election', () => {
    const c = new TestCluster([1, 2, 3, 4], { preVote: false });
    c.isolate(1);
    c.isolate(2);
    c.core(1).campaign();
    c.core(2).campaign();
    c.heal();
    c.flush();
    c.tickAll(60);
    expect(c.leaders()).toHaveLength(1);
  });
});

describe('§5.3 log replication', () => {
  it('the leader commits an entry once a majority stores it, and every node applies it in order', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    c.propose(1, 'a');
    c.propose(1, 'b');
    expect(c.appliedData(1)).toEqual(['a', 'b']);
    expect(c.appliedData(2)).toEqual(['a', 'b']);
    expect(c.appliedData(3)).toEqual([]);
    c.heal();
    c.tick(1);
    expect(c.appliedData(3)).toEqual(['a', 'b']);
  });

  it('log matching: a follower with conflicting uncommitted entries is made identical to the leader', () => {
    const storages = new Map([
      [1, storeWith([2, 2], 2)],
      [2, storeWith([2], 2)],
      [3, storeWith([1, 1, 1, 1, 1], 1)],
    ]);
    const c = new TestCluster([1, 2, 3], {}, storages);
    c.campaign(1);
    c.propose(1, 'x');
    const l = c.node(1).storage.allEntries();
    const f = c.node(3).storage.allEntries();
    expect(f.map((e) => [e.index, e.term])).toEqual(l.map((e) => [e.index, e.term]));
  });

  it('fast backoff: a divergent follower is repaired in a few round trips, not one per entry', () => {
    const c = new TestCluster(
      [1, 2, 3],
      {},
      new Map([
        [1, storeWith(Array(40).fill(3), 3)],
        [2, storeWith(Array(40).fill(3), 3)],
        [3, storeWith(Array(60).fill(2), 2)],
      ]),
    );
    c.campaign(1);
    const rejects = c.sent.filter((m) => m.type === 'app-resp' && m.from === 3 && m.reject).length;
    expect(rejects).toBeLessThanOrEqual(3);
    expect(c.core(3).log.lastIndex()).toBe(c.core(1).log.lastIndex());
  });

  it('flow control: at most maxInflightMsgs appends are outstanding to a silent follower', () => {
    const c = new TestCluster([1, 2, 3], { maxInflightMsgs: 2, maxSizePerMsgBytes: 1 });
    c.campaign(1);
    c.cutLink(2, 1);
    const before = c.sent.length;
    for (let i = 0; i < 10; i++) c.core(1).propose(text(`p${i}`));
    c.flush();
    const appsTo2 = c.sent
      .slice(before)
      .filter((m) => m.type === 'app' && m.to === 2 && m.entries.length > 0);
    expect(appsTo2.length).toBe(2);
  });
});

describe('§5.4 safety', () => {
  it('§5.4.1 a voter denies its vote to a candidate whose log is less up to date', () => {
    const c = new TestCluster([1, 2, 3], { checkQuorum: false });
    c.campaign(1);
    c.isolate(3);
    c.propose(1, 'committed');
    c.heal();
    c.isolate(1);
    c.core(3).campaign();
    c.flush();
    expect(c.core(3).role).not.toBe('leader');
    const denied = c.sent.filter((m) => m.type === 'pre-vote-resp' && m.to === 3 && m.from === 2);
    expect(denied.at(-1)?.reject).toBe(true);
  });

  it('leader completeness: whoever wins a later election holds every committed entry', () => {
    const c = new TestCluster([1, 2, 3, 4, 5]);
    c.campaign(1);
    c.isolate(4);
    c.isolate(5);
    c.propose(1, 'must-survive');
    c.heal();
    c.isolate(1);
    for (let round = 0; round < 5; round++) {
      c.tickAll(25);
      const leader = c.leaders().find((l) => l !== 1);
      if (leader === undefined) continue;
      c.propose(leader, `after-${round}`);
      expect(c.appliedData(leader)).toContain('must-survive');
    }
    expect(c.leaders().filter((l) => l !== 1)).toHaveLength(1);
  });

  it('§5.4.2 a leader never commits an entry from an earlier term by counting replicas (Figure 8)', () => {
    // Node 1 and 2 hold entry 4 from term 2; node 3 does not. Node 1 is elected in term 3.
    const c = new TestCluster(
      [1, 2, 3],
      { maxSizePerMsgBytes: 1 },
      new Map([
        [1, storeWith([2], 2)],
        [2, storeWith([], 2)],
        [3, storeWith([], 2)],
      ]),
    );
    // Node 3 stores both entries, but its acknowledgement of the new leader's entry 5 is lost.
    c.drop = (m) => m.type === 'app-resp' && m.from === 3 && !m.reject && m.index >= 5;
    c.cutLink(1, 2);
    c.core(1).campaign();
    c.flush();
    expect(c.core(1).role).toBe('leader');
    expect(c.core(1).prs.get(3)?.match).toBe(4);
    // Entry 4 (term 2) is on a majority {1, 3} but must not be committed by counting.
    expect(c.core(1).log.committed).toBe(3);
    c.drop = () => false;
    c.tick(1);
    expect(c.core(1).log.committed).toBe(5);
  });
});

describe('§6 cluster membership changes', () => {
  it('a learner receives the log but does not count towards commit or vote', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.add(4);
    expect(c.core(1).proposeConfChange({ type: 'add-learner', nodeId: 4 }).ok).toBe(true);
    c.flush();
    c.propose(1, 'x');
    expect(c.appliedData(4)).toEqual(['x']);
    expect(c.core(1).conf.learners).toEqual([4]);
    c.isolate(2);
    c.isolate(3);
    c.core(1).propose(text('needs-a-voter'));
    c.flush();
    expect(c.appliedData(1)).not.toContain('needs-a-voter');
    c.core(4).campaign();
    expect(c.core(4).role).toBe('follower');
  });

  it('a learner is promoted to voter, and only one change may be pending at a time', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.add(4);
    c.core(1).proposeConfChange({ type: 'add-learner', nodeId: 4 });
    const second = c.core(1).proposeConfChange({ type: 'add-voter', nodeId: 4 });
    expect(second).toMatchObject({ ok: false, reason: 'config-change-pending' });
    c.flush();
    expect(c.core(1).proposeConfChange({ type: 'add-voter', nodeId: 4 }).ok).toBe(true);
    c.flush();
    for (const id of [1, 2, 3, 4]) expect(c.core(id).conf.voters).toEqual([1, 2, 3, 4]);
    // With 4 voters a commit needs 3: nodes 1 and 4 alone cannot commit.
    c.isolate(2);
    c.isolate(3);
    c.core(1).propose(text('two-of-four'));
    c.flush();
    expect(c.appliedData(1)).not.toContain('two-of-four');
  });

  it('an invalid change is refused', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    expect(c.core(1).proposeConfChange({ type: 'remove', nodeId: 9 })).toMatchObject({
      ok: false,
      reason: 'invalid-config-change',
    });
  });

  it('removing the leader: it steps down once the change commits and the rest elect a new leader', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'before');
    expect(c.core(1).proposeConfChange({ type: 'remove', nodeId: 1 }).ok).toBe(true);
    c.flush();
    expect(c.core(1).role).toBe('follower');
    c.tickAll(30);
    const leaders = c.leaders();
    expect(leaders).toHaveLength(1);
    expect(leaders[0]).not.toBe(1);
    const l = leaders[0]!;
    expect(c.core(l).conf.voters).toEqual([2, 3]);
    c.propose(l, 'after');
    expect(c.appliedData(l)).toEqual(['before', 'after']);
    // The removed node never campaigns again.
    c.tick(1, 50);
    expect(c.core(1).role).toBe('follower');
  });

  it('a voter removed while it was down campaigns by its stale configuration, yet never wins, raises no term and counts toward no quorum; added as a learner it learns its removal', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    expect(c.core(1).proposeConfChange({ type: 'remove', nodeId: 3 }).ok).toBe(true);
    c.flush();
    c.propose(1, 'after-removal');
    expect(c.core(1).conf.voters).toEqual([1, 2]);
    // Node 3 restarts from its own storage, which ends before its removal, and is heard by the others again.
    c.restart(3);
    c.heal();
    expect(c.core(3).conf.voters).toEqual([1, 2, 3]);
    const term = c.core(1).term;
    c.tickAll(100);
    expect(c.leaders()).toEqual([1]);
    expect([c.core(1).term, c.core(2).term]).toEqual([term, term]);
    expect(c.sent.some((m) => m.from === 3 && m.type === 'pre-vote')).toBe(true);

    // Without the leader nobody leads: node 2 needs node 1 ({1, 2}) and does not even ask node 3.
    c.isolate(1);
    const sentBefore = c.sent.length;
    c.tickAll(100);
    expect(c.leaders()).toEqual([]);
    const campaign = c.sent.slice(sentBefore).filter((m) => m.from === 2 && m.type.endsWith('vote'));
    expect(campaign.length).toBeGreaterThan(0);
    expect(campaign.filter((m) => m.to === 3)).toEqual([]);
    c.heal();
    c.tickAll(100);
    const [leader] = c.leaders();
    expect([1, 2]).toContain(leader);

    // The broker's coordinator adds the registered broker back as a learner: the log reaches it.
    expect(c.core(leader!).proposeConfChange({ type: 'add-learner', nodeId: 3 }).ok).toBe(true);
    c.flush();
    c.tickAll(5);
    expect(c.core(3).conf).toEqual({ voters: [1, 2], learners: [3] });
    expect(c.appliedData(3)).toContain('after-removal');
  });
});

describe('§6 joint consensus', () => {
  it('several changes at once pass through C(old,new), which the leader leaves automatically', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.add(4);
    c.add(5);
    const r = c.core(1).proposeJointConfChange([
      { type: 'add-voter', nodeId: 4 },
      { type: 'add-voter', nodeId: 5 },
      { type: 'remove', nodeId: 3 },
    ]);
    expect(r.ok).toBe(true);
    // While the first entry is pending nothing else may change.
    expect(c.core(1).proposeConfChange({ type: 'remove', nodeId: 2 })).toMatchObject({
      ok: false,
      reason: 'config-change-pending',
    });
    c.flush();
    for (const id of [1, 2, 4, 5]) {
      expect(c.core(id).conf).toEqual({ voters: [1, 2, 4, 5], learners: [] });
    }
    const confEntries = c.node(1).applied.filter((e) => e.type === 'conf-change');
    // Three bootstrap entries, enter-joint, leave-joint.
    expect(confEntries).toHaveLength(5);
  });

  it('in C(old,new) an entry commits only with a majority of the old and of the new voters', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    for (const id of [4, 5, 6]) c.add(id);
    // Hold the configuration joint: lose every append carrying the leave-joint entry.
    c.drop = (m) =>
      m.type === 'app' && m.entries.some((e) => e.type === 'conf-change' && e.data.byteLength === 1);
    c.core(1).proposeJointConfChange([
      { type: 'add-voter', nodeId: 4 },
      { type: 'add-voter', nodeId: 5 },
      { type: 'add-voter', nodeId: 6 },
      { type: 'remove', nodeId: 2 },
      { type: 'remove', nodeId: 3 },
    ]);
    c.flush();
    expect(c.core(1).conf.votersOutgoing).toEqual([1, 2, 3]);
    expect(c.core(1).conf.voters).toEqual([1, 4, 5, 6]);
    c.drop = () => false;
    // Old voters 2 and 3 unreachable: the new set {1,4,5,6} has a majority but the old one does not.
    c.isolate(2);
    c.isolate(3);
    const before = c.core(1).log.committed;
    c.core(1).propose(text('needs-both'));
    c.flush();
    expect(c.core(1).log.committed).toBe(before);
    c.heal();
    c.tick(1);
    expect(c.appliedData(1)).toContain('needs-both');
    expect(c.core(1).conf.votersOutgoing).toBeUndefined();
  });

  it('a leader removed by a joint change leads C(old,new) to its end, then steps down', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.add(4);
    c.core(1).proposeJointConfChange([
      { type: 'add-voter', nodeId: 4 },
      { type: 'remove', nodeId: 1 },
    ]);
    c.flush();
    expect(c.core(1).role).not.toBe('leader');
    c.tickAll(30);
    const leaders = c.leaders();
    expect(leaders).toHaveLength(1);
    expect(c.core(leaders[0]!).conf).toEqual({ voters: [2, 3, 4], learners: [] });
  });
});

describe('§7 log compaction', () => {
  it('a follower behind the compacted log receives a snapshot, restores it and keeps replicating', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.propose(1, `e${i}`);
    const leader = c.node(1);
    const applied = leader.core.log.applied;
    const term = leader.storage.term(applied) as number;
    leader.storage.createSnapshot(applied, leader.core.conf, text(`state@${applied}`));
    leader.storage.compact(applied);
    c.heal();
    c.tick(1);
    c.propose(1, 'after-snapshot');
    const snaps = c.sent.filter((m) => m.type === 'snap' && m.to === 3);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.snapshot?.metadata).toMatchObject({ index: applied, term });
    expect(c.node(3).storage.snapshot().metadata.index).toBe(applied);
    expect(c.appliedData(3)).toEqual(['after-snapshot']);
    expect(c.core(3).log.lastIndex()).toBe(c.core(1).log.lastIndex());
  });

  it("a follower behind the compacted log gets the storage's catch-up snapshot, then the log after it", () => {
    // A partition's log is its data: the follower must receive every entry the leader still holds, so it
    // is sent a snapshot at the log start (RaftLogStorage.catchUpSnapshot), not the latest one.
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.propose(1, `e${i}`);
    const leader = c.node(1);
    const applied = leader.core.log.applied;
    const start = applied - 10;
    const atStart = leader.storage.createSnapshot(start, leader.core.conf, text(`state@${start}`));
    leader.storage.createSnapshot(applied, leader.core.conf, text(`state@${applied}`));
    leader.storage.compact(start);
    Object.assign(leader.storage, { catchUpSnapshot: () => atStart });
    c.heal();
    c.tick(1);
    c.propose(1, 'after-snapshot');
    const snaps = c.sent.filter((m) => m.type === 'snap' && m.to === 3);
    expect(snaps.map((m) => m.snapshot?.metadata.index)).toEqual([start]);
    expect(c.appliedData(3)).toEqual([...c.appliedData(1).slice(-11)]);
    expect(c.appliedData(3).at(-1)).toBe('after-snapshot');
  });

  it("a follower that already holds a snapshot's last entry answers its commit index, not a stale tail past it", () => {
    // Node 3 holds 4..6 from term 2, uncommitted. A term-3 leader's log matches up to 4 only, and it sends a
    // snapshot at 4 (term 2). Answering the last index (6) would tell the leader 5 and 6 match its log.
    const storage = storeWith([2, 2, 2], 2);
    const core = new RaftCore({ id: 3, storage, random: mulberry32(3), electionTimeoutTicks: 10 });
    for (let rd = core.ready(); rd !== null; rd = core.ready()) core.advance(rd);
    const snapshot = {
      metadata: { index: 4, term: 2, confState: { voters: [1, 2, 3], learners: [] } },
      data: text('sm'),
    };
    core.step(newMessage('snap', 1, 3, { term: 3, snapshot }));
    const rd = core.ready()!;
    const answer = rd.messages.find((m) => m.to === 1 && m.type === 'app-resp');
    expect(answer?.index).toBe(4);
    expect(core.log.lastIndex()).toBe(6);
    core.advance(rd);
  });

  it('a restarted node resumes from its snapshot without re-applying compacted entries', () => {
    const c = new TestCluster([1, 2, 3]);
    c.campaign(1);
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    const n2 = c.node(2);
    const idx = n2.core.log.applied;
    n2.storage.createSnapshot(idx, n2.core.conf, text('s'));
    n2.storage.compact(idx - 2);
    const restarted = c.restart(2);
    expect(restarted.core.log.applied).toBe(idx);
    c.tick(1);
    c.propose(1, 'next');
    expect(c.appliedData(2)).toEqual(['next']);
  });
});

describe('driver contract: what may be applied while a Ready is written', () => {
  it('a leader that steps down and wins again before the next Ready reports its new term as soft state', () => {
    // The driver keeps per-leadership bookkeeping (producer state, in-sync set, leader epoch) by term: the
    // same role and leader id in a new term is a new leadership.
    const c = new TestCluster([1, 2, 3], { preVote: false });
    c.campaign(1);
    const core = c.core(1);
    const first = core.term;
    core.step(newMessage('app-resp', 2, 1, { term: first + 1 }));
    core.campaign();
    core.step(newMessage('vote-resp', 2, 1, { term: first + 2 }));
    expect(core.role).toBe('leader');
    expect(core.ready()?.softState).toEqual({ role: 'leader', leaderId: 1, term: first + 2 });
  });

  it('committed entries below the unstable offset count as held durably; entries a new leader overwrites do not', () => {
    // Node 3 holds 4..6 from term 2 (durable, uncommitted); a term-3 leader replaces 5..6 and commits 6.
    const storage = storeWith([2, 2, 2], 2);
    const core = new RaftCore({ id: 3, storage, random: mulberry32(3), electionTimeoutTicks: 10 });
    for (let rd = core.ready(); rd !== null; rd = core.ready()) core.advance(rd);
    const replaced = [5, 6].map((index) => ({
      term: 3,
      index,
      type: 'normal' as const,
      data: text(`t3i${index}`),
    }));
    core.step(newMessage('app', 1, 3, { term: 3, index: 4, logTerm: 2, entries: replaced, commit: 6 }));
    const rd = core.ready()!;
    expect(rd.entries.map((e) => e.index)).toEqual([5, 6]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([4, 5, 6]);
    // Only index 4 was on disk with the content now committed: 5 and 6 on disk are the old term's.
    expect(core.committedHeldDurably(rd)).toBe(1);
    core.advance(rd);
  });
});
