/**
 * CreateTopics v0 (api key 5).
 *
 *   request  = { topics: [ { name: str, partitions: int32, replicationFactor: int32,
 *                            configs: { str: str }, assignments: [[int32]] | nil } ],
 *                timeoutMs: int32 >= 0, validateOnly: bool }
 *   response = { topics: [ { name: str, error: WireError | nil } ] }
 *
 * Partition counts, replication factors and assignments are only type-checked here; the broker answers
 * INVALID_PARTITIONS / INVALID_REPLICATION_FACTOR / INVALID_REPLICA_ASSIGNMENT per topic (`assignments`:
 * replica-assignments.ts).
 */
import type { CreateTopicsRequest, CreateTopicsResponse } from '../../messages.js';
import {
  asBool,
  asInt32,
  asNonNegInt32,
  asObject,
  asString,
  asStringMap,
  field,
  mapArray,
} from '../../narrow.js';
import { decodeAssignments, encodeAssignments } from '../replica-assignments.js';
import { decodeTopicResults, encodeTopicResults } from '../topic-results.js';

export function encodeRequest(req: CreateTopicsRequest): unknown {
  return {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions,
      replicationFactor: t.replicationFactor,
      configs: { ...t.configs },
      assignments: encodeAssignments(t.assignments),
    })),
    timeoutMs: req.timeoutMs,
    validateOnly: req.validateOnly,
  };
}

export function decodeRequest(v: unknown): CreateTopicsRequest {
  const o = asObject(v, 'CreateTopics');
  return {
    topics: mapArray(field(o, 'topics'), 'CreateTopics.topics', (item, path) => {
      const t = asObject(item, path);
      return {
        name: asString(field(t, 'name'), `${path}.name`),
        partitions: asInt32(field(t, 'partitions'), `${path}.partitions`),
        replicationFactor: asInt32(field(t, 'replicationFactor'), `${path}.replicationFactor`),
        configs: asStringMap(field(t, 'configs'), `${path}.configs`),
        assignments: decodeAssignments(field(t, 'assignments'), `${path}.assignments`),
      };
    }),
    timeoutMs: asNonNegInt32(field(o, 'timeoutMs'), 'CreateTopics.timeoutMs'),
    validateOnly: asBool(field(o, 'validateOnly'), 'CreateTopics.validateOnly'),
  };
}

export function encodeResponse(res: CreateTopicsResponse): unknown {
  return { topics: encodeTopicResults(res.topics) };
}

export function decodeResponse(v: unknown): CreateTopicsResponse {
  const o = asObject(v, 'CreateTopicsResponse');
  return { topics: decodeTopicResults(field(o, 'topics'), 'CreateTopicsResponse.topics') };
}
