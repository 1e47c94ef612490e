/**
 * AlterPartitionAssignments v0 (api key 27): an operator's reassignment of partitions to replica lists of
 * their choosing, or unpin (Kafka's AlterPartitionReassignments, with nil meaning "unpin" where Kafka's
 * means "cancel"). Every partition listed changes or none does: the broker answers one error naming the
 * partition at fault. Accepted means recorded; the rebalancer then moves the replicas (docs/cluster.md,
 * "Reassigning and unpinning").
 *
 *   request  = { topic: str, partitions: [ { partition: int32 >= 0, replicas: [int32] | nil } ] }
 *   response = { error: WireError | nil }
 *
 * The replica lists are only type-checked here; the broker answers INVALID_REPLICA_ASSIGNMENT,
 * UNKNOWN_BROKER, INVALID_REPLICATION_FACTOR, UNKNOWN_TOPIC_OR_PARTITION or FEATURE_NOT_FINALIZED.
 */
import type { AlterPartitionAssignmentsRequest, AlterPartitionAssignmentsResponse } from '../../messages.js';
import {
  asInt32Array,
  asNonNegInt32,
  asNullableWireError,
  asObject,
  asString,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';

export function encodeRequest(req: AlterPartitionAssignmentsRequest): unknown {
  return {
    topic: req.topic,
    partitions: req.partitions.map((p) => ({
      partition: p.partition,
      replicas: p.replicas === null ? null : [...p.replicas],
    })),
  };
}

export function decodeRequest(v: unknown): AlterPartitionAssignmentsRequest {
  const o = asObject(v, 'AlterPartitionAssignments');
  return {
    topic: asString(field(o, 'topic'), 'AlterPartitionAssignments.topic'),
    partitions: mapArray(field(o, 'partitions'), 'AlterPartitionAssignments.partitions', (item, path) => {
      const p = asObject(item, path);
      const replicas = field(p, 'replicas');
      return {
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
        replicas: replicas === null ? null : asInt32Array(replicas, `${path}.replicas`),
      };
    }),
  };
}

export function encodeResponse(res: AlterPartitionAssignmentsResponse): unknown {
  return { error: wireErrorOut(res.error) };
}

export function decodeResponse(v: unknown): AlterPartitionAssignmentsResponse {
  const o = asObject(v, 'AlterPartitionAssignmentsResponse');
  return { error: asNullableWireError(field(o, 'error'), 'AlterPartitionAssignmentsResponse.error') };
}
