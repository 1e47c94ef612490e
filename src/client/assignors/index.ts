/**
 * The client's partition assignors, looked up by the protocol name members advertise in JoinGroup, and
 * the consumer-side reconciliation of a new assignment against what the consumer owns.
 */
import { StreamBusError } from '../../errors/index.js';
import { CooperativeStickyAssignor } from './cooperative-sticky.js';
import { RangeAssignor } from './range.js';
import { RoundRobinAssignor } from './round-robin.js';
import {
  type Assignor,
  compareTopicPartitions,
  type RebalanceProtocol,
  type TopicPartition,
  topicPartitionKey,
} from './types.js';

export {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  FORMAT_VERSION,
} from '../../protocol/consumer-protocol.js';
export { CooperativeStickyAssignor } from './cooperative-sticky.js';
export { RangeAssignor } from './range.js';
export { RoundRobinAssignor } from './round-robin.js';
export type {
  Assignor,
  MemberSubscription,
  RebalanceProtocol,
  Subscription,
  TopicPartition,
} from './types.js';
export { topicPartitionKey } from './types.js';

export const ASSIGNORS: Readonly<Record<string, Assignor>> = Object.freeze({
  'cooperative-sticky': new CooperativeStickyAssignor(),
  range: new RangeAssignor(),
  roundrobin: new RoundRobinAssignor(),
});

/** Preference order a consumer advertises when none is configured, like Kafka 3.x's default. */
export const DEFAULT_ASSIGNORS: readonly string[] = Object.freeze(['cooperative-sticky', 'range']);

export function assignorByName(name: string): Assignor {
  const assignor = Object.hasOwn(ASSIGNORS, name) ? ASSIGNORS[name] : undefined;
  if (assignor === undefined) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: 'assignorByName',
      message: `unknown partition assignor '${name}'; known: ${Object.keys(ASSIGNORS).sort().join(', ')}`,
      metadata: { name, known: Object.keys(ASSIGNORS).sort() },
    });
  }
  return assignor;
}

export interface Reconciliation {
  /** Stop consuming these and commit their offsets before acknowledging the rebalance. */
  revoked: TopicPartition[];
  /** Start consuming these (from the committed offset). */
  added: TopicPartition[];
  /** Keep consuming these without interruption (always empty for eager). */
  kept: TopicPartition[];
  /** Rejoin at once: revoked partitions are handed to their new owner only by a follow-up rebalance. */
  rejoin: boolean;
}

/**
 * What a consumer does with a new assignment. Eager: everything owned was revoked before joining, so the
 * whole assignment is new. Cooperative (KIP-429): only partitions missing from the new assignment are
 * revoked, and revoking any means the group must rebalance again to hand them out.
 */
export function reconcileAssignment(
  owned: readonly TopicPartition[],
  assigned: readonly TopicPartition[],
  protocol: RebalanceProtocol,
): Reconciliation {
  const ownedList = dedupeSorted(owned);
  const assignedList = dedupeSorted(assigned);
  if (protocol === 'eager') return { revoked: ownedList, added: assignedList, kept: [], rejoin: false };
  const ownedKeys = new Set(ownedList.map(topicPartitionKey));
  const assignedKeys = new Set(assignedList.map(topicPartitionKey));
  const revoked = ownedList.filter((tp) => !assignedKeys.has(topicPartitionKey(tp)));
  const added = assignedList.filter((tp) => !ownedKeys.has(topicPartitionKey(tp)));
  const kept = assignedList.filter((tp) => ownedKeys.has(topicPartitionKey(tp)));
  return { revoked, added, kept, rejoin: revoked.length > 0 };
}

function dedupeSorted(list: readonly TopicPartition[]): TopicPartition[] {
  const byKey = new Map(
    list.map((tp) => [topicPartitionKey(tp), { topic: tp.topic, partition: tp.partition }]),
  );
  return [...byKey.values()].sort(compareTopicPartitions);
}
