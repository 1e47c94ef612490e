/**
 * OffsetDelete's decision (src/broker/groups/offsets-delete.ts), Kafka's KIP-496 rules one by one: an
 * unknown group is GROUP_ID_NOT_FOUND, an Empty group loses what was asked, a group with members keeps the
 * offsets of every topic a member subscribes to (for any assignor it offered) and loses the rest, and a
 * partition without a committed offset is answered without an error and without a tombstone, unless it is
 * not in the metadata either (UNKNOWN_TOPIC_OR_PARTITION).
 */
import { describe, expect, it } from 'vitest';
import { planOffsetDelete, subscribedTopics } from '../../src/broker/groups/offsets-delete.js';
import { encodeSubscription } from '../../src/protocol/consumer-protocol.js';

const sub = (...topics: string[]) => encodeSubscription({ topics, ownedPartitions: [], generation: -1 });
/** old/3 is left by a deleted topic: committed, but not in the metadata. */
const committed = new Set(['orders/0', 'orders/1', 'audit/0', 'old/3']);
const existing = new Set(['orders/0', 'orders/1', 'orders/2', 'audit/0']);
const base = {
  exists: true,
  members: 0,
  protocolType: 'consumer',
  subscriptions: [] as Buffer[],
  hasCommitted: (topic: string, partition: number) => committed.has(`${topic}/${partition}`),
  partitionExists: (topic: string, partition: number) => existing.has(`${topic}/${partition}`),
};
const ask = (...names: string[]) =>
  names.map((n) => {
    const [topic, partition] = n.split('/');
    return { topic: topic!, partition: Number(partition) };
  });

describe('OffsetDelete plan', () => {
  it('a group that does not exist: GROUP_ID_NOT_FOUND for the group and every partition, nothing deleted', () => {
    const plan = planOffsetDelete('ghost', { ...base, exists: false, partitions: ask('orders/0') });
    expect(plan.error).toBe('GROUP_ID_NOT_FOUND');
    expect(plan.message).toBe('no group "ghost"');
    expect(plan.partitions.map((p) => p.error)).toEqual(['GROUP_ID_NOT_FOUND']);
    expect(plan.deleted).toEqual([]);
  });

  it('an Empty group: every asked partition with a committed offset is deleted, once', () => {
    const plan = planOffsetDelete('g', {
      ...base,
      partitions: ask('orders/0', 'orders/1', 'orders/0', 'audit/0'),
    });
    expect(plan.error).toBeNull();
    expect(plan.partitions.map((p) => p.error)).toEqual([null, null, null, null]);
    expect(plan.deleted).toEqual(ask('orders/0', 'orders/1', 'audit/0'));
  });

  it('a partition without a committed offset is not an error and gets no tombstone', () => {
    const plan = planOffsetDelete('g', { ...base, partitions: ask('orders/2') });
    expect(plan.partitions).toEqual([{ topic: 'orders', partition: 2, error: null }]);
    expect(plan.deleted).toEqual([]);
  });

  it('a partition not in the metadata and without an offset is UNKNOWN_TOPIC_OR_PARTITION (as Kafka)', () => {
    const plan = planOffsetDelete('g', { ...base, partitions: ask('orders/7', 'gone/0', 'orders/0') });
    expect(plan.error).toBeNull();
    expect(plan.partitions).toEqual([
      {
        topic: 'orders',
        partition: 7,
        error: 'UNKNOWN_TOPIC_OR_PARTITION',
        message: 'unknown topic or partition orders-7',
      },
      {
        topic: 'gone',
        partition: 0,
        error: 'UNKNOWN_TOPIC_OR_PARTITION',
        message: 'unknown topic or partition gone-0',
      },
      { topic: 'orders', partition: 0, error: null },
    ]);
    expect(plan.deleted).toEqual(ask('orders/0'));
  });

  it('an offset left by a deleted topic is deleted, though the partition is not in the metadata', () => {
    const plan = planOffsetDelete('g', { ...base, partitions: ask('old/3') });
    expect(plan.partitions).toEqual([{ topic: 'old', partition: 3, error: null }]);
    expect(plan.deleted).toEqual(ask('old/3'));
  });

  it('with members: partitions of a subscribed topic are refused one by one, the others deleted', () => {
    const plan = planOffsetDelete('g', {
      ...base,
      members: 2,
      subscriptions: [sub('orders'), sub('payments')],
      partitions: ask('orders/0', 'audit/0', 'orders/1'),
    });
    expect(plan.error).toBeNull();
    expect(plan.partitions.map((p) => [p.topic, p.partition, p.error])).toEqual([
      ['orders', 0, 'GROUP_SUBSCRIBED_TO_TOPIC'],
      ['audit', 0, null],
      ['orders', 1, 'GROUP_SUBSCRIBED_TO_TOPIC'],
    ]);
    expect(plan.partitions[0]?.message).toBe('a member of group "g" subscribes to orders');
    expect(plan.deleted).toEqual(ask('audit/0'));
  });

  it('every assignor a member offered counts (mid-rebalance the choice is not made yet)', () => {
    const plan = planOffsetDelete('g', {
      ...base,
      members: 1,
      subscriptions: [sub('payments'), sub('audit')],
      partitions: ask('audit/0'),
    });
    expect(plan.partitions[0]?.error).toBe('GROUP_SUBSCRIBED_TO_TOPIC');
    expect(plan.deleted).toEqual([]);
  });

  it('members whose subscriptions cannot be read refuse the whole request (NON_EMPTY_GROUP)', () => {
    for (const input of [
      { protocolType: 'connect', subscriptions: [sub('orders')] },
      { protocolType: 'consumer', subscriptions: [sub('orders'), Buffer.from('not msgpack')] },
    ]) {
      const plan = planOffsetDelete('g', { ...base, members: 1, ...input, partitions: ask('audit/0') });
      expect(plan.error).toBe('NON_EMPTY_GROUP');
      expect(plan.partitions.map((p) => p.error)).toEqual(['NON_EMPTY_GROUP']);
      expect(plan.deleted).toEqual([]);
    }
  });

  it('an Empty group of another protocol type still has its offsets deleted (no member to read)', () => {
    const plan = planOffsetDelete('g', { ...base, protocolType: '', partitions: ask('orders/0') });
    expect(plan.deleted).toEqual(ask('orders/0'));
  });

  it('subscribedTopics: the union of every subscription, null when one is unreadable', () => {
    expect([...(subscribedTopics('consumer', [sub('a', 'b'), sub('b', 'c')]) ?? [])].sort()).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(subscribedTopics('consumer', [Buffer.alloc(0)])).toBeNull();
  });
});
