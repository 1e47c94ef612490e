/**
 * ListTopics v0 (api key 8).
 *
 *   request  = { }                                  (extra keys are ignored)
 *   response = { topics: [ { name: str, partitions: int32 >= 0, internal: bool } ] }
 */
import type { ListTopicsRequest, ListTopicsResponse } from '../../messages.js';
import { asBool, asNonNegInt32, asObject, asString, field, mapArray } from '../../narrow.js';

export function encodeRequest(_req: ListTopicsRequest): unknown {
  return {};
}

export function decodeRequest(v: unknown): ListTopicsRequest {
  asObject(v, 'ListTopics');
  return {};
}

export function encodeResponse(res: ListTopicsResponse): unknown {
  return {
    topics: res.topics.map((t) => ({ name: t.name, partitions: t.partitions, internal: t.internal })),
  };
}

export function decodeResponse(v: unknown): ListTopicsResponse {
  const o = asObject(v, 'ListTopicsResponse');
  return {
    topics: mapArray(field(o, 'topics'), 'ListTopicsResponse.topics', (item, path) => {
      const t = asObject(item, path);
      return {
        name: asString(field(t, 'name'), `${path}.name`),
        partitions: asNonNegInt32(field(t, 'partitions'), `${path}.partitions`),
        internal: asBool(field(t, 'internal'), `${path}.internal`),
      };
    }),
  };
}
