/**
 * OffsetFetch v0 (api key 18): a group's committed offsets, for some partitions or (nil) all of them.
 *
 *   request  = { groupId: str (1..255 chars), partitions: [ { topic: str, partition: int32 >= 0 } ] | nil }
 *   response = { error: WireError | nil,
 *                partitions: [ { topic: str, partition: int32 >= 0, offset: int >= -1,
 *                                metadata: str (<= 4096 chars), commitTimestampMs: int >= -1,
 *                                error: WireError | nil } ] }
 *
 * offset and commitTimestampMs are -1 for a partition the group never committed.
 */
import type { CommittedOffset, OffsetFetchRequest, OffsetFetchResponse } from '../../messages.js';
import {
  asNonNegInt32,
  asNullableWireError,
  asObject,
  asSafeInt,
  asString,
  field,
  mapArray,
  mapNullableArray,
  wireErrorOut,
} from '../../narrow.js';
import { asGroupId, asOffsetMetadata } from '../group-fields.js';

export function encodeRequest(req: OffsetFetchRequest): unknown {
  return {
    groupId: req.groupId,
    partitions:
      req.partitions === null
        ? null
        : req.partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
  };
}

export function decodeRequest(v: unknown): OffsetFetchRequest {
  const o = asObject(v, 'OffsetFetch');
  return {
    groupId: asGroupId(field(o, 'groupId'), 'OffsetFetch.groupId'),
    partitions: mapNullableArray(field(o, 'partitions'), 'OffsetFetch.partitions', (item, path) => {
      const p = asObject(item, path);
      return {
        topic: asString(field(p, 'topic'), `${path}.topic`),
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
      };
    }),
  };
}

export function encodeResponse(res: OffsetFetchResponse): unknown {
  return {
    error: wireErrorOut(res.error),
    partitions: res.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset,
      metadata: p.metadata,
      commitTimestampMs: p.commitTimestampMs,
      error: wireErrorOut(p.error),
    })),
  };
}

export function decodeResponse(v: unknown): OffsetFetchResponse {
  const o = asObject(v, 'OffsetFetchResponse');
  return {
    error: asNullableWireError(field(o, 'error'), 'OffsetFetchResponse.error'),
    partitions: mapArray(
      field(o, 'partitions'),
      'OffsetFetchResponse.partitions',
      (item, path): CommittedOffset => {
        const p = asObject(item, path);
        return {
          topic: asString(field(p, 'topic'), `${path}.topic`),
          partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
          offset: asSafeInt(field(p, 'offset'), `${path}.offset`, -1),
          metadata: asOffsetMetadata(field(p, 'metadata'), `${path}.metadata`),
          commitTimestampMs: asSafeInt(field(p, 'commitTimestampMs'), `${path}.commitTimestampMs`, -1),
          error: asNullableWireError(field(p, 'error'), `${path}.error`),
        };
      },
    ),
  };
}
