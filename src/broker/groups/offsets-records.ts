/**
 * The records of `__consumer_offsets`: each is a key and a value packed with msgpack, in ordinary record
 * batches of the partition the group hashes to. The last record of a key wins (the partition is a
 * compacted changelog); a null value is a tombstone.
 *
 *   offset commit:  key [1, groupId, topic, partition]  value { offset, metadata, commitTimestampMs,
 *                   topicIncarnation? } | nil
 *   group metadata: key [2, groupId]                     value GroupSnapshot | nil (group deleted)
 *   load marker:    key [0, brokerId, leadership]        value nil: a new coordinator writes one and reads the
 *                   partition up to it, so everything committed before it took over is in its state.
 *
 * Decoding is defensive (a record this version does not understand is skipped, never fatal): the topic is
 * internal, but a record from a newer broker must not stop an older one from loading the rest.
 */
import { pack, unpack } from 'msgpackr';
import { type ConsumedRecord, encodeRecordBatch, type ProducerRecord } from '../../protocol/record-batch.js';
import type { GroupSnapshot, MemberRecord } from './group-types.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

const KIND_MARKER = 0;
const KIND_OFFSET = 1;
const KIND_GROUP = 2;

export interface CommittedValue {
  readonly offset: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /**
   * The topic's incarnation (TopicInfo.incarnation) when the offset was committed; absent in records from
   * builds before it was kept, and when the coordinator did not know the topic yet.
   */
  readonly topicIncarnation?: number;
}

/**
 * Whether `committed` belongs to an earlier topic of the same name (deleted, then created again): a group
 * must not start the new topic at the old one's offsets, nor be held below them. Unknown either side: no.
 */
export function committedForEarlierTopic(
  committed: CommittedValue,
  incarnationNow: number | undefined,
): boolean {
  return (
    committed.topicIncarnation !== undefined &&
    incarnationNow !== undefined &&
    committed.topicIncarnation !== incarnationNow
  );
}

export type OffsetsRecord =
  | { readonly kind: 'marker'; readonly brokerId: number; readonly leadership: number }
  | {
      readonly kind: 'offset';
      readonly groupId: string;
      readonly topic: string;
      readonly partition: number;
      readonly value: CommittedValue | null;
    }
  | { readonly kind: 'group'; readonly groupId: string; readonly value: GroupSnapshot | null };

export function offsetRecord(
  groupId: string,
  topic: string,
  partition: number,
  value: CommittedValue | null,
): ProducerRecord {
  return {
    key: pack([KIND_OFFSET, groupId, topic, partition]),
    value: value === null ? null : pack(value),
  };
}

export function groupRecord(groupId: string, snapshot: GroupSnapshot | null): ProducerRecord {
  return { key: pack([KIND_GROUP, groupId]), value: snapshot === null ? null : pack(snapshot) };
}

export function markerRecord(brokerId: number, leadership: number): ProducerRecord {
  return { key: pack([KIND_MARKER, brokerId, leadership]), value: null };
}

/** One uncompressed batch of `records` (never empty). */
export function offsetsBatch(records: readonly ProducerRecord[], nowMs: number): Buffer {
  return encodeRecordBatch(records, { baseTimestamp: nowMs });
}

/** The record's meaning, or null when it is not one this version understands. */
export function decodeOffsetsRecord(record: ConsumedRecord): OffsetsRecord | null {
  if (record.key === null) return null;
  const key = safeUnpack(record.key);
  if (!Array.isArray(key)) return null;
  const [kind, a, b, c] = key as unknown[];
  if (kind === KIND_MARKER && isInt(a) && isInt(b)) return { kind: 'marker', brokerId: a, leadership: b };
  if (kind === KIND_OFFSET && isText(a) && isText(b) && isInt(c) && c >= 0) {
    if (record.value === null) return { kind: 'offset', groupId: a, topic: b, partition: c, value: null };
    const value = committedValue(safeUnpack(record.value));
    return value === null ? null : { kind: 'offset', groupId: a, topic: b, partition: c, value };
  }
  if (kind === KIND_GROUP && isText(a)) {
    if (record.value === null) return { kind: 'group', groupId: a, value: null };
    const value = groupSnapshot(safeUnpack(record.value));
    return value === null ? null : { kind: 'group', groupId: a, value };
  }
  return null;
}

function committedValue(v: unknown): CommittedValue | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!isInt(o.offset) || typeof o.metadata !== 'string' || !isInt(o.commitTimestampMs)) return null;
  const value = { offset: o.offset, metadata: o.metadata, commitTimestampMs: o.commitTimestampMs };
  return isInt(o.topicIncarnation) ? { ...value, topicIncarnation: o.topicIncarnation } : value;
}

function groupSnapshot(v: unknown): GroupSnapshot | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!isText(o.groupId) || !isInt(o.generation) || typeof o.protocolType !== 'string') return null;
  if (!isNullableString(o.protocol) || !isNullableString(o.leaderId) || !isInt(o.writtenAtMs)) return null;
  if (!Array.isArray(o.members)) return null;
  const members: MemberRecord[] = [];
  for (const m of o.members as unknown[]) {
    const member = memberRecord(m);
    if (member === null) return null;
    members.push(member);
  }
  return {
    groupId: o.groupId,
    generation: o.generation,
    protocolType: o.protocolType,
    protocol: o.protocol,
    leaderId: o.leaderId,
    members,
    writtenAtMs: o.writtenAtMs,
  };
}

function memberRecord(v: unknown): MemberRecord | null {
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Record<string, unknown>;
  if (!isText(m.memberId) || !isNullableString(m.groupInstanceId)) return null;
  if (typeof m.clientId !== 'string' || typeof m.clientHost !== 'string') return null;
  if (!isInt(m.sessionTimeoutMs) || !isInt(m.rebalanceTimeoutMs)) return null;
  if (!Buffer.isBuffer(m.subscription) || !Buffer.isBuffer(m.assignment)) return null;
  return {
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    sessionTimeoutMs: m.sessionTimeoutMs,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    subscription: m.subscription,
    assignment: m.assignment,
  };
}

function safeUnpack(b: Buffer): unknown {
  try {
    return unpack(b);
  } catch {
    return undefined;
  }
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

function isNullableString(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}
