/**
 * Fetch v0 (api key 1).
 *
 *   request  = { maxWaitMs: int32 >= 0, minBytes: int32 >= 0, maxBytes: int32 >= 0,
 *                partitions: [ { topic: str, partition: int32 >= 0, fetchOffset: int >= 0,
 *                                partitionMaxBytes: int32 >= 0 } ] }
 *   response = { partitions: [ { topic: str, partition: int32 >= 0, error: WireError | nil,
 *                                highWatermark: int >= -1, logStartOffset: int >= -1, leaderHint: int32 >= -1,
 *                                records: bin } ] }
 *
 * `records` holds whole batches starting with the one that contains fetchOffset (it may begin earlier), and
 * at least one whole batch even when that exceeds maxBytes.
 */
import type { FetchPartitionResult, FetchRequest, FetchResponse } from '../../messages.js';
import {
  asBytes,
  asInt32OrMinusOne,
  asNonNegInt32,
  asNullableWireError,
  asObject,
  asSafeInt,
  asString,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';

export function encodeRequest(req: FetchRequest): unknown {
  return {
    maxWaitMs: req.maxWaitMs,
    minBytes: req.minBytes,
    maxBytes: req.maxBytes,
    partitions: req.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      fetchOffset: p.fetchOffset,
      partitionMaxBytes: p.partitionMaxBytes,
    })),
  };
}

export function decodeRequest(v: unknown): FetchRequest {
  const o = asObject(v, 'Fetch');
  return {
    maxWaitMs: asNonNegInt32(field(o, 'maxWaitMs'), 'Fetch.maxWaitMs'),
    minBytes: asNonNegInt32(field(o, 'minBytes'), 'Fetch.minBytes'),
    maxBytes: asNonNegInt32(field(o, 'maxBytes'), 'Fetch.maxBytes'),
    partitions: mapArray(field(o, 'partitions'), 'Fetch.partitions', (item, path) => {
      const p = asObject(item, path);
      return {
        topic: asString(field(p, 'topic'), `${path}.topic`),
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
        fetchOffset: asSafeInt(field(p, 'fetchOffset'), `${path}.fetchOffset`, 0),
        partitionMaxBytes: asNonNegInt32(field(p, 'partitionMaxBytes'), `${path}.partitionMaxBytes`),
      };
    }),
  };
}

export function encodeResponse(res: FetchResponse): unknown {
  return {
    partitions: res.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      error: wireErrorOut(p.error),
      highWatermark: p.highWatermark,
      logStartOffset: p.logStartOffset,
      leaderHint: p.leaderHint,
      records: p.records,
    })),
  };
}

export function decodeResponse(v: unknown): FetchResponse {
  const o = asObject(v, 'FetchResponse');
  return {
    partitions: mapArray(
      field(o, 'partitions'),
      'FetchResponse.partitions',
      (item, path): FetchPartitionResult => {
        const p = asObject(item, path);
        return {
          topic: asString(field(p, 'topic'), `${path}.topic`),
          partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
          error: asNullableWireError(field(p, 'error'), `${path}.error`),
          highWatermark: asSafeInt(field(p, 'highWatermark'), `${path}.highWatermark`, -1),
          logStartOffset: asSafeInt(field(p, 'logStartOffset'), `${path}.logStartOffset`, -1),
          leaderHint: asInt32OrMinusOne(field(p, 'leaderHint'), `${path}.leaderHint`),
          records: asBytes(field(p, 'records'), `${path}.records`),
        };
      },
    ),
  };
}
