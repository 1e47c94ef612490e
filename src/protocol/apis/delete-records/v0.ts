/**
 * DeleteRecords v0 (api key 28; Kafka's DeleteRecords, key 21 there): advances partitions' log start, so the
 * records below `offset` are gone for consumers at once and their space is freed as whole segments fall
 * below it. Sent to each partition's leader, like Produce. `offset` -1 means the high watermark (everything
 * written so far).
 *
 *   request  = { partitions: [ { topic: str, partition: int32 >= 0, offset: int >= -1 } ], timeoutMs: int32 >= 0 }
 *   response = { partitions: [ { topic: str, partition: int32 >= 0, error: WireError | nil,
 *                                lowWatermark: int >= -1 } ] }
 *
 * `lowWatermark` is the partition's log start once the request applied (-1 with an error). An offset below
 * the log start changes nothing and answers the log start; one above the high watermark is
 * OFFSET_OUT_OF_RANGE. Other errors are those of a partition request (UNKNOWN_TOPIC_OR_PARTITION,
 * NOT_LEADER, ...) and, in cluster mode, FEATURE_NOT_FINALIZED.
 */
import type {
  DeleteRecordsPartitionResult,
  DeleteRecordsRequest,
  DeleteRecordsResponse,
} from '../../messages.js';
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

export function encodeRequest(req: DeleteRecordsRequest): unknown {
  return {
    partitions: req.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })),
    timeoutMs: req.timeoutMs,
  };
}

export function decodeRequest(v: unknown): DeleteRecordsRequest {
  const o = asObject(v, 'DeleteRecords');
  return {
    partitions: mapArray(field(o, 'partitions'), 'DeleteRecords.partitions', (item, path) => {
      const p = asObject(item, path);
      return {
        topic: asString(field(p, 'topic'), `${path}.topic`),
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
        offset: asSafeInt(field(p, 'offset'), `${path}.offset`, -1),
      };
    }),
    timeoutMs: asNonNegInt32(field(o, 'timeoutMs'), 'DeleteRecords.timeoutMs'),
  };
}

export function encodeResponse(res: DeleteRecordsResponse): unknown {
  return {
    partitions: res.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      error: wireErrorOut(p.error),
      lowWatermark: p.lowWatermark,
    })),
  };
}

export function decodeResponse(v: unknown): DeleteRecordsResponse {
  const o = asObject(v, 'DeleteRecordsResponse');
  return {
    partitions: mapArray(
      field(o, 'partitions'),
      'DeleteRecordsResponse.partitions',
      (item, path): DeleteRecordsPartitionResult => {
        const p = asObject(item, path);
        return {
          topic: asString(field(p, 'topic'), `${path}.topic`),
          partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
          error: asNullableWireError(field(p, 'error'), `${path}.error`),
          lowWatermark: asSafeInt(field(p, 'lowWatermark'), `${path}.lowWatermark`, -1),
        };
      },
    ),
  };
}
