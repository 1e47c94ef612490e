/**
 * OffsetDelete's decision (Kafka's KIP-496), apart from the shard's I/O: which committed offsets of a group
 * to tombstone, and what to answer for each partition asked about.
 *
 * - A group that does not exist: GROUP_ID_NOT_FOUND.
 * - An Empty group: every asked partition with a committed offset is deleted.
 * - A group with members: a partition of a topic some member subscribes to is refused
 *   (GROUP_SUBSCRIBED_TO_TOPIC: its owner would commit it again, or lose its place); the others are
 *   deleted. The topics come from the members' subscription bytes, the SDK's consumer protocol
 *   (src/protocol/consumer-protocol.ts), read for every assignor each member offered, so a group in the middle of
 *   a rebalance is judged by everything its members may end up reading. A group of another protocol type,
 *   or a subscription that cannot be read, refuses the whole request (NON_EMPTY_GROUP), as Kafka does.
 * - A partition without a committed offset is not an error (there is nothing to delete), as long as it
 *   exists: one the topic does not have (or of a topic that does not exist) is UNKNOWN_TOPIC_OR_PARTITION,
 *   as Kafka answers for partitions not in the metadata, rather than a silent "nothing committed". One
 *   that is not in the topic but has a committed offset (left by a deleted topic, or by an earlier
 *   incarnation with more partitions) is deleted: removing such leftovers is what the request is for.
 */

import type { ErrorCode } from '../../errors/index.js';
import { decodeSubscription } from '../../protocol/consumer-protocol.js';
import { partitionKey } from './offsets-state.js';

/** The SDK's consumers' protocol type (and Kafka's): the one whose subscriptions the broker can read. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface OffsetDeleteInput {
  /** The group has a machine, committed offsets or a persisted generation on this shard. */
  readonly exists: boolean;
  readonly members: number;
  readonly protocolType: string;
  /** Every member's subscription bytes, for every assignor it offered. */
  readonly subscriptions: readonly Buffer[];
  readonly hasCommitted: (topic: string, partition: number) => boolean;
  /** The partition exists in the topic metadata now. */
  readonly partitionExists: (topic: string, partition: number) => boolean;
  readonly partitions: readonly TopicPartitionRef[];
}

export interface OffsetDeletePlan {
  readonly error: ErrorCode | null;
  readonly message?: string;
  /** One answer per asked partition, in the order asked. */
  readonly partitions: readonly (TopicPartitionRef & { error: ErrorCode | null; message?: string })[];
  /** The committed offsets to tombstone, each once. */
  readonly deleted: readonly TopicPartitionRef[];
}

export function planOffsetDelete(groupId: string, input: OffsetDeleteInput): OffsetDeletePlan {
  const failAll = (error: ErrorCode, message: string): OffsetDeletePlan => ({
    error,
    message,
    partitions: input.partitions.map((p) => ({ topic: p.topic, partition: p.partition, error, message })),
    deleted: [],
  });
  if (!input.exists) return failAll('GROUP_ID_NOT_FOUND', `no group ${JSON.stringify(groupId)}`);
  let subscribed: ReadonlySet<string> = new Set();
  if (input.members > 0) {
    const topics = subscribedTopics(input.protocolType, input.subscriptions);
    if (topics === null) {
      return failAll(
        'NON_EMPTY_GROUP',
        `group ${JSON.stringify(groupId)} has members whose subscriptions this broker cannot read: ` +
          'stop them first',
      );
    }
    subscribed = topics;
  }
  const partitions: OffsetDeletePlan['partitions'][number][] = [];
  const deleted = new Map<string, TopicPartitionRef>();
  for (const p of input.partitions) {
    const ref = { topic: p.topic, partition: p.partition };
    const committed = input.hasCommitted(p.topic, p.partition);
    if (!committed && !input.partitionExists(p.topic, p.partition)) {
      partitions.push({
        ...ref,
        error: 'UNKNOWN_TOPIC_OR_PARTITION',
        message: `unknown topic or partition ${p.topic}-${p.partition}`,
      });
      continue;
    }
    if (subscribed.has(p.topic)) {
      partitions.push({
        ...ref,
        error: 'GROUP_SUBSCRIBED_TO_TOPIC',
        message: `a member of group ${JSON.stringify(groupId)} subscribes to ${p.topic}`,
      });
      continue;
    }
    partitions.push({ ...ref, error: null });
    if (committed) deleted.set(partitionKey(p.topic, p.partition), ref);
  }
  return { error: null, partitions, deleted: [...deleted.values()] };
}

/** The topics the subscriptions name, or null when one cannot be read (or the type is not 'consumer'). */
export function subscribedTopics(
  protocolType: string,
  subscriptions: readonly Buffer[],
): ReadonlySet<string> | null {
  if (protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
  const topics = new Set<string>();
  for (const bytes of subscriptions) {
    try {
      for (const topic of decodeSubscription(bytes).topics) topics.add(topic);
    } catch {
      return null;
    }
  }
  return topics;
}
