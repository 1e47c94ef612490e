/**
 * DescribeTopics v0 (api key 7).
 *
 *   request  = { topics: [ str ] }
 *   response = { topics: [ { name: str, error: WireError | nil,
 *                            partitions: [ { partition: int32 >= 0, leaderId: int32 >= -1, replicas: [ int32 ],
 *                                            isr: [ int32 ], logStartOffset: int >= -1,
 *                                            highWatermark: int >= -1, sizeBytes: int >= 0 } ],
 *                            configs: { str: str } } ] }
 */
import type { DescribeTopicsRequest, DescribeTopicsResponse, PartitionDescription } from '../../messages.js';
import {
  asInt32Array,
  asInt32OrMinusOne,
  asNonNegInt32,
  asNullableWireError,
  asObject,
  asSafeInt,
  asString,
  asStringArray,
  asStringMap,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';

export function encodeRequest(req: DescribeTopicsRequest): unknown {
  return { topics: [...req.topics] };
}

export function decodeRequest(v: unknown): DescribeTopicsRequest {
  const o = asObject(v, 'DescribeTopics');
  return { topics: asStringArray(field(o, 'topics'), 'DescribeTopics.topics') };
}

export function encodeResponse(res: DescribeTopicsResponse): unknown {
  return {
    topics: res.topics.map((t) => ({
      name: t.name,
      error: wireErrorOut(t.error),
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        leaderId: p.leaderId,
        replicas: p.replicas,
        isr: p.isr,
        logStartOffset: p.logStartOffset,
        highWatermark: p.highWatermark,
        sizeBytes: p.sizeBytes,
      })),
      configs: { ...t.configs },
    })),
  };
}

function decodePartition(item: unknown, path: string): PartitionDescription {
  const p = asObject(item, path);
  return {
    partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
    leaderId: asInt32OrMinusOne(field(p, 'leaderId'), `${path}.leaderId`),
    replicas: asInt32Array(field(p, 'replicas'), `${path}.replicas`),
    isr: asInt32Array(field(p, 'isr'), `${path}.isr`),
    logStartOffset: asSafeInt(field(p, 'logStartOffset'), `${path}.logStartOffset`, -1),
    highWatermark: asSafeInt(field(p, 'highWatermark'), `${path}.highWatermark`, -1),
    sizeBytes: asSafeInt(field(p, 'sizeBytes'), `${path}.sizeBytes`, 0),
  };
}

export function decodeResponse(v: unknown): DescribeTopicsResponse {
  const o = asObject(v, 'DescribeTopicsResponse');
  return {
    topics: mapArray(field(o, 'topics'), 'DescribeTopicsResponse.topics', (item, path) => {
      const t = asObject(item, path);
      return {
        name: asString(field(t, 'name'), `${path}.name`),
        error: asNullableWireError(field(t, 'error'), `${path}.error`),
        partitions: mapArray(field(t, 'partitions'), `${path}.partitions`, decodePartition),
        configs: asStringMap(field(t, 'configs'), `${path}.configs`),
      };
    }),
  };
}
