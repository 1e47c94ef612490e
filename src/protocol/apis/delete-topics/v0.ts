/**
 * DeleteTopics v0 (api key 6).
 *
 *   request  = { topics: [ str ], timeoutMs: int32 >= 0 }
 *   response = { topics: [ { name: str, error: WireError | nil } ] }
 */
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../messages.js';
import { asNonNegInt32, asObject, asStringArray, field } from '../../narrow.js';
import { decodeTopicResults, encodeTopicResults } from '../topic-results.js';

export function encodeRequest(req: DeleteTopicsRequest): unknown {
  return { topics: [...req.topics], timeoutMs: req.timeoutMs };
}

export function decodeRequest(v: unknown): DeleteTopicsRequest {
  const o = asObject(v, 'DeleteTopics');
  return {
    topics: asStringArray(field(o, 'topics'), 'DeleteTopics.topics'),
    timeoutMs: asNonNegInt32(field(o, 'timeoutMs'), 'DeleteTopics.timeoutMs'),
  };
}

export function encodeResponse(res: DeleteTopicsResponse): unknown {
  return { topics: encodeTopicResults(res.topics) };
}

export function decodeResponse(v: unknown): DeleteTopicsResponse {
  const o = asObject(v, 'DeleteTopicsResponse');
  return { topics: decodeTopicResults(field(o, 'topics'), 'DeleteTopicsResponse.topics') };
}
