/**
 * A per-partition request sent to each partition's leader (ListOffsets, DeleteRecords), results in the
 * caller's order. The same partition may be asked more than once (earliest and latest together), so answers
 * are matched by position within each leader's request (the broker answers in request order), checked
 * against topic and partition. Partitions answered with a stale-leader error (NOT_LEADER after a failover),
 * or whose leader cannot be reached, are asked again with fresh metadata, a few rounds at most.
 */

import { codeFromWire, toStreamBusError } from '../errors/index.js';
import { type WireError, wireErrorOf } from '../protocol/index.js';
import { type Cluster, STALE_METADATA_CODES } from './cluster.js';

/** Errors that say the broker could not be reached at all (it died, or it is restarting). */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['NETWORK_ERROR', 'CONNECTION_CLOSED']);

/** Rounds of asking again (with fresh metadata) the partitions whose leader moved. */
const STALE_LEADER_ROUNDS = 3;

export interface PartitionAsk {
  readonly topic: string;
  readonly partition: number;
}

export interface PartitionAnswer extends PartitionAsk {
  readonly error: WireError | null;
}

export interface LeaderRequest<A extends PartitionAsk, R extends PartitionAnswer> {
  /** Names the request in errors (`cluster.listOffsets`). */
  readonly operation: string;
  /** Sends one leader its partitions' asks; answers in request order. */
  send(leader: number, asks: A[], signal: AbortSignal | undefined): Promise<R[]>;
  /** The answer of a partition that was not asked (no leader, unreachable, no answer) with `error`. */
  failed(ask: A, error: WireError): R;
}

export async function askPartitionLeaders<A extends PartitionAsk, R extends PartitionAnswer>(
  cluster: Cluster,
  asks: readonly A[],
  request: LeaderRequest<A, R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const out = await askLeaders(cluster, asks, request, signal);
  for (let round = 0; round < STALE_LEADER_ROUNDS; round++) {
    const stale = out.flatMap((r, i) =>
      r.error !== null && STALE_METADATA_CODES.has(codeFromWire(r.error.code)) ? [i] : [],
    );
    if (stale.length === 0 || signal?.aborted === true) break;
    cluster.invalidateMetadata();
    const again = await askLeaders(
      cluster,
      stale.map((i) => asks[i]!),
      request,
      signal,
    );
    stale.forEach((askIndex, j) => {
      out[askIndex] = again[j]!;
    });
  }
  return out;
}

async function askLeaders<A extends PartitionAsk, R extends PartitionAnswer>(
  cluster: Cluster,
  asks: readonly A[],
  request: LeaderRequest<A, R>,
  signal: AbortSignal | undefined,
): Promise<R[]> {
  const byLeader = new Map<number, number[]>();
  const out: (R | undefined)[] = new Array(asks.length);
  for (let i = 0; i < asks.length; i++) {
    const a = asks[i]!;
    let leader: number | undefined;
    try {
      leader = await cluster.leaderIfKnown(a.topic, a.partition);
    } catch (err) {
      // A topic deleted meanwhile (group offsets can outlive it) answers for itself; the rest are asked.
      const e = toStreamBusError(err, request.operation);
      if (e.code !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
      out[i] = request.failed(a, wireErrorOf(e.code, e.message));
      continue;
    }
    if (leader === undefined) {
      // No leader right now (a failover under way): that partition answers so, the others are asked.
      out[i] = request.failed(
        a,
        wireErrorOf('LEADER_NOT_AVAILABLE', `no leader for ${a.topic}/${a.partition}`),
      );
      continue;
    }
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), i]);
  }
  await Promise.all(
    [...byLeader].map(async ([leader, indexes]) => {
      const partitions = indexes.map((i) => asks[i]!);
      const answers = await request
        .send(leader, partitions, signal)
        .catch((err: unknown) => unreachable(err, partitions, request, signal));
      indexes.forEach((askIndex, j) => {
        const a = asks[askIndex]!;
        const byPosition = answers[j];
        out[askIndex] =
          byPosition && byPosition.topic === a.topic && byPosition.partition === a.partition
            ? byPosition
            : answers.find((r) => r.topic === a.topic && r.partition === a.partition);
      });
    }),
  );
  return asks.map(
    (a, i) =>
      out[i] ??
      request.failed(
        a,
        wireErrorOf('UNKNOWN_SERVER_ERROR', `no result in the answer (${request.operation})`),
      ),
  );
}

/**
 * A leader that cannot be reached is stale metadata too: its partitions answer BROKER_NOT_AVAILABLE, so the
 * rounds above fetch metadata again and ask the new leader. Thrown instead, the error left the cached
 * metadata naming the dead broker, and every later call (a long-lived admin's group describe, say) failed
 * the same way until the cache aged out (metadataMaxAgeMs, 5 minutes).
 */
function unreachable<A extends PartitionAsk, R extends PartitionAnswer>(
  err: unknown,
  partitions: readonly A[],
  request: LeaderRequest<A, R>,
  signal: AbortSignal | undefined,
): R[] {
  const e = toStreamBusError(err, request.operation);
  if (signal?.aborted === true || !UNREACHABLE_CODES.has(e.code)) throw err;
  const error = wireErrorOf('BROKER_NOT_AVAILABLE', e.message);
  return partitions.map((p) => request.failed(p, error));
}
