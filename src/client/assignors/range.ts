/**
 * Kafka's RangeAssignor (eager). Per topic, the members subscribed to it are put in Kafka's member order
 * (static members by group instance id first, then member id) and the partitions are cut into contiguous
 * ranges: each member gets `floor(n / m)` and the first `n % m` members one extra. Topics are independent,
 * so with several topics the first members collect every topic's extra partition (Kafka's known skew).
 */
import { emptyAssignment, knownTopics, partitionCount, sortAssignment, sortMembers } from './common.js';
import type { Assignor, MemberSubscription, TopicPartition } from './types.js';

export class RangeAssignor implements Assignor {
  readonly name = 'range';
  readonly rebalanceProtocol = 'eager' as const;

  assign(
    members: readonly MemberSubscription[],
    partitionsPerTopic: ReadonlyMap<string, number>,
  ): Map<string, TopicPartition[]> {
    const sorted = sortMembers(members);
    const result = emptyAssignment(sorted);
    const subscribersByTopic = new Map<string, string[]>();
    for (const member of sorted) {
      for (const topic of knownTopics(member, partitionsPerTopic)) {
        const list = subscribersByTopic.get(topic) ?? [];
        list.push(member.memberId);
        subscribersByTopic.set(topic, list);
      }
    }
    for (const [topic, subscribers] of subscribersByTopic) {
      const n = partitionCount(partitionsPerTopic, topic);
      const perMember = Math.floor(n / subscribers.length);
      const withExtra = n % subscribers.length;
      subscribers.forEach((memberId, i) => {
        const start = perMember * i + Math.min(i, withExtra);
        const length = perMember + (i < withExtra ? 1 : 0);
        const list = result.get(memberId)!;
        for (let p = start; p < start + length; p++) list.push({ topic, partition: p });
      });
    }
    return sortAssignment(result);
  }
}
