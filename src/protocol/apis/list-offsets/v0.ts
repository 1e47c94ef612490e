/**
 * ListOffsets v0 (api key 2).
 *
 *   request  = { partitions: [ { topic: str, partition: int32 >= 0, timestamp: int >= -2 } ] }
 *              timestamp -1 = latest (high watermark), -2 = earliest (log start), else ms since the epoch
 *   response = { partitions: [ { topic: str, partition: int32 >= 0, error: WireError | nil,
 *                                offset: int >= -1, timestamp: int >= -1 } ] }
 */
import type { ListOffsetsPartitionResult, ListOffsetsRequest, ListOffsetsResponse } from '../../messages.js';
import {
  asNonNegInt32,
  asNullableWireError,
  asObject,
  asSafeInt,
  asString,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';

export function encodeRequest(req: ListOffsetsRequest): unknown {
  return {
    partitions: req.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      timestamp: p.timestamp,
    })),
  };
}

export function decodeRequest(v: unknown): ListOffsetsRequest {
  const o = asObject(v, 'ListOffsets');
  return {
    partitions: mapArray(field(o, 'partitions'), 'ListOffsets.partitions', (item, path) => {
      const p = asObject(item, path);
      return {
        topic: asString(field(p, 'topic'), `${path}.topic`),
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
        // Any integer: the broker answers a meaningless negative one with INVALID_TIMESTAMP for that partition.
        timestamp: asSafeInt(field(p, 'timestamp'), `${path}.timestamp`, Number.MIN_SAFE_INTEGER),
      };
    }),
  };
}

export function encodeResponse(res: ListOffsetsResponse): unknown {
  return {
    partitions: res.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      error: wireErrorOut(p.error),
      offset: p.offset,
      timestamp: p.timestamp,
    })),
  };
}

export function decodeResponse(v: unknown): ListOffsetsResponse {
  const o = asObject(v, 'ListOffsetsResponse');
  return {
    partitions: mapArray(
      field(o, 'partitions'),
      'ListOffsetsResponse.partitions',
      (item, path): ListOffsetsPartitionResult => {
        const p = asObject(item, path);
        return {
          topic: asString(field(p, 'topic'), `${path}.topic`),
          partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
          error: asNullableWireError(field(p, 'error'), `${path}.error`),
          offset: asSafeInt(field(p, 'offset'), `${path}.offset`, -1),
          timestamp: asSafeInt(field(p, 'timestamp'), `${path}.timestamp`, -1),
        };
      },
    ),
  };
}
