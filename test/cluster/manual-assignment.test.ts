/**
 * checkAssignment: an operator's replica lists are accepted only with the same number of distinct, known
 * brokers per partition and counts that match the request; each refusal names what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { type AssignmentExpectations, checkAssignment } from '../../src/cluster/manual-assignment.js';
import { isStreamBusError } from '../../src/errors/index.js';

const EXPECT: AssignmentExpectations = {
  topic: 'pinned',
  operation: 'topic.create',
  partitions: -1,
  replicationFactor: -1,
  brokers: new Set([1, 2, 3, 5]),
};

function refusal(assignments: number[][], expect: Partial<AssignmentExpectations> = {}): string {
  try {
    checkAssignment(assignments, { ...EXPECT, ...expect });
  } catch (err) {
    if (isStreamBusError(err) && err.code === 'INVALID_REPLICA_ASSIGNMENT') return err.message;
    throw err;
  }
  throw new Error('accepted');
}

describe('checkAssignment', () => {
  it('accepts lists of distinct known brokers and reports their counts', () => {
    expect(
      checkAssignment(
        [
          [1, 2],
          [5, 3],
          [2, 1],
        ],
        EXPECT,
      ),
    ).toEqual({ partitions: 3, replicationFactor: 2 });
    expect(checkAssignment([[3]], { ...EXPECT, partitions: 1, replicationFactor: 1 })).toEqual({
      partitions: 1,
      replicationFactor: 1,
    });
  });

  it('refuses an empty assignment, an empty list, a repeated broker and unequal lists', () => {
    expect(refusal([])).toBe('pinned: the assignment lists no partition');
    expect(refusal([[]])).toBe('pinned: partition 0 lists no replica');
    expect(
      refusal([
        [1, 2],
        [3, 3],
      ]),
    ).toBe('pinned: partition 1 lists broker 3 twice');
    expect(refusal([[1, 2], [3]])).toContain('partition 1 lists 1 replicas and partition 0 lists 2');
  });

  it('refuses a broker the cluster does not have, naming the ones it has', () => {
    expect(refusal([[1, 4]])).toBe(
      'pinned: partition 0 names broker 4, which is not in the cluster (brokers: 1, 2, 3, 5)',
    );
  });

  it('refuses counts that do not match the request', () => {
    expect(refusal([[1], [2]], { partitions: 3 })).toBe(
      'pinned: 3 partitions asked, but the assignment lists 2',
    );
    expect(refusal([[1], [2]], { replicationFactor: 2 })).toBe(
      'pinned: the replication factor is 2, but partition 0 lists 1 replicas',
    );
  });

  it('names the real partition numbers of added partitions (firstPartition: the current count)', () => {
    expect(refusal([[1], [2]], { replicationFactor: 3, firstPartition: 6 })).toBe(
      'pinned: the replication factor is 3, but partition 6 lists 1 replicas',
    );
    expect(refusal([[1], [2, 2]], { firstPartition: 6 })).toContain(
      'partition 7 lists 2 replicas and partition 6 lists 1',
    );
    expect(refusal([[1], [4]], { firstPartition: 6 })).toContain('partition 7 names broker 4');
  });
});
