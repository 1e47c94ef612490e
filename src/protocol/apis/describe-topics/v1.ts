/**
 * DescribeTopics v1 (api key 7): v0 plus whether each partition is pinned (placed by an operator's replica
 * assignment, which the rebalancer keeps; docs/cluster.md, "Pinned partitions").
 *
 *   request  = as v0
 *   response = v0's map, and on each of a topic's `partitions`:  pinned: bool
 */
import type { DescribeTopicsResponse } from '../../messages.js';
import { asArray, asBool, asObject, field } from '../../narrow.js';
import * as v0 from './v0.js';

export const encodeRequest = v0.encodeRequest;
export const decodeRequest = v0.decodeRequest;

export function encodeResponse(res: DescribeTopicsResponse): unknown {
  const base = v0.encodeResponse(res) as { topics: { partitions: Record<string, unknown>[] }[] };
  return {
    topics: base.topics.map((t, i) => ({
      ...t,
      partitions: t.partitions.map((p, j) => ({
        ...p,
        pinned: res.topics[i]?.partitions[j]?.pinned === true,
      })),
    })),
  };
}

export function decodeResponse(v: unknown): DescribeTopicsResponse {
  const res = v0.decodeResponse(v);
  const root = 'DescribeTopicsResponse.topics';
  const topics = asArray(field(asObject(v, 'DescribeTopicsResponse'), 'topics'), root);
  return {
    topics: res.topics.map((t, i) => {
      const partitions = asArray(field(asObject(topics[i], root), 'partitions'), `${root}.partitions`);
      return {
        ...t,
        partitions: t.partitions.map((p, j) => ({
          ...p,
          pinned: asBool(
            field(asObject(partitions[j], `${root}.partitions`), 'pinned'),
            `${root}.partitions.pinned`,
          ),
        })),
      };
    }),
  };
}
