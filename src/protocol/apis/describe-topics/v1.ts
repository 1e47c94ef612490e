/**
 * DescribeTopics v1 (api key 7): v0 plus whether each partition is pinned (placed by an operator's replica
 * assignment, which the rebalancer keeps; docs/cluster.md, "Pinned partitions").
 *
 *   request  = as v0
 *   response = v0's map, and on each of a topic's `partitions`:  pinned: bool
 */
import type { DescribeTopicsResponse } from '../../messages.js';
import { asBool, field } from '../../narrow.js';
import { readPartitionFields, withPartitionFields } from './partition-fields.js';
import * as v0 from './v0.js';

export const encodeRequest = v0.encodeRequest;
export const decodeRequest = v0.decodeRequest;

export function encodeResponse(res: DescribeTopicsResponse): unknown {
  return withPartitionFields(v0.encodeResponse(res), res, (p) => ({ pinned: p?.pinned === true }));
}

export function decodeResponse(v: unknown): DescribeTopicsResponse {
  return readPartitionFields(v, v0.decodeResponse(v), (p, raw, path) => ({
    ...p,
    pinned: asBool(field(raw, 'pinned'), `${path}.pinned`),
  }));
}
