/**
 * DescribeTopics v2 (api key 7): v1 plus each partition's reassignment target, the replica list an operator
 * asked for (AlterPartitionAssignments) while the rebalancer still moves the partition towards it
 * (docs/cluster.md, "Reassigning and unpinning").
 *
 *   request  = as v0
 *   response = v1's map, and on each of a topic's `partitions`:  targetReplicas: [ int32 ] | nil
 *              (nil: no reassignment in progress)
 */
import type { DescribeTopicsResponse } from '../../messages.js';
import { asInt32Array, field } from '../../narrow.js';
import { readPartitionFields, withPartitionFields } from './partition-fields.js';
import * as v1 from './v1.js';

export const encodeRequest = v1.encodeRequest;
export const decodeRequest = v1.decodeRequest;

export function encodeResponse(res: DescribeTopicsResponse): unknown {
  return withPartitionFields(v1.encodeResponse(res), res, (p) => ({
    targetReplicas: p?.targetReplicas === undefined ? null : [...p.targetReplicas],
  }));
}

export function decodeResponse(v: unknown): DescribeTopicsResponse {
  return readPartitionFields(v, v1.decodeResponse(v), (p, raw, path) => {
    const target = field(raw, 'targetReplicas');
    return target === null ? p : { ...p, targetReplicas: asInt32Array(target, `${path}.targetReplicas`) };
  });
}
