/**
 * Consumer-group assignor types. Subscriptions and assignments travel as the consumer protocol's bytes
 * (src/protocol/consumer-protocol.ts, which owns TopicPartition and Subscription); the group leader decodes
 * every member's subscription, runs the chosen assignor and encodes one assignment per member.
 */
import { compareStrings, type Subscription, type TopicPartition } from '../../protocol/consumer-protocol.js';

export type { Subscription, TopicPartition };
export { compareStrings };

export interface MemberSubscription {
  memberId: string;
  /** Static membership id (KIP-345); orders members ahead of memberId when present, as Kafka does. */
  groupInstanceId: string | null;
  subscription: Subscription;
}

export type RebalanceProtocol = 'eager' | 'cooperative';

export interface Assignor {
  readonly name: string;
  readonly rebalanceProtocol: RebalanceProtocol;
  /**
   * Returns an entry (possibly empty) for every member. Topics absent from `partitionsPerTopic` are
   * unknown and ignored. Pure and deterministic: the order of `members` does not change the result.
   */
  assign(
    members: readonly MemberSubscription[],
    partitionsPerTopic: ReadonlyMap<string, number>,
  ): Map<string, TopicPartition[]>;
}

/** A stable string key for maps and sets: `topic` and partition joined by a NUL, which no topic contains. */
export function topicPartitionKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

/**
 * Kafka's member order (RangeAssignor.MemberInfo.compareTo): static members first, ordered by instance id,
 * then dynamic members by member id. Compares UTF-16 code units like Java's String.compareTo; memberId
 * breaks ties so the order is total even for (invalid) duplicate instance ids.
 */
export function compareMembers(a: MemberSubscription, b: MemberSubscription): number {
  const ai = a.groupInstanceId;
  const bi = b.groupInstanceId;
  if (ai !== null && bi !== null && ai !== bi) return ai < bi ? -1 : 1;
  if (ai !== null && bi === null) return -1;
  if (ai === null && bi !== null) return 1;
  return compareStrings(a.memberId, b.memberId);
}

export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return compareStrings(a.topic, b.topic) || a.partition - b.partition;
}
