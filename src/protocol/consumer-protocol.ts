/**
 * The consumer protocol: the bytes consumers put in JoinGroup (subscription) and SyncGroup (assignment). The
 * coordinator reads subscriptions only to tell which topics a group reads (OffsetDelete); every member
 * decodes what the leader (or a peer) wrote. Either way the bytes are untrusted.
 *
 * Wire grammar (msgpackr, arrays only, no records or maps):
 *   subscription = [version: uint >= 1, topics: string[], owned: topicPartitions, generation: int >= -1,
 *                   userData: bin | nil, ...fields of later versions]
 *   assignment   = [version: uint >= 1, partitions: topicPartitions, userData: bin | nil, ...later fields]
 *   topicPartitions = [topic: string, partitions: uint[]][]   (topics and partitions sorted, no duplicates)
 * An empty buffer is an empty assignment: that is what the coordinator hands a member the leader gave nothing.
 * A later version may only append fields, so this decoder reads any version >= 1 and ignores the tail
 * (Kafka's ConsumerProtocol does the same); bump FORMAT_VERSION only when appending a field.
 */
import { pack, unpack } from 'msgpackr';
import { StreamBusError } from '../errors/index.js';
import { ARRAY_LENGTH_MAX, NAME_CHARS_MAX } from './limits.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** What a member tells the group's leader in JoinGroup. */
export interface Subscription {
  topics: string[];
  /** What the member owns now; sticky and cooperative assignors keep as much of it as they can. */
  ownedPartitions: TopicPartition[];
  /** Generation in which the member got `ownedPartitions`; -1 if it owns nothing yet. */
  generation: number;
  userData?: Buffer;
}

/** Orders by UTF-16 code units, as Java's String.compareTo (Kafka's assignors sort topics this way). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const FORMAT_VERSION = 1;
const PARTITION_MAX = 2 ** 31 - 1;
const GENERATION_MAX = 2 ** 31 - 1;

export function encodeSubscription(s: Subscription): Buffer {
  const operation = 'encodeSubscription';
  const topics = [...new Set(s.topics)].sort(compareStrings);
  for (const topic of topics) checkTopic(topic, operation);
  if (!Number.isInteger(s.generation) || s.generation < -1 || s.generation > GENERATION_MAX) {
    fail(operation, `generation ${s.generation} is not an integer in [-1, ${GENERATION_MAX}]`);
  }
  return pack([
    FORMAT_VERSION,
    topics,
    group(s.ownedPartitions, operation),
    s.generation,
    s.userData ?? null,
  ]);
}

export function decodeSubscription(b: Buffer): Subscription {
  const operation = 'decodeSubscription';
  const fields = decodeEnvelope(b, 5, operation);
  const rawTopics = fields[1];
  if (!Array.isArray(rawTopics) || rawTopics.length > ARRAY_LENGTH_MAX)
    fail(operation, 'topics is not a list');
  const topics: string[] = [];
  const seen = new Set<string>();
  for (const topic of rawTopics) {
    checkTopic(topic, operation);
    if (seen.has(topic)) fail(operation, `topic ${topic} is listed twice`);
    seen.add(topic);
    topics.push(topic);
  }
  const generation = fields[3];
  if (typeof generation !== 'number' || !Number.isInteger(generation) || generation < -1) {
    fail(operation, 'generation is not an integer >= -1');
  }
  if (generation > GENERATION_MAX) fail(operation, 'generation is out of range');
  const subscription: Subscription = { topics, ownedPartitions: ungroup(fields[2], operation), generation };
  const userData = decodeUserData(fields[4], operation);
  if (userData !== undefined) subscription.userData = userData;
  return subscription;
}

export function encodeAssignment(partitions: TopicPartition[], userData?: Buffer): Buffer {
  return pack([FORMAT_VERSION, group(partitions, 'encodeAssignment'), userData ?? null]);
}

export function decodeAssignment(b: Buffer): { partitions: TopicPartition[]; userData?: Buffer } {
  const operation = 'decodeAssignment';
  if (b.length === 0) return { partitions: [] };
  const fields = decodeEnvelope(b, 3, operation);
  const result: { partitions: TopicPartition[]; userData?: Buffer } = {
    partitions: ungroup(fields[1], operation),
  };
  const userData = decodeUserData(fields[2], operation);
  if (userData !== undefined) result.userData = userData;
  return result;
}

function fail(operation: string, message: string): never {
  throw new StreamBusError('INVALID_REQUEST', { operation, message: `${operation}: ${message}` });
}

/** Unpacks and checks the outer array and its version; msgpackr's own errors become INVALID_REQUEST. */
function decodeEnvelope(b: Buffer, fieldCount: number, operation: string): unknown[] {
  if (!((b as unknown) instanceof Uint8Array)) fail(operation, 'input is not a buffer');
  if (b.length === 0) fail(operation, 'input is empty');
  let raw: unknown;
  try {
    raw = unpack(b);
  } catch (cause) {
    throw new StreamBusError('INVALID_REQUEST', {
      operation,
      message: `${operation}: not valid msgpack`,
      cause,
    });
  }
  if (!Array.isArray(raw) || raw.length < fieldCount)
    fail(operation, `expected an array of ${fieldCount} fields`);
  const version: unknown = raw[0];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    fail(operation, 'version is not an integer >= 1');
  }
  return raw;
}

function checkTopic(topic: unknown, operation: string): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > NAME_CHARS_MAX) {
    fail(operation, 'topic is not a non-empty string of bounded length');
  }
}

function checkPartition(partition: unknown, operation: string): asserts partition is number {
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) {
    fail(operation, 'partition is not a non-negative integer');
  }
  if (partition > PARTITION_MAX) fail(operation, 'partition is out of range');
}

/** Groups by topic, sorted, duplicates dropped: the same set always encodes to the same bytes. */
function group(partitions: readonly TopicPartition[], operation: string): [string, number[]][] {
  const byTopic = new Map<string, Set<number>>();
  for (const { topic, partition } of partitions) {
    checkTopic(topic, operation);
    checkPartition(partition, operation);
    const set = byTopic.get(topic) ?? new Set<number>();
    set.add(partition);
    byTopic.set(topic, set);
  }
  return [...byTopic.keys()]
    .sort(compareStrings)
    .map((topic) => [topic, [...byTopic.get(topic)!].sort((x, y) => x - y)]);
}

function ungroup(raw: unknown, operation: string): TopicPartition[] {
  if (!Array.isArray(raw) || raw.length > ARRAY_LENGTH_MAX) fail(operation, 'partitions is not a list');
  const out: TopicPartition[] = [];
  const seenTopics = new Set<string>();
  for (const entry of raw as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2)
      fail(operation, 'entry is not a [topic, partitions] pair');
    const [topic, list] = entry as unknown[];
    checkTopic(topic, operation);
    if (seenTopics.has(topic)) fail(operation, `topic ${topic} is listed twice`);
    seenTopics.add(topic);
    if (!Array.isArray(list) || list.length > ARRAY_LENGTH_MAX) fail(operation, 'partitions is not a list');
    const seen = new Set<number>();
    for (const partition of list as unknown[]) {
      checkPartition(partition, operation);
      if (seen.has(partition)) fail(operation, `partition ${topic}/${partition} is listed twice`);
      seen.add(partition);
      out.push({ topic, partition });
    }
    if (out.length > ARRAY_LENGTH_MAX) fail(operation, 'too many partitions');
  }
  return out;
}

function decodeUserData(raw: unknown, operation: string): Buffer | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (!(raw instanceof Uint8Array)) fail(operation, 'userData is not bytes');
  // Copy: msgpackr returns a view into the input, and the caller may reuse that buffer.
  return Buffer.from(raw);
}
