/**
 * liveLeaderOf: which partition leader a broker's own replica may name in Metadata answers. A follower's
 * leader counts while the follower is in its Raft lease and that broker's traffic arrives; the broker itself
 * while it leads and hears from a majority of the voters (both sets of a joint configuration).
 */
import { describe, expect, it } from 'vitest';
import { type LeaseHolder, liveLeaderOf } from '../../src/broker/replica/live-leader.js';

const SELF = 1;

function replica(leaderInLease: number, voters = [1, 2, 3], votersOutgoing: number[] = []): LeaseHolder {
  return { leaderInLease: () => leaderInLease, node: { status: () => ({ voters, votersOutgoing }) } };
}

const answeringOnly =
  (...ids: number[]) =>
  (id: number): boolean =>
    ids.includes(id);

describe('liveLeaderOf', () => {
  it('no replica here, or none in its lease: no leader of its own to name', () => {
    expect(liveLeaderOf(undefined, SELF, answeringOnly(2, 3))).toBe(0);
    expect(liveLeaderOf(replica(0), SELF, answeringOnly(2, 3))).toBe(0);
  });

  it('a follower names the leader of its lease only while that broker is heard from', () => {
    expect(liveLeaderOf(replica(2), SELF, answeringOnly(2))).toBe(2);
    // Resumed from a pause: the lease (counted in ticks) still stands, but nothing arrived from the leader.
    expect(liveLeaderOf(replica(2), SELF, answeringOnly(3))).toBe(0);
  });

  it('a leader names itself only while it hears from a majority of the voters', () => {
    expect(liveLeaderOf(replica(SELF), SELF, answeringOnly(2))).toBe(SELF);
    expect(liveLeaderOf(replica(SELF), SELF, answeringOnly())).toBe(0);
    expect(liveLeaderOf(replica(SELF, [1, 2, 3, 4, 5]), SELF, answeringOnly(4))).toBe(0);
    expect(liveLeaderOf(replica(SELF, [1, 2, 3, 4, 5]), SELF, answeringOnly(4, 5))).toBe(SELF);
    // A single-voter group is its own majority.
    expect(liveLeaderOf(replica(SELF, [1]), SELF, answeringOnly())).toBe(SELF);
  });

  it('in a joint configuration a leader needs a majority of both voter sets', () => {
    const joint = replica(SELF, [1, 4, 5], [1, 2, 3]);
    expect(liveLeaderOf(joint, SELF, answeringOnly(2, 3))).toBe(0);
    expect(liveLeaderOf(joint, SELF, answeringOnly(4, 5))).toBe(0);
    expect(liveLeaderOf(joint, SELF, answeringOnly(2, 4))).toBe(SELF);
  });
});
