/**
 * Metadata v0 (api key 3).
 *
 *   request  = { topics: [ str ] | nil }                       nil = all topics
 *   response = { clusterId: str, controllerId: int32 >= -1,
 *                brokers: [ { id: int32 >= 0, host: str, port: int32 >= 0, rack: str | nil } ],
 *                topics: [ { name: str, error: WireError | nil, internal: bool,
 *                            partitions: [ { partition: int32 >= 0, leaderId: int32 >= -1,
 *                                            leaderEpoch: int32 >= -1, replicas: [ int32 ], isr: [ int32 ],
 *                                            error: WireError | nil } ] } ] }
 */
import type { MetadataRequest, MetadataResponse, PartitionMetadata, TopicMetadata } from '../../messages.js';
import {
  asBool,
  asInt32Array,
  asInt32OrMinusOne,
  asNonNegInt32,
  asNullableString,
  asNullableWireError,
  asObject,
  asString,
  asStringArray,
  asText,
  field,
  mapArray,
  wireErrorOut,
} from '../../narrow.js';

export function encodeRequest(req: MetadataRequest): unknown {
  return { topics: req.topics === null ? null : [...req.topics] };
}

export function decodeRequest(v: unknown): MetadataRequest {
  const o = asObject(v, 'Metadata');
  const topics = field(o, 'topics');
  return { topics: topics === null ? null : asStringArray(topics, 'Metadata.topics') };
}

export function encodeResponse(res: MetadataResponse): unknown {
  return {
    clusterId: res.clusterId,
    controllerId: res.controllerId,
    brokers: res.brokers.map((b) => ({ id: b.id, host: b.host, port: b.port, rack: b.rack })),
    topics: res.topics.map((t) => ({
      name: t.name,
      error: wireErrorOut(t.error),
      internal: t.internal,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        error: wireErrorOut(p.error),
      })),
    })),
  };
}

function decodePartition(item: unknown, path: string): PartitionMetadata {
  const p = asObject(item, path);
  return {
    partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
    leaderId: asInt32OrMinusOne(field(p, 'leaderId'), `${path}.leaderId`),
    leaderEpoch: asInt32OrMinusOne(field(p, 'leaderEpoch'), `${path}.leaderEpoch`),
    replicas: asInt32Array(field(p, 'replicas'), `${path}.replicas`),
    isr: asInt32Array(field(p, 'isr'), `${path}.isr`),
    error: asNullableWireError(field(p, 'error'), `${path}.error`),
  };
}

function decodeTopic(item: unknown, path: string): TopicMetadata {
  const t = asObject(item, path);
  return {
    name: asString(field(t, 'name'), `${path}.name`),
    error: asNullableWireError(field(t, 'error'), `${path}.error`),
    internal: asBool(field(t, 'internal'), `${path}.internal`),
    partitions: mapArray(field(t, 'partitions'), `${path}.partitions`, decodePartition),
  };
}

export function decodeResponse(v: unknown): MetadataResponse {
  const o = asObject(v, 'MetadataResponse');
  return {
    clusterId: asText(field(o, 'clusterId'), 'MetadataResponse.clusterId'),
    controllerId: asInt32OrMinusOne(field(o, 'controllerId'), 'MetadataResponse.controllerId'),
    brokers: mapArray(field(o, 'brokers'), 'MetadataResponse.brokers', (item, path) => {
      const b = asObject(item, path);
      return {
        id: asNonNegInt32(field(b, 'id'), `${path}.id`),
        host: asString(field(b, 'host'), `${path}.host`),
        port: asNonNegInt32(field(b, 'port'), `${path}.port`),
        rack: asNullableString(field(b, 'rack'), `${path}.rack`),
      };
    }),
    topics: mapArray(field(o, 'topics'), 'MetadataResponse.topics', decodeTopic),
  };
}
