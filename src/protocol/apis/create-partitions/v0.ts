/**
 * CreatePartitions v0 (api key 24): grows topics to a new total partition count (Kafka's
 * `kafka-topics --alter --partitions`). Partitions are only ever added; the broker places them, or the
 * request does (`assignments`: one replica list per added partition, or nil; replica-assignments.ts).
 *
 *   request  = { topics: [ { name: str, count: int32, assignments: [[int32]] | nil } ],
 *                timeoutMs: int32 >= 0, validateOnly: bool }
 *   response = { topics: [ { name: str, error: WireError | nil } ] }
 *
 * `count` is only type-checked here; the broker answers INVALID_PARTITIONS per topic (not larger than the
 * current count, over the limit).
 */
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../messages.js';
import { asBool, asInt32, asNonNegInt32, asObject, asString, field, mapArray } from '../../narrow.js';
import { decodeAssignments, encodeAssignments } from '../replica-assignments.js';
import { decodeTopicResults, encodeTopicResults } from '../topic-results.js';

export function encodeRequest(req: CreatePartitionsRequest): unknown {
  return {
    topics: req.topics.map((t) => ({
      name: t.name,
      count: t.count,
      assignments: encodeAssignments(t.assignments),
    })),
    timeoutMs: req.timeoutMs,
    validateOnly: req.validateOnly,
  };
}

export function decodeRequest(v: unknown): CreatePartitionsRequest {
  const o = asObject(v, 'CreatePartitions');
  return {
    topics: mapArray(field(o, 'topics'), 'CreatePartitions.topics', (item, path) => {
      const t = asObject(item, path);
      return {
        name: asString(field(t, 'name'), `${path}.name`),
        count: asInt32(field(t, 'count'), `${path}.count`),
        assignments: decodeAssignments(field(t, 'assignments'), `${path}.assignments`),
      };
    }),
    timeoutMs: asNonNegInt32(field(o, 'timeoutMs'), 'CreatePartitions.timeoutMs'),
    validateOnly: asBool(field(o, 'validateOnly'), 'CreatePartitions.validateOnly'),
  };
}

export function encodeResponse(res: CreatePartitionsResponse): unknown {
  return { topics: encodeTopicResults(res.topics) };
}

export function decodeResponse(v: unknown): CreatePartitionsResponse {
  const o = asObject(v, 'CreatePartitionsResponse');
  return { topics: decodeTopicResults(field(o, 'topics'), 'CreatePartitionsResponse.topics') };
}
