/**
 * Produce v0 (api key 0).
 *
 *   request  = { acks: int (0 | 1 | -1), timeoutMs: int32 >= 0,
 *                partitions: [ { topic: str, partition: int32 >= 0, records: bin } ] }
 *   response = { partitions: [ { topic: str, partition: int32 >= 0, error: WireError | nil,
 *                                baseOffset: int >= -1, logAppendTimeMs: int >= -1, logStartOffset: int >= -1,
 *                                leaderHint: int32 >= -1 } ] }
 *   WireError = { code: int, category: str, message: str }
 *
 * `records` is one or more whole Kafka RecordBatch v2 batches, carried untouched. acks=0 requests get no
 * response frame at all.
 */
import { StreamBusError } from '../../../errors/index.js';
import type { Acks, ProducePartitionResult, ProduceRequest, ProduceResponse } from '../../messages.js';
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

export function encodeRequest(req: ProduceRequest): unknown {
  return {
    acks: req.acks,
    timeoutMs: req.timeoutMs,
    partitions: req.partitions.map((p) => ({ topic: p.topic, partition: p.partition, records: p.records })),
  };
}

function asAcks(v: unknown, path: string): Acks {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new StreamBusError('INVALID_REQUEST', {
      operation: 'protocol.decode',
      message: `${path} must be an integer`,
    });
  }
  if (v !== 0 && v !== 1 && v !== -1) {
    throw new StreamBusError('INVALID_ACKS', {
      operation: 'protocol.decode',
      message: `${path} is ${v}: must be 0, 1 or -1`,
    });
  }
  return v;
}

export function decodeRequest(v: unknown): ProduceRequest {
  const o = asObject(v, 'Produce');
  return {
    acks: asAcks(field(o, 'acks'), 'Produce.acks'),
    timeoutMs: asNonNegInt32(field(o, 'timeoutMs'), 'Produce.timeoutMs'),
    partitions: mapArray(field(o, 'partitions'), 'Produce.partitions', (item, path) => {
      const p = asObject(item, path);
      return {
        topic: asString(field(p, 'topic'), `${path}.topic`),
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
        records: asBytes(field(p, 'records'), `${path}.records`),
      };
    }),
  };
}

export function encodeResponse(res: ProduceResponse): unknown {
  return {
    partitions: res.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      error: wireErrorOut(p.error),
      baseOffset: p.baseOffset,
      logAppendTimeMs: p.logAppendTimeMs,
      logStartOffset: p.logStartOffset,
      leaderHint: p.leaderHint,
    })),
  };
}

export function decodeResponse(v: unknown): ProduceResponse {
  const o = asObject(v, 'ProduceResponse');
  return {
    partitions: mapArray(
      field(o, 'partitions'),
      'ProduceResponse.partitions',
      (item, path): ProducePartitionResult => {
        const p = asObject(item, path);
        return {
          topic: asString(field(p, 'topic'), `${path}.topic`),
          partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
          error: asNullableWireError(field(p, 'error'), `${path}.error`),
          baseOffset: asSafeInt(field(p, 'baseOffset'), `${path}.baseOffset`, -1),
          logAppendTimeMs: asSafeInt(field(p, 'logAppendTimeMs'), `${path}.logAppendTimeMs`, -1),
          logStartOffset: asSafeInt(field(p, 'logStartOffset'), `${path}.logStartOffset`, -1),
          leaderHint: asInt32OrMinusOne(field(p, 'leaderHint'), `${path}.leaderHint`),
        };
      },
    ),
  };
}
