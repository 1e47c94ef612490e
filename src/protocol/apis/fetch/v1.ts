/**
 * Fetch v1 (api key 1): v0 plus fetch from followers (Kafka's KIP-392).
 *
 *   request  = v0's map, plus   rackId: str   (the consumer's rack, Kafka's client.rack; "" for none)
 *   response = v0's map, plus on each of `partitions`:
 *                               preferredReadReplica: int32 >= -1
 *
 * A v1 fetch may be sent to an in-sync follower, which answers from its own log up to its own high
 * watermark. A leader given a rackId that names an in-sync replica's rack other than its own answers that
 * replica's id as `preferredReadReplica`, with no records; -1 means "read here" (docs/replication.md).
 */
import type { FetchPartitionResult, FetchRequest, FetchResponse } from '../../messages.js';
import { asArray, asInt32OrMinusOne, asObject, asString, field } from '../../narrow.js';
import * as v0 from './v0.js';

export function encodeRequest(req: FetchRequest): unknown {
  return { ...(v0.encodeRequest(req) as Record<string, unknown>), rackId: req.rackId ?? '' };
}

export function decodeRequest(v: unknown): FetchRequest {
  const req = v0.decodeRequest(v);
  return { ...req, rackId: asString(field(asObject(v, 'Fetch'), 'rackId'), 'Fetch.rackId') };
}

export function encodeResponse(res: FetchResponse): unknown {
  const base = v0.encodeResponse(res) as { partitions: Record<string, unknown>[] };
  return {
    partitions: base.partitions.map((p, i) => ({
      ...p,
      preferredReadReplica: res.partitions[i]?.preferredReadReplica ?? -1,
    })),
  };
}

export function decodeResponse(v: unknown): FetchResponse {
  const res = v0.decodeResponse(v);
  const root = 'FetchResponse.partitions';
  const partitions = asArray(field(asObject(v, 'FetchResponse'), 'partitions'), root);
  return {
    partitions: res.partitions.map(
      (p, i): FetchPartitionResult => ({
        ...p,
        preferredReadReplica: asInt32OrMinusOne(
          field(asObject(partitions[i], `${root}[${i}]`), 'preferredReadReplica'),
          `${root}[${i}].preferredReadReplica`,
        ),
      }),
    ),
  };
}
