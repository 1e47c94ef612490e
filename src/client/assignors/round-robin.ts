/**
 * Kafka's RoundRobinAssignor (eager). Every subscribed topic-partition, sorted by topic then partition, is
 * dealt to the members in Kafka's member order, cycling; a member not subscribed to the partition's topic is
 * skipped, exactly like Kafka's CircularIterator. With identical subscriptions, counts differ by at most one.
 */
import { emptyAssignment, knownTopics, partitionCount, sortAssignment, sortMembers } from './common.js';
import type { Assignor, MemberSubscription, TopicPartition } from './types.js';

export class RoundRobinAssignor implements Assignor {
  readonly name = 'roundrobin';
  readonly rebalanceProtocol = 'eager' as const;

  assign(
    members: readonly MemberSubscription[],
    partitionsPerTopic: ReadonlyMap<string, number>,
  ): Map<string, TopicPartition[]> {
    const sorted = sortMembers(members);
    const result = emptyAssignment(sorted);
    const topicsByMember = sorted.map((m) => new Set(knownTopics(m, partitionsPerTopic)));
    const allTopics = [...new Set(topicsByMember.flatMap((topics) => [...topics]))].sort();
    let cursor = 0;
    for (const topic of allTopics) {
      const n = partitionCount(partitionsPerTopic, topic);
      for (let partition = 0; partition < n; partition++) {
        // Someone subscribes to every topic in allTopics, so this finds a member within one cycle.
        while (!topicsByMember[cursor]!.has(topic)) cursor = (cursor + 1) % sorted.length;
        result.get(sorted[cursor]!.memberId)!.push({ topic, partition });
        cursor = (cursor + 1) % sorted.length;
      }
    }
    return sortAssignment(result);
  }
}
