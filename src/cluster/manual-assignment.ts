/**
 * An operator's own replica assignment (Kafka's `kafka-topics --replica-assignment`): one list of broker ids
 * per partition, the preferred leader first, instead of the placement strategy's choice. Checked the way
 * Kafka checks it: every partition the same number of distinct replicas, every broker known to the cluster
 * (it may be down: its partitions then wait for it, as with any placement of a failed broker).
 */
import { StreamBusError } from '../errors/index.js';
import type { BrokerId } from './types.js';

export interface AssignmentExpectations {
  readonly topic: string;
  readonly operation: string;
  /** The request's partition count (of added partitions for CreatePartitions); -1: whatever the lists say. */
  readonly partitions: number;
  /** The replication factor the lists must have; -1: whatever they say. */
  readonly replicationFactor: number;
  /** Brokers that may hold replicas: the registered ones (not decommissioned); a single node: itself. */
  readonly brokers: ReadonlySet<BrokerId>;
  /**
   * The partition number of the first list, so refusals name real partitions: 0 for a new topic, the
   * current partition count for CreatePartitions (whose lists are for the added partitions). Default 0.
   */
  readonly firstPartition?: number;
}

/** Returns the assignment's partition count and replication factor; INVALID_REPLICA_ASSIGNMENT otherwise. */
export function checkAssignment(
  assignments: readonly (readonly BrokerId[])[],
  expect: AssignmentExpectations,
): { partitions: number; replicationFactor: number } {
  const refuse = (message: string): never => {
    throw new StreamBusError('INVALID_REPLICA_ASSIGNMENT', {
      operation: expect.operation,
      message: `${expect.topic}: ${message}`,
      metadata: { topic: expect.topic },
    });
  };
  if (assignments.length === 0) refuse('the assignment lists no partition');
  const replicationFactor = assignments[0]!.length;
  const first = expect.firstPartition ?? 0;
  if (expect.partitions !== -1 && expect.partitions !== assignments.length) {
    refuse(`${expect.partitions} partitions asked, but the assignment lists ${assignments.length}`);
  }
  if (expect.replicationFactor !== -1 && expect.replicationFactor !== replicationFactor) {
    refuse(
      `the replication factor is ${expect.replicationFactor}, but partition ${first} lists ${replicationFactor} replicas`,
    );
  }
  const known = [...expect.brokers].sort((a, b) => a - b).join(', ') || 'none';
  assignments.forEach((replicas, i) => {
    const p = first + i;
    if (replicas.length === 0) refuse(`partition ${p} lists no replica`);
    if (replicas.length !== replicationFactor) {
      refuse(
        `partition ${p} lists ${replicas.length} replicas and partition ${first} lists ${replicationFactor}: every partition needs the same number`,
      );
    }
    const seen = new Set<BrokerId>();
    for (const id of replicas) {
      if (seen.has(id)) refuse(`partition ${p} lists broker ${id} twice`);
      seen.add(id);
      if (!expect.brokers.has(id))
        refuse(`partition ${p} names broker ${id}, which is not in the cluster (brokers: ${known})`);
    }
  });
  return { partitions: assignments.length, replicationFactor };
}
