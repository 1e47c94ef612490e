/**
 * The leader's choice of a replica for a consumer with a rack (Kafka's RackAwareReplicaSelector, KIP-392):
 * an in-sync, available replica in the consumer's rack, the most caught up first; the leader itself (-1)
 * whenever it is in that rack, the consumer has no rack, or no such replica exists.
 */
import { describe, expect, it } from 'vitest';
import {
  preferredReadReplica,
  READ_FROM_LEADER,
  type ReadReplicaChoice,
} from '../../src/broker/replica/read-replica-selector.js';

const RACKS: Readonly<Record<number, string | null>> = { 1: 'a', 2: 'b', 3: 'c', 4: 'b', 5: null };

function choice(overrides: Partial<ReadReplicaChoice> = {}): ReadReplicaChoice {
  return {
    leaderId: 1,
    clientRack: 'b',
    inSync: [1, 2, 3],
    rackOf: (id) => RACKS[id],
    available: () => true,
    matchOf: () => 10,
    ...overrides,
  };
}

describe('preferredReadReplica', () => {
  it('names the in-sync replica in the consumer rack', () => {
    expect(preferredReadReplica(choice())).toBe(2);
    expect(preferredReadReplica(choice({ clientRack: 'c' }))).toBe(3);
  });

  it('reads from the leader when the consumer has no rack or shares the leader rack', () => {
    expect(preferredReadReplica(choice({ clientRack: '' }))).toBe(READ_FROM_LEADER);
    expect(preferredReadReplica(choice({ clientRack: 'a' }))).toBe(READ_FROM_LEADER);
  });

  it('reads from the leader when the replica in that rack is out of sync, unavailable, or the rack has none', () => {
    expect(preferredReadReplica(choice({ inSync: [1, 3] }))).toBe(READ_FROM_LEADER);
    expect(preferredReadReplica(choice({ available: (id) => id !== 2 }))).toBe(READ_FROM_LEADER);
    expect(preferredReadReplica(choice({ clientRack: 'z' }))).toBe(READ_FROM_LEADER);
  });

  it('never names a replica without a rack, even for a consumer whose rack is empty-like', () => {
    expect(preferredReadReplica(choice({ inSync: [1, 5], clientRack: 'null' }))).toBe(READ_FROM_LEADER);
  });

  it('of two in the rack picks the most caught up, and the lower id on a tie', () => {
    const inSync = [1, 2, 3, 4];
    expect(preferredReadReplica(choice({ inSync, matchOf: (id) => (id === 4 ? 12 : 10) }))).toBe(4);
    expect(preferredReadReplica(choice({ inSync: [4, 1, 2] }))).toBe(2);
  });
});
