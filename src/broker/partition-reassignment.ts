import { FEATURE, featureNotFinalized } from '../metadata/feature-levels.js';
import type { MetadataStore } from '../metadata/index.js';
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
    throw featureNotFinalized(
      view,
      FEATURE.partitionReassignment,
      'reassigning and unpinning partitions needs',
      operation,
    );
  }
  const resized = request.partitions.find((p) => {
    const current = view.topics.get(request.topic)?.partitions[p.partition];
    return p.replicas !== null && current !== undefined && p.replicas.length !== current.replicas.length;
  });
  if (resized !== undefined && view.featureLevel < FEATURE.reassignmentReplicationFactor) {
    throw featureNotFinalized(
      view,
      FEATURE.reassignmentReplicationFactor,
      "changing a partition's replica count by reassignment needs",
      operation,
    );
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
