/** Helpers shared by the assignors: member ordering, topic filtering and the result shape. */
import { invariant } from '../../errors/index.js';
import {
  compareMembers,
  compareTopicPartitions,
  type MemberSubscription,
  type TopicPartition,
} from './types.js';

/** Members in Kafka's order; a duplicate member id is a coordinator bug, not an operating error. */
export function sortMembers(members: readonly MemberSubscription[]): MemberSubscription[] {
  const sorted = [...members].sort(compareMembers);
  const ids = new Set(sorted.map((m) => m.memberId));
  invariant(ids.size === sorted.length, 'duplicate member id in group assignment');
  return sorted;
}

/** The member's subscribed topics that exist, deduplicated and sorted. */
export function knownTopics(
  member: MemberSubscription,
  partitionsPerTopic: ReadonlyMap<string, number>,
): string[] {
  const topics = new Set<string>();
  for (const topic of member.subscription.topics) {
    if ((partitionsPerTopic.get(topic) ?? 0) > 0) topics.add(topic);
  }
  return [...topics].sort();
}

export function partitionCount(partitionsPerTopic: ReadonlyMap<string, number>, topic: string): number {
  const n = partitionsPerTopic.get(topic) ?? 0;
  invariant(Number.isSafeInteger(n) && n >= 0, () => `partition count of ${topic} is ${n}`);
  return n;
}

/** An empty entry for every member, so members that get nothing still hear so. */
export function emptyAssignment(members: readonly MemberSubscription[]): Map<string, TopicPartition[]> {
  return new Map(members.map((m) => [m.memberId, []]));
}

/** Sorts every member's partitions by topic then partition, so output bytes do not depend on input order. */
export function sortAssignment(assignment: Map<string, TopicPartition[]>): Map<string, TopicPartition[]> {
  for (const list of assignment.values()) list.sort(compareTopicPartitions);
  return assignment;
}
