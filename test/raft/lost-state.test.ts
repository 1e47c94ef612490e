/**
 * A voter that comes back with the same id on an empty disk (docs/operations.md, "Replace a dead broker"):
 * it answers every append at the index the leader thinks it holds with a rejection whose hint is its real
 * (short) log. The leader must take that as what it is, forget the follower's acknowledged index, and bring
 * it back by itself: no leader change, no flood of resent appends.
 */
import { describe, expect, it } from 'vitest';
import type { Message, NodeId } from '../../src/raft/core/index.js';
import { newMessage } from '../../src/raft/core/messages.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import { TestCluster } from './harness.js';

const VOTERS: readonly NodeId[] = [1, 2, 3];

/** Node `id` restarts on a fresh disk: only the bootstrap entries a new broker writes for `VOTERS`. */
function restartWiped(c: TestCluster, id: NodeId): void {
  c.add(id, MemoryRaftStorage.bootstrap(VOTERS));
}

function progressOf(c: TestCluster, leader: NodeId, id: NodeId) {
  const pr = c
    .core(leader)
    .progress()
    .find((p) => p.id === id);
  if (pr === undefined) throw new Error(`no progress for ${id}`);
  return pr;
}

/** A leader 1 that has replicated `count` entries to 2 and 3. */
function clusterWithHistory(count: number): TestCluster {
  const c = new TestCluster(VOTERS, { maxSizePerMsgBytes: 64 });
  c.campaign(1);
  for (let i = 0; i < count; i++) c.propose(1, `e${i}`);
  return c;
}

describe('a voter restarted on an empty disk (lost state)', () => {
  for (const told of [true, false]) {
    it(`the same leader brings it back without a leader change (peers ${told ? 'are' : 'are not'} told its connection was lost)`, () => {
      const c = clusterWithHistory(40);
      const term = c.core(1).term;
      const last = c.core(1).log.lastIndex();
      expect(progressOf(c, 1, 3).match).toBe(last);

      if (told) c.core(1).peerLost(3);
      restartWiped(c, 3);
      expect(c.core(3).log.lastIndex()).toBeLessThan(last);

      // A few heartbeats: the leader must notice the short log and replicate it all again.
      c.tickAll(5);
      expect(c.leaders()).toEqual([1]);
      expect(c.core(1).term).toBe(term);
      expect(c.core(3).log.committed).toBe(c.core(1).log.committed);
      expect(c.appliedData(3)).toEqual(c.appliedData(2));
      expect(progressOf(c, 1, 3).match).toBe(c.core(1).log.lastIndex());
      // What its readiness waits for (metadata_catch_up): the leader's commit index, heard and applied.
      expect(c.core(3).status().leaderCommit).toBe(c.core(1).log.committed);
    });
  }

  it('a write reaching it first: rejections at its acknowledged index do not make the leader resend in a loop', () => {
    const c = clusterWithHistory(40);
    restartWiped(c, 3);
    const sentBefore = c.sent.length;
    // No heartbeat yet: the leader still counts it as holding everything and streams the new entry. Before
    // the fix each rejection brought the same append again at once (the network never went quiet).
    c.propose(1, 'next');
    const toAndFrom3 = c.sent.slice(sentBefore).filter((m: Message) => m.to === 3 || m.from === 3);
    expect(toAndFrom3.filter((m) => m.type === 'app-resp' && m.reject).length).toBeLessThanOrEqual(3);
    expect(c.appliedData(3)).toEqual(c.appliedData(2));
    expect(c.appliedData(3).at(-1)).toBe('next');
  });

  it('a stale rejection (an old answer arriving late) costs at most a resend, never a wrong match', () => {
    const c = clusterWithHistory(5);
    const last = c.core(1).log.lastIndex();
    c.core(1).peerLost(2);
    // A rejection of the probe at the acknowledged index, as if an answer from before had been delayed.
    c.core(1).step(
      newMessage('app-resp', 2, 1, {
        term: c.core(1).term,
        index: last,
        logTerm: 1,
        reject: true,
        rejectHint: 3,
      }),
    );
    c.flush();
    c.tickAll(2);
    expect(progressOf(c, 1, 2).match).toBe(last);
    expect(c.appliedData(2)).toEqual(c.appliedData(1));
  });

  it('once back it takes part in commits as before', () => {
    const c = clusterWithHistory(3);
    restartWiped(c, 3);
    c.tickAll(3);
    c.isolate(2);
    c.propose(1, 'after');
    expect(c.appliedData(3).at(-1)).toBe('after');
  });
});
