/**
 * DescribeTopics versions after v0 each add fields to every partition of the previous version's response:
 * these two walk the topics and partitions once for all of them, so a version says only what it adds.
 */
import type { DescribeTopicsResponse, PartitionDescription } from '../../messages.js';
import { asArray, asObject, field, type WireObject } from '../../narrow.js';

const ROOT = 'DescribeTopicsResponse.topics';

/** The previous version's encoded response `base`, with `added(partition)` on each partition. */
export function withPartitionFields(
  base: unknown,
  res: DescribeTopicsResponse,
  added: (p: PartitionDescription | undefined) => WireObject,
): unknown {
  const encoded = base as { topics: { partitions: WireObject[] }[] };
  return {
    topics: encoded.topics.map((t, i) => ({
      ...t,
      partitions: t.partitions.map((p, j) => ({ ...p, ...added(res.topics[i]?.partitions[j]) })),
    })),
  };
}

/**
 * The previous version's decoded response `res`, each partition given what `read` takes from its wire map
 * (`raw`, checked at `path`) of the undecoded response `v`.
 */
export function readPartitionFields(
  v: unknown,
  res: DescribeTopicsResponse,
  read: (p: PartitionDescription, raw: WireObject, path: string) => PartitionDescription,
): DescribeTopicsResponse {
  const topics = asArray(field(asObject(v, 'DescribeTopicsResponse'), 'topics'), ROOT);
  const path = `${ROOT}.partitions`;
  return {
    topics: res.topics.map((t, i) => {
      const partitions = asArray(field(asObject(topics[i], ROOT), 'partitions'), path);
      return {
        ...t,
        partitions: t.partitions.map((p, j) => read(p, asObject(partitions[j], path), path)),
      };
    }),
  };
}
