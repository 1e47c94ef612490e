/**
 * ListOffsets through each partition's leader, results in the caller's order. The same partition may be
 * asked more than once (earliest and latest together), so answers are matched by position within each
 * leader's request (the broker answers in request order), checked against topic and partition.
 * Partitions answered with a stale-leader error (NOT_LEADER after a failover), or whose leader cannot be
 * reached, are asked again with fresh metadata, a few rounds at most.
 */

import { codeFromWire, isRetriable, StreamBusError, toStreamBusError } from '../errors/index.js';
import {
  ApiKey,
  fromWireError,
  type ListOffsetsPartition,
  type ListOffsetsPartitionResult,
  wireErrorOf,
} from '../protocol/index.js';
import { type RetryOptions, retrying } from './backoff.js';
import { type Cluster, STALE_METADATA_CODES } from './cluster.js';

/** Errors that say the broker could not be reached at all (it died, or it is restarting). */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['NETWORK_ERROR', 'CONNECTION_CLOSED']);

/** An explicit seek's tries at most, whatever the consumer's `retries`. */
const SEEK_RETRIES_MAX = 5;

/** Rounds of asking again (with fresh metadata) the partitions whose leader moved. */
const STALE_LEADER_ROUNDS = 3;

export async function listOffsetsByLeader(
  cluster: Cluster,
  asks: readonly ListOffsetsPartition[],
  signal?: AbortSignal,
): Promise<ListOffsetsPartitionResult[]> {
  const out = await askLeaders(cluster, asks, signal);
  for (let round = 0; round < STALE_LEADER_ROUNDS; round++) {
    const stale = out.flatMap((r, i) =>
      r.error !== null && STALE_METADATA_CODES.has(codeFromWire(r.error.code)) ? [i] : [],
    );
    if (stale.length === 0 || signal?.aborted === true) break;
    cluster.invalidateMetadata();
    const again = await askLeaders(
      cluster,
      stale.map((i) => asks[i]!),
      signal,
    );
    stale.forEach((askIndex, j) => {
      out[askIndex] = again[j]!;
    });
  }
  return out;
}

async function askLeaders(
  cluster: Cluster,
  asks: readonly ListOffsetsPartition[],
  signal?: AbortSignal,
): Promise<ListOffsetsPartitionResult[]> {
  const byLeader = new Map<number, number[]>();
  const out: (ListOffsetsPartitionResult | undefined)[] = new Array(asks.length);
  for (let i = 0; i < asks.length; i++) {
    const a = asks[i]!;
    let leader: number | undefined;
    try {
      leader = await cluster.leaderIfKnown(a.topic, a.partition);
    } catch (err) {
      // A topic deleted meanwhile (group offsets can outlive it) answers for itself; the rest are asked.
      const e = toStreamBusError(err, 'cluster.listOffsets');
      if (e.code !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
      out[i] = { ...a, error: wireErrorOf(e.code, e.message), offset: -1, timestamp: -1 };
      continue;
    }
    if (leader === undefined) {
      // No leader right now (a failover under way): that partition answers so, the others are asked.
      const error = wireErrorOf('LEADER_NOT_AVAILABLE', `no leader for ${a.topic}/${a.partition}`);
      out[i] = { ...a, error, offset: -1, timestamp: -1 };
      continue;
    }
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), i]);
  }
  await Promise.all(
    [...byLeader].map(async ([leader, indexes]) => {
      const partitions = indexes.map((i) => asks[i]!);
      const res = await cluster
        .request(leader, ApiKey.ListOffsets, { partitions }, signal ? { signal } : {})
        .catch((err: unknown) => unreachable(err, partitions, signal));
      indexes.forEach((askIndex, j) => {
        const a = asks[askIndex]!;
        const byPosition = res.partitions[j];
        out[askIndex] =
          byPosition && byPosition.topic === a.topic && byPosition.partition === a.partition
            ? byPosition
            : res.partitions.find((r) => r.topic === a.topic && r.partition === a.partition);
      });
    }),
  );
  return asks.map(
    (a, i) =>
      out[i] ?? {
        topic: a.topic,
        partition: a.partition,
        error: wireErrorOf('UNKNOWN_SERVER_ERROR', 'no result in the ListOffsets response'),
        offset: -1,
        timestamp: -1,
      },
  );
}

/**
 * A leader that cannot be reached is stale metadata too: its partitions answer BROKER_NOT_AVAILABLE, so the
 * rounds above fetch metadata again and ask the new leader. Thrown instead, the error left the cached
 * metadata naming the dead broker, and every later call (a long-lived admin's group describe, say) failed
 * the same way until the cache aged out (metadataMaxAgeMs, 5 minutes).
 */
function unreachable(
  err: unknown,
  partitions: readonly ListOffsetsPartition[],
  signal: AbortSignal | undefined,
): { partitions: ListOffsetsPartitionResult[] } {
  const e = toStreamBusError(err, 'list-offsets');
  if (signal?.aborted === true || !UNREACHABLE_CODES.has(e.code)) throw err;
  const error = wireErrorOf('BROKER_NOT_AVAILABLE', e.message);
  return {
    partitions: partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      error,
      offset: -1,
      timestamp: -1,
    })),
  };
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
