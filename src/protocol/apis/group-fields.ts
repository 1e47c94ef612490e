/**
 * Field rules shared by the consumer-group APIs (FindCoordinator .. DeleteGroups, OffsetDelete), so every
 * one of them bounds a group id, a member id or a generation the same way.
 */
import type { PartitionErrorsResponse } from '../group-messages.js';
import { CLIENT_ID_BYTES_MAX } from '../limits.js';
import {
  asInt32OrMinusOne,
  asNonEmptyString,
  asNonNegInt32,
  asNullableWireError,
  asObject,
  asString,
  field,
  mapArray,
  wireErrorOut,
} from '../narrow.js';

/** Kafka caps group ids at 249 characters in practice; 255 leaves room without inviting abuse. */
export const GROUP_ID_CHARS_MAX = 255;
/**
 * The coordinator builds member ids as `<clientId>-<uuid>`, so a member id must fit a client id of
 * CLIENT_ID_BYTES_MAX plus the suffix.
 */
export const MEMBER_ID_CHARS_MAX = CLIENT_ID_BYTES_MAX + 64;
/** Free text committed with an offset; Kafka's `offset.metadata.max.bytes` default. */
export const OFFSET_METADATA_CHARS_MAX = 4096;

export function asGroupId(v: unknown, path: string): string {
  return asNonEmptyString(v, path, GROUP_ID_CHARS_MAX);
}

export function asGroupIds(v: unknown, path: string): string[] {
  return mapArray(v, path, asGroupId);
}

/** A member id the coordinator assigned: never empty. */
export function asMemberId(v: unknown, path: string): string {
  return asNonEmptyString(v, path, MEMBER_ID_CHARS_MAX);
}

/** A member id that may be '' (a first join, a commit from outside the group, an error answer). */
export function asMemberIdOrEmpty(v: unknown, path: string): string {
  return asString(v, path, MEMBER_ID_CHARS_MAX);
}

/** A group generation: -1 for "none" (an admin commit, an error answer), never below. */
export function asGeneration(v: unknown, path: string): number {
  return asInt32OrMinusOne(v, path);
}

export function asOffsetMetadata(v: unknown, path: string): string {
  return asString(v, path, OFFSET_METADATA_CHARS_MAX);
}

/** A group-level error and one per partition (OffsetCommit's and OffsetDelete's answers), on the wire. */
export function encodePartitionErrors(res: PartitionErrorsResponse): unknown {
  return {
    error: wireErrorOut(res.error),
    partitions: res.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      error: wireErrorOut(p.error),
    })),
  };
}

/** Reads what encodePartitionErrors wrote; `name` (e.g. 'OffsetCommitResponse') prefixes error paths. */
export function decodePartitionErrors(v: unknown, name: string): PartitionErrorsResponse {
  const o = asObject(v, name);
  return {
    error: asNullableWireError(field(o, 'error'), `${name}.error`),
    partitions: mapArray(field(o, 'partitions'), `${name}.partitions`, (item, path) => {
      const p = asObject(item, path);
      return {
        topic: asString(field(p, 'topic'), `${path}.topic`),
        partition: asNonNegInt32(field(p, 'partition'), `${path}.partition`),
        error: asNullableWireError(field(p, 'error'), `${path}.error`),
      };
    }),
  };
}
