/**
 * Argument checks for Admin calls made from plain JavaScript, where the types do not stop a wrong shape.
 * Without them a wrong shape fails deep inside (`resources.map is not a function`, or the encoder's
 * `CreatePartitions.topics[0].count must be an int32` for a field the caller never wrote). Each names the
 * form the call expects, as INVALID_REQUEST, before anything is sent.
 */
import { StreamBusError } from '../errors/index.js';
import type { ConfigResource } from '../protocol/index.js';

function usage(operation: string, message: string): StreamBusError {
  return new StreamBusError('INVALID_REQUEST', { operation: `admin.${operation}`, message });
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object') return `{ ${Object.keys(v).join(', ')} }`;
  return String(v);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const GROWTH_FORM =
  'expected { [topic]: new total partition count } or { [topic]: { count, assignments? } }, e.g. createPartitions({ orders: 6 })';

/** createPartitions' argument: topic name to its new total count (or { count, assignments }). */
export function checkPartitionGrowth(counts: unknown): void {
  if (!isRecord(counts)) throw usage('createPartitions', `${GROWTH_FORM}; got ${describeValue(counts)}`);
  // The Kafka-like { topic, count } form names its topic in a field: say what it is written as here.
  if (typeof counts.topic === 'string' && !(counts.topic in counts)) {
    const n = counts.count ?? counts.partitions;
    const hint = `did you mean createPartitions({ ${counts.topic}: ${typeof n === 'number' ? n : 'N'} })?`;
    throw usage('createPartitions', `${GROWTH_FORM}; got ${describeValue(counts)}: ${hint}`);
  }
  for (const [topic, growth] of Object.entries(counts)) {
    const count = isRecord(growth) ? growth.count : growth;
    if (!Number.isSafeInteger(count) || (isRecord(growth) && !okAssignments(growth.assignments))) {
      throw usage('createPartitions', `${GROWTH_FORM}; got ${topic}: ${describeValue(growth)}`);
    }
  }
}

function okAssignments(a: unknown): boolean {
  return a === undefined || a === null || (Array.isArray(a) && a.every((r) => Array.isArray(r)));
}

const RESOURCE_FORM =
  "{ type: 'topic', name }, { type: 'cluster', name: '' } or { type: 'client', name: clientId ('' for every client id) }";

function isConfigResource(r: unknown): r is ConfigResource {
  return (
    isRecord(r) &&
    (r.type === 'topic' || r.type === 'cluster' || r.type === 'client') &&
    typeof r.name === 'string'
  );
}

/** describeConfigs / alterConfigs: an array of resources, each of a known type with a name. */
export function checkConfigResources(resources: unknown, operation: string, single: string): void {
  if (!Array.isArray(resources)) {
    throw usage(
      operation,
      `expected an array of ${RESOURCE_FORM}, e.g. ${operation}([{ type: 'topic', name: 'orders' }]) (${single}() takes one); got ${describeValue(resources)}`,
    );
  }
  resources.forEach((r: unknown, i) => {
    if (!isConfigResource(r))
      throw usage(operation, `resources[${i}]: expected ${RESOURCE_FORM}; got ${describeValue(r)}`);
  });
}

/** describeConfig / alterConfig: one resource. */
export function checkConfigResource(
  resource: unknown,
  operation: string,
): asserts resource is ConfigResource {
  if (!isConfigResource(resource)) {
    throw usage(
      operation,
      `expected ${RESOURCE_FORM}, e.g. ${operation}({ type: 'topic', name: 'orders' }); got ${describeValue(resource)}`,
    );
  }
}

const REASSIGNMENT_FORM =
  "expected an array of { partition, replicas }, e.g. reassignPartitions('orders', [{ partition: 0, replicas: [4, 1, 2] }])";

/** reassignPartitions' argument: each partition with the broker ids of its new replicas, preferred leader first. */
export function checkReassignments(assignments: unknown): void {
  if (!Array.isArray(assignments)) {
    throw usage('reassignPartitions', `${REASSIGNMENT_FORM}; got ${describeValue(assignments)}`);
  }
  assignments.forEach((a: unknown, i) => {
    const ok =
      isRecord(a) &&
      Number.isSafeInteger(a.partition) &&
      Array.isArray(a.replicas) &&
      a.replicas.every((id) => Number.isSafeInteger(id));
    if (!ok) throw usage('reassignPartitions', `[${i}]: ${REASSIGNMENT_FORM}; got ${describeValue(a)}`);
  });
}

const RECORDS_TO_DELETE_FORM =
  'expected [{ topic, partition, offset }] (offset -1: every record up to the high watermark), e.g. deleteRecords([{ topic: "orders", partition: 0, offset: 1200 }])';

/** deleteRecords' argument: a list of { topic, partition, offset }. */
export function checkRecordsToDelete(partitions: unknown): void {
  const ok =
    Array.isArray(partitions) &&
    partitions.every(
      (p) =>
        isRecord(p) &&
        typeof p.topic === 'string' &&
        Number.isSafeInteger(p.partition) &&
        (p.partition as number) >= 0 &&
        Number.isSafeInteger(p.offset) &&
        (p.offset as number) >= -1,
    );
  if (!ok) throw usage('deleteRecords', `${RECORDS_TO_DELETE_FORM}; got ${describeValue(partitions)}`);
}
