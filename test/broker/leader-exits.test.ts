/** When a partition leader steps down because its commits stall on its own links (leader-exits.ts). */
import { describe, expect, it } from 'vitest';
import { CommitStallWatch, commitStalled } from '../../src/broker/replica/leader-exits.js';
import { silentLogger } from '../../src/observability/index.js';
import type { RaftNodeStatus } from '../../src/raft/node-types.js';

function status(o: Partial<RaftNodeStatus> = {}): RaftNodeStatus {
  return {
    id: 1,
    groupId: 'p/t/0/1',
    role: 'leader',
    term: 4,
    leaderId: 1,
    commitIndex: 10,
    appliedIndex: 10,
    leaderCommitIndex: 10,
    lastIndex: 12,
    durableIndex: 12,
    voters: [1, 2, 3],
    votersOutgoing: [],
    learners: [],
    lastCommitAgeMs: 5_000,
    pendingProposals: 2,
    ...o,
  };
}

describe('commitStalled', () => {
  it('holds for a leader with entries waiting, its own copy durable, and no commit for the stall time', () => {
    expect(commitStalled(status(), 2_000, 2_000, false)).toBe(true);
    expect(commitStalled(status(), 1_999, 2_000, false)).toBe(false);
    expect(commitStalled(status({ lastIndex: 10, durableIndex: 10 }), 5_000, 2_000, false)).toBe(false);
    // Its own disk is behind: the stall may be a disk every replica shares.
    expect(commitStalled(status({ durableIndex: 11 }), 5_000, 2_000, false)).toBe(false);
    expect(commitStalled(status({ voters: [1] }), 5_000, 2_000, false)).toBe(false);
    expect(commitStalled(status({ role: 'follower' }), 5_000, 2_000, false)).toBe(false);
    expect(commitStalled(status(), 5_000, 2_000, true)).toBe(false);
  });
});

describe('CommitStallWatch', () => {
  function fake(initial: Partial<RaftNodeStatus>) {
    let s = status(initial);
    const stepDowns: number[] = [];
    const node = {
      status: () => s,
      leadTransferee: () => 0,
      stepDown: () => {
        stepDowns.push(s.term);
        s = status({ ...s, role: 'follower', leaderId: 0 });
        return true;
      },
    };
    const led = { topic: 't', partition: 0, replica: { node } as never };
    return { led, stepDowns, set: (o: Partial<RaftNodeStatus>) => (s = status({ ...s, ...o })) };
  }

  it('steps down (and counts it) once the stall has lasted its time and still holds a quarter of it later', () => {
    let counted = 0;
    const watch = new CommitStallWatch({ stallMs: 2_000, log: silentLogger(), onStepDown: () => counted++ });
    const r = fake({ lastCommitAgeMs: 100 });
    watch.check(r.led, 0); // leading since 0
    r.set({ lastCommitAgeMs: 2_100 });
    watch.check(r.led, 2_100); // first seen stalled
    watch.check(r.led, 2_500);
    expect(r.stepDowns).toEqual([]);
    expect(counted).toBe(0);
    r.set({ lastCommitAgeMs: 2_600 });
    watch.check(r.led, 2_600);
    expect(r.stepDowns).toEqual([4]);
    expect(counted).toBe(1); // streambus_partition_leader_step_downs_total
    watch.check(r.led, 2_700); // a follower now: nothing more
    expect(counted).toBe(1);
  });

  it('times a new leadership from its start, not from a commit seen long before as a follower', () => {
    const watch = new CommitStallWatch({ stallMs: 2_000, log: silentLogger() });
    const r = fake({ lastCommitAgeMs: 60_000 });
    for (let t = 0; t <= 2_400; t += 100) watch.check(r.led, t);
    expect(r.stepDowns).toEqual([]);
    for (let t = 2_500; t <= 3_000; t += 100) watch.check(r.led, t);
    expect(r.stepDowns).toEqual([4]);
  });

  it('forgets a suspicion when a commit lands in between (a block of its own event loop, not its links)', () => {
    const watch = new CommitStallWatch({ stallMs: 2_000, log: silentLogger() });
    const r = fake({ lastCommitAgeMs: 100 });
    watch.check(r.led, 0);
    r.set({ lastCommitAgeMs: 3_000 });
    watch.check(r.led, 3_000); // first seen stalled, right after the loop resumed
    r.set({ lastCommitAgeMs: 20, commitIndex: 12 }); // the waiting answers were read: it commits
    watch.check(r.led, 3_100);
    r.set({ lastCommitAgeMs: 2_000, lastIndex: 14, durableIndex: 14 });
    watch.check(r.led, 5_100); // stalled again: a new suspicion, not the old one
    expect(r.stepDowns).toEqual([]);
    watch.check(r.led, 5_600);
    expect(r.stepDowns).toEqual([4]);
  });
});
