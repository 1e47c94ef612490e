import { describe, expect, it } from 'vitest';
import { parseReplicaList, reassignmentSettled } from '../../cmd/commands/topic-reassign.js';
import type { PartitionDescription } from '../../src/protocol/messages.js';

const partition = (replicas: number[], isr: number[]): PartitionDescription =>
  ({ partition: 0, leaderId: replicas[0] ?? -1, replicas, isr }) as PartitionDescription;

describe('topic reassign', () => {
  it('--replicas takes positive broker ids separated by commas, in order', () => {
    expect(parseReplicaList('4,1,2')).toEqual([4, 1, 2]);
    for (const bad of ['', '1,,2', '0', '-1', '1.5', 'a'])
      expect(() => parseReplicaList(bad)).toThrow(/--replicas/);
  });

  it('--wait ends once the replicas are the list, in its order, and all in sync', () => {
    expect(reassignmentSettled(partition([4, 1, 2], [1, 2, 4]), [4, 1, 2])).toBe(true);
    expect(reassignmentSettled(partition([1, 2, 4], [1, 2, 4]), [4, 1, 2])).toBe(false);
    expect(reassignmentSettled(partition([4, 1, 2], [1, 2]), [4, 1, 2])).toBe(false);
    expect(reassignmentSettled(partition([1, 2, 3], [1, 2, 3]), [4, 1, 2])).toBe(false);
  });
});
