/**
 * ListOffsets through each partition's leader, results in the caller's order. The same partition may be
 * asked more than once (earliest and latest together), so answers are matched by position within each
 * leader's request (the broker answers in request order), checked against topic and partition.
 * Partitions answered with a stale-leader error (NOT_LEADER after a failover) are asked again with fresh
 * metadata, a few rounds at most.
 */

import { codeFromWire } from '../errors/index.js';
import {
  ApiKey,
  type ListOffsetsPartition,
  type ListOffsetsPartitionResult,
  wireErrorOf,
} from '../protocol/index.js';
import { type Cluster, STALE_METADATA_CODES } from './cluster.js';

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
  for (let i = 0; i < asks.length; i++) {
    const a = asks[i]!;
    const leader = await cluster.leaderFor(a.topic, a.partition);
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), i]);
  }
  const out: (ListOffsetsPartitionResult | undefined)[] = new Array(asks.length);
  await Promise.all(
    [...byLeader].map(async ([leader, indexes]) => {
      const partitions = indexes.map((i) => asks[i]!);
      const res = await cluster.request(leader, ApiKey.ListOffsets, { partitions }, signal ? { signal } : {});
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
