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
import { asArray, asInt32Array, asObject, field } from '../../narrow.js';
import * as v1 from './v1.js';

export const encodeRequest = v1.encodeRequest;
export const decodeRequest = v1.decodeRequest;

export function encodeResponse(res: DescribeTopicsResponse): unknown {
  const base = v1.encodeResponse(res) as { topics: { partitions: Record<string, unknown>[] }[] };
  return {
    topics: base.topics.map((t, i) => ({
      ...t,
      partitions: t.partitions.map((p, j) => {
        const target = res.topics[i]?.partitions[j]?.targetReplicas;
        return { ...p, targetReplicas: target === undefined ? null : [...target] };
      }),
    })),
  };
}

export function decodeResponse(v: unknown): DescribeTopicsResponse {
  const res = v1.decodeResponse(v);
  const root = 'DescribeTopicsResponse.topics';
  const topics = asArray(field(asObject(v, 'DescribeTopicsResponse'), 'topics'), root);
  return {
    topics: res.topics.map((t, i) => {
      const partitions = asArray(field(asObject(topics[i], root), 'partitions'), `${root}.partitions`);
      return {
        ...t,
        partitions: t.partitions.map((p, j) => {
          const path = `${root}.partitions.targetReplicas`;
          const target = field(asObject(partitions[j], `${root}.partitions`), 'targetReplicas');
          return target === null ? p : { ...p, targetReplicas: asInt32Array(target, path) };
        }),
      };
    }),
  };
}
