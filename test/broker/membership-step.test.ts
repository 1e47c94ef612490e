/** A partition leader's membership steps: learner first, promote once caught up, then remove who left. */
import { describe, expect, it } from 'vitest';
import { type GroupMembership, nextMembershipChange } from '../../src/broker/replica/membership-step.js';

const group = (g: Partial<GroupMembership> & Pick<GroupMembership, 'voters'>): GroupMembership => ({
  self: 1,
  learners: [],
  commitIndex: 100,
  matchOf: () => undefined,
  ...g,
});

describe('nextMembershipChange', () => {
  it('adds a new replica as a learner, promotes it only once it holds everything committed, then removes the old one', () => {
    const replicas = [1, 2, 4];
    expect(nextMembershipChange(group({ voters: [1, 2, 3] }), replicas)).toEqual({
      type: 'add-learner',
      nodeId: 4,
    });
    const learning = group({ voters: [1, 2, 3], learners: [4], matchOf: (id) => (id === 4 ? 60 : 100) });
    // Still catching up: no promotion, and the old voter stays until the new one votes.
    expect(nextMembershipChange(learning, replicas)).toBeUndefined();
    const caughtUp = group({ voters: [1, 2, 3], learners: [4], matchOf: () => 100 });
    expect(nextMembershipChange(caughtUp, replicas)).toEqual({ type: 'add-voter', nodeId: 4 });
    expect(nextMembershipChange(group({ voters: [1, 2, 3, 4] }), replicas)).toEqual({
      type: 'remove',
      nodeId: 3,
    });
    expect(nextMembershipChange(group({ voters: [1, 2, 4] }), replicas)).toBeUndefined();
  });

  it('never removes the leader itself, and removes learners that left', () => {
    expect(nextMembershipChange(group({ voters: [1, 2, 3] }), [2, 3])).toBeUndefined();
    expect(nextMembershipChange(group({ voters: [1, 2, 3], learners: [5] }), [1, 2, 3])).toEqual({
      type: 'remove',
      nodeId: 5,
    });
  });
});
