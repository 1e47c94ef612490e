/**
 * OffsetDelete v0 (api key 26, Kafka's OffsetDelete / KIP-496): delete some of a group's committed offsets.
 *
 *   request  = { groupId: str (1..255 chars), partitions: [ { topic: str, partition: int32 >= 0 } ] }
 *   response = { error: WireError | nil,
 *                partitions: [ { topic: str, partition: int32 >= 0, error: WireError | nil } ] }
 *
 * The group-level error is GROUP_ID_NOT_FOUND for a group with nothing to delete from, NON_EMPTY_GROUP for
 * a group with members whose subscriptions the coordinator cannot read, or a coordinator error. Per
 * partition: GROUP_SUBSCRIBED_TO_TOPIC while a member subscribes to the topic; a partition without a
 * committed offset is not an error.
 */
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../../messages.js';
import { asNonNegInt32, asObject, asString, field, mapArray } from '../../narrow.js';
import { asGroupId, decodePartitionErrors, encodePartitionErrors } from '../group-fields.js';

export function encodeRequest(req: OffsetDeleteRequest): unknown {
  return {
    groupId: req.groupId,
    partitions: req.partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
  };
}

export function decodeRequest(v: unknown): OffsetDeleteRequest {
  const o = asObject(v, 'OffsetDelete');
  return {
    groupId: asGroupId(field(o, 'groupId'), 'OffsetDelete.groupId'),
    partitions: mapArray(field(o, 'partitions'), 'OffsetDelete.partitions', (item, path) => {
      const p = asObject(item, path);
      return {
        topic: asString(field(p, 'topic'), `${path}.topic`),
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
      };
    }),
  };
}

export function encodeResponse(res: OffsetDeleteResponse): unknown {
  return encodePartitionErrors(res);
}

export function decodeResponse(v: unknown): OffsetDeleteResponse {
  return decodePartitionErrors(v, 'OffsetDeleteResponse');
}
