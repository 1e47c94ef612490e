/**
 * `[[int32]] | nil`, shared by CreateTopics and CreatePartitions requests: an operator's own replica
 * assignment (Kafka's `--replica-assignment`), one list of broker ids per partition, preferred leader
 * first; nil lets the broker place. Like every field it must be present (nil, not missing). The lists are
 * only type-checked here; the broker answers INVALID_REPLICA_ASSIGNMENT per topic.
 */
import { asInt32Array, mapNullableArray } from '../narrow.js';

export function encodeAssignments(
  assignments: readonly (readonly number[])[] | null | undefined,
): number[][] | null {
  return assignments === null || assignments === undefined ? null : assignments.map((r) => [...r]);
}

export function decodeAssignments(v: unknown, path: string): number[][] | null {
  return mapNullableArray(v, path, asInt32Array);
}
