/**
 * InSyncSet against a scripted Raft view: a new leader starts from the recorded set, voters join once they
 * answered and held the previous check's commit, and drop out after the lag time.
 */
import { describe, expect, it } from 'vitest';
import { InSyncSet } from '../../src/broker/replica/in-sync-set.js';
import type { FollowerProgress } from '../../src/raft/core/raft.js';

const LAG_MS = 1_000;

/** A leader (id 1) of voters 1, 2, 3 whose commit index and follower progress the test sets. */
function scriptedNode() {
  const view = {
    commitIndex: 0,
    progress: [] as FollowerProgress[],
  };
  const node = {
    status: () => ({ id: 1, voters: [1, 2, 3], commitIndex: view.commitIndex }),
    progress: () => view.progress,
  };
  const follower = (id: number, match: number, recentActive = true): FollowerProgress => ({
    id,
    match,
    next: match + 1,
    isLearner: false,
    recentActive,
  });
  return { view, node: node as unknown as ConstructorParameters<typeof InSyncSet>[0], follower };
}

describe('InSyncSet', () => {
  it('starts a new leader with the recorded set, or every voter when none is recorded', () => {
    const { node } = scriptedNode();
    const set = new InSyncSet(node, LAG_MS);
    set.reset(true, 0, [1, 3]);
    expect(set.members(0)).toEqual([1, 3]);
    set.reset(true, 0, undefined);
    expect(set.members(0)).toEqual([1, 2, 3]);
  });

  it('has only the leader itself after a reset as follower', () => {
    const { node } = scriptedNode();
    const set = new InSyncSet(node, LAG_MS);
    set.reset(true, 0, undefined);
    set.reset(false, 0, undefined);
    expect(set.members(0)).toEqual([1]);
  });

  it('drops a voter that stops keeping up after the lag time and takes it back once it catches up', () => {
    const { view, node, follower } = scriptedNode();
    const set = new InSyncSet(node, LAG_MS);
    view.commitIndex = 10;
    set.reset(true, 0, undefined);
    // Voter 2 keeps up, voter 3 stays at 4 although 10 was committed before the check.
    view.progress = [follower(2, 10), follower(3, 4)];
    set.track(500);
    expect(set.members(LAG_MS)).toEqual([1, 2, 3]);
    set.track(1_000);
    expect(set.members(LAG_MS + 1)).toEqual([1, 2]);
    view.progress = [follower(2, 10), follower(3, 10)];
    set.track(1_200);
    expect(set.members(1_200)).toEqual([1, 2, 3]);
  });

  it('does not count a voter that holds everything but stopped answering', () => {
    const { view, node, follower } = scriptedNode();
    const set = new InSyncSet(node, LAG_MS);
    set.reset(true, 0, undefined);
    view.progress = [follower(2, 0), follower(3, 0, false)];
    set.track(900);
    expect(set.members(1_500)).toEqual([1, 2]);
  });

  it('never counts a learner', () => {
    const { view, node, follower } = scriptedNode();
    const set = new InSyncSet(node, LAG_MS);
    set.reset(true, 0, [1]);
    view.progress = [{ ...follower(2, 0), isLearner: true }];
    set.track(100);
    expect(set.members(100)).toEqual([1]);
  });
});
