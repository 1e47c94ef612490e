/**
 * OffsetCommit v0 (api key 17): a member (or an admin tool, from outside the group) commits the next offset
 * to consume for some partitions.
 *
 *   request  = { groupId: str (1..255 chars), generation: int32 >= -1, memberId: str, groupInstanceId: str | nil,
 *                reset: bool,
 *                partitions: [ { topic: str, partition: int32 >= 0, offset: int >= 0,
 *                                metadata: str (<= 4096 chars) } ] }
 *   response = { error: WireError | nil,
 *                partitions: [ { topic: str, partition: int32 >= 0, error: WireError | nil } ] }
 *
 * generation -1 with memberId '' is a commit from outside the group; whether that is allowed (the group
 * must be empty) is the coordinator's call, not the codec's.
 */
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../messages.js';
import {
  asBool,
  asNonNegInt32,
  asNullableString,
  asObject,
  asSafeInt,
  asString,
  field,
  mapArray,
} from '../../narrow.js';
import {
  asGeneration,
  asGroupId,
  asMemberIdOrEmpty,
  asOffsetMetadata,
  decodePartitionErrors,
  encodePartitionErrors,
} from '../group-fields.js';

export function encodeRequest(req: OffsetCommitRequest): unknown {
  return {
    groupId: req.groupId,
    generation: req.generation,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    reset: req.reset,
    partitions: req.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset,
      metadata: p.metadata,
    })),
  };
}

export function decodeRequest(v: unknown): OffsetCommitRequest {
  const o = asObject(v, 'OffsetCommit');
  return {
    groupId: asGroupId(field(o, 'groupId'), 'OffsetCommit.groupId'),
    generation: asGeneration(field(o, 'generation'), 'OffsetCommit.generation'),
    memberId: asMemberIdOrEmpty(field(o, 'memberId'), 'OffsetCommit.memberId'),
    groupInstanceId: asNullableString(field(o, 'groupInstanceId'), 'OffsetCommit.groupInstanceId'),
    reset: asBool(field(o, 'reset'), 'OffsetCommit.reset'),
    partitions: mapArray(field(o, 'partitions'), 'OffsetCommit.partitions', (item, path) => {
      const p = asObject(item, path);
      return {
        topic: asString(field(p, 'topic'), `${path}.topic`),
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
        offset: asSafeInt(field(p, 'offset'), `${path}.offset`, 0),
        metadata: asOffsetMetadata(field(p, 'metadata'), `${path}.metadata`),
      };
    }),
  };
}

export function encodeResponse(res: OffsetCommitResponse): unknown {
  return encodePartitionErrors(res);
}

export function decodeResponse(v: unknown): OffsetCommitResponse {
  return decodePartitionErrors(v, 'OffsetCommitResponse');
}
