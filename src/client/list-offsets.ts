/** ListOffsets through each partition's leader (partition-leaders.ts), results in the caller's order. */

import { isRetriable, StreamBusError } from '../errors/index.js';
import {
  ApiKey,
  fromWireError,
  type ListOffsetsPartition,
  type ListOffsetsPartitionResult,
} from '../protocol/index.js';
import { type RetryOptions, retrying } from './backoff.js';
import { type Cluster, STALE_METADATA_CODES } from './cluster.js';
import { askPartitionLeaders } from './partition-leaders.js';

/** An explicit seek's tries at most, whatever the consumer's `retries`. */
const SEEK_RETRIES_MAX = 5;

export function listOffsetsByLeader(
  cluster: Cluster,
  asks: readonly ListOffsetsPartition[],
  signal?: AbortSignal,
): Promise<ListOffsetsPartitionResult[]> {
  return askPartitionLeaders(
    cluster,
    asks,
    {
      operation: 'cluster.listOffsets',
      send: async (leader, partitions, s) =>
        (await cluster.request(leader, ApiKey.ListOffsets, { partitions }, s ? { signal: s } : {}))
          .partitions,
      failed: (a, error) => ({ topic: a.topic, partition: a.partition, error, offset: -1, timestamp: -1 }),
    },
    signal,
  );
}

/**
 * The offsets of `asks` (an explicit seek's question), any partition's error thrown, asked again with fresh
 * metadata while the failure is retriable or a stale leader, a few times at most: a seek reports a dead
 * broker after a few tries (a consumer's poll() loop keeps going beyond).
 */
export function offsetsOrThrow(
  cluster: Cluster,
  asks: readonly ListOffsetsPartition[],
  retry: Omit<RetryOptions, 'isRetriable' | 'onRetry'>,
): Promise<number[]> {
  return retrying(
    async () => {
      const results = await listOffsetsByLeader(cluster, asks, retry.signal);
      for (const r of results) if (r.error !== null) throw fromWireError(r.error, 'consumer.listOffsets');
      return results.map((r) => r.offset);
    },
    {
      ...retry,
      retries: Math.min(retry.retries, SEEK_RETRIES_MAX),
      isRetriable: (err) =>
        isRetriable(err) || (err instanceof StreamBusError && STALE_METADATA_CODES.has(err.code)),
      onRetry: () => cluster.invalidateMetadata(),
    },
  );
}
