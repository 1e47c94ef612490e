/**
 * The apply rules of alterPartitionAssignments (commands.ts, REASSIGNMENT_NOTE), pure: an operator's
 * replica list for some partitions of a topic (Kafka's kafka-reassign-partitions), or an unpin.
 *
 * A list must name distinct registered brokers that are not leaving (draining or decommissioned: the
 * rebalancer is moving replicas off them). From FEATURE.reassignmentReplicationFactor on it may be longer or
 * shorter than the partition's replica list (the rebalancer then adds or removes replicas, docs/cluster.md
 * "Reassigning and unpinning"), but never shorter than the topic's effective min_insync_replicas: every
 * acks=all write would be refused for good. Below that level the rules are an older build's, to the word
 * (its replicas apply the same commands and must end in the same image): the same replica count only.
 */
import type { ErrorCode } from '../errors/index.js';
import { minInsyncReplicas } from '../storage/topic-config.js';
import type { PartitionAssignmentChange } from './commands.js';
import { FEATURE } from './feature-levels.js';
import type { BrokerId, BrokerRecord, PartitionRecord, TopicRecord } from './types.js';

export interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * The topic's partition list after the changes, or why they are refused (all or none). Partitions the
 * changes leave as they were are the same records, so a repeated command changes nothing.
 */
export function reassignedPartitions(
  topic: TopicRecord,
  brokers: ReadonlyMap<BrokerId, BrokerRecord>,
  clusterConfig: Readonly<Record<string, string>>,
  featureLevel: number,
  changes: readonly PartitionAssignmentChange[],
): readonly PartitionRecord[] | Refusal {
  const resizes = featureLevel >= FEATURE.reassignmentReplicationFactor;
  if (changes.length === 0) return { code: 'INVALID_REQUEST', message: 'no partition to change' };
  const partitions = [...topic.partitions];
  const seen = new Set<number>();
  for (const change of changes) {
    const name = `${topic.name}/${change.partition}`;
    const record = topic.partitions[change.partition];
    if (record === undefined) {
      return { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `unknown topic or partition ${name}` };
    }
    if (seen.has(change.partition)) {
      return { code: 'INVALID_REQUEST', message: `partition ${name} is listed twice` };
    }
    seen.add(change.partition);
    if (change.replicas === null) {
      partitions[change.partition] = unpinned(record);
      continue;
    }
    const refusal = resizes
      ? (checkReplicaList(name, change.replicas, brokers) ??
        checkMinInsync(name, topic, clusterConfig, change.replicas))
      : (checkReplicaCount(name, record, change.replicas) ??
        checkReplicaList(name, change.replicas, brokers));
    if (refusal !== undefined) return refusal;
    partitions[change.partition] = pinnedTo(record, change.replicas);
  }
  return partitions;
}

function checkReplicaList(
  name: string,
  replicas: readonly BrokerId[],
  brokers: ReadonlyMap<BrokerId, BrokerRecord>,
): Refusal | undefined {
  const invalid = (message: string): Refusal => ({
    code: 'INVALID_REPLICA_ASSIGNMENT',
    message: `${name}: ${message}`,
  });
  if (replicas.length === 0) return invalid('the replica list is empty');
  const seen = new Set<BrokerId>();
  for (const id of replicas) {
    if (seen.has(id)) return invalid(`broker ${id} is listed twice`);
    seen.add(id);
    const broker = brokers.get(id);
    if (broker === undefined) {
      return { code: 'UNKNOWN_BROKER', message: `${name}: broker ${id} is not registered` };
    }
    if (broker.state === 'draining' || broker.state === 'decommissioned') {
      return invalid(`broker ${id} is ${broker.state}: it is leaving the cluster`);
    }
  }
  return undefined;
}

/**
 * Below FEATURE.reassignmentReplicationFactor: the partition's replica count only, refused as an older build
 * refuses it (code and message), after an empty list, which checkReplicaList refuses as that build does.
 */
function checkReplicaCount(
  name: string,
  record: PartitionRecord,
  replicas: readonly BrokerId[],
): Refusal | undefined {
  if (replicas.length === 0 || replicas.length === record.replicas.length) return undefined;
  return {
    code: 'INVALID_REPLICATION_FACTOR',
    message: `${name} has ${record.replicas.length} replicas and the list names ${replicas.length}: a reassignment keeps the replication factor`,
  };
}

/**
 * A list shorter than the in-sync replicas an acks=all write needs (the topic's min_insync_replicas, else
 * the cluster's default: broker/topic-configs.ts merges them the same way) would refuse every such write,
 * the producer's default, for as long as it stands. The broker's own topics (`__*`) need at most their
 * replica count (minInsyncFor), so any list fits them.
 */
function checkMinInsync(
  name: string,
  topic: TopicRecord,
  clusterConfig: Readonly<Record<string, string>>,
  replicas: readonly BrokerId[],
): Refusal | undefined {
  if (topic.name.startsWith('__')) return undefined;
  const required = minInsyncReplicas({ ...clusterConfig, ...topic.configs });
  if (replicas.length >= required) return undefined;
  return {
    code: 'INVALID_REPLICATION_FACTOR',
    message: `${name}: the list names ${replicas.length} replica(s) but min_insync_replicas is ${required}: every acks=all write would be refused (lower min_insync_replicas first)`,
  };
}

/**
 * Pinned to `replicas`: written at once when they are the brokers it has now (only the order, so the
 * preferred leader, changes), else recorded as the target the rebalancer moves it towards.
 */
function pinnedTo(record: PartitionRecord, replicas: readonly BrokerId[]): PartitionRecord {
  const { targetReplicas: _, ...rest } = record;
  if (sameMembers(record.replicas, replicas)) {
    if (
      sameList(record.replicas, replicas) &&
      record.pinned === true &&
      record.targetReplicas === undefined
    ) {
      return record;
    }
    return { ...rest, replicas: [...replicas], leaderEpoch: record.leaderEpoch + 1, pinned: true };
  }
  if (
    record.pinned === true &&
    record.targetReplicas !== undefined &&
    sameList(record.targetReplicas, replicas)
  ) {
    return record;
  }
  return { ...rest, pinned: true, targetReplicas: [...replicas] };
}

function unpinned(record: PartitionRecord): PartitionRecord {
  if (record.pinned === undefined && record.targetReplicas === undefined) return record;
  const { pinned: _, targetReplicas: __, ...rest } = record;
  return rest;
}

/** Whether two replica lists hold the same brokers, in any order. */
export function sameMembers(a: readonly BrokerId[], b: readonly BrokerId[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

function sameList(a: readonly BrokerId[], b: readonly BrokerId[]): boolean {
  return a.length === b.length && a.every((id, i) => b[i] === id);
}
