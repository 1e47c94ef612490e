/**
 * An operator's reassignment or unpin of partitions (AlterPartitionAssignments): written through the
 * metadata store, whose apply checks the lists (metadata/reassignment.ts); the cluster coordinator then
 * moves the replicas. Refused until the cluster's feature level includes the command, naming the brokers
 * that hold it back: a replica on an older build could not decode it.
 */
import { StreamBusError } from '../errors/index.js';
import { FEATURE } from '../metadata/feature-levels.js';
import type { MetadataStore } from '../metadata/index.js';
import type { MetadataView } from '../metadata/state.js';
import type { Logger } from '../observability/index.js';
import type { AlterPartitionAssignmentsRequest } from '../protocol/messages.js';
import type { Deadline } from '../resilience/deadline.js';

export interface PartitionReassignmentDeps {
  readonly store: Pick<MetadataStore, 'readLinearizable' | 'alterPartitionAssignments'>;
  readonly logger: Logger;
}

/** Resolves once the change is in the metadata store (the moves it asks for follow). */
export async function alterPartitionAssignments(
  deps: PartitionReassignmentDeps,
  request: AlterPartitionAssignmentsRequest,
  deadline?: Deadline,
): Promise<void> {
  const operation = 'topic.alter_partition_assignments';
  const view = await deps.store.readLinearizable(deadline?.signal);
  if (view.featureLevel < FEATURE.partitionReassignment) {
    throw new StreamBusError('FEATURE_NOT_FINALIZED', { operation, message: levelMissing(view) });
  }
  const result = await deps.store.alterPartitionAssignments(
    { topic: request.topic, partitions: request.partitions },
    deadline === undefined ? {} : { deadline },
  );
  deps.logger.info(
    {
      operation,
      topic: request.topic,
      reassigned: request.partitions
        .filter((p) => p.replicas !== null)
        .map((p) => `${p.partition}:${p.replicas}`),
      unpinned: request.partitions.filter((p) => p.replicas === null).map((p) => p.partition),
      metadata_version: result.version,
    },
    'partition assignments changed by an operator',
  );
}

function levelMissing(view: MetadataView): string {
  const needed = FEATURE.partitionReassignment;
  const behind = [...view.brokers.values()]
    .filter((b) => b.featureLevel < needed)
    .map((b) => b.id)
    .sort((a, b) => a - b);
  const why =
    behind.length > 0
      ? `broker(s) ${behind.join(', ')} run a build without it: upgrade them first`
      : 'every broker supports it, and the coordinator finalizes the level shortly (unless cluster.feature_level_max holds it)';
  return `reassigning and unpinning partitions needs cluster feature level ${needed} and the cluster is at ${view.featureLevel}: ${why}`;
}
