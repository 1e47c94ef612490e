/**
 * One fetch round of a consumer: every assigned partition with a fetch offset is asked of its leader (one
 * Fetch per leader, in parallel), and the answers become checked, not yet decoded, batches per partition.
 * A leader that fails does not stall or lose the others' data: what arrived is kept and only then do fetch
 * offsets move (a part that failed is fetched again from the same offset). A seek or reassignment while a
 * round is out wins over what it brings back (partition epochs).
 */
import { isRetriable, toStreamBusError } from '../errors/index.js';
import { ApiKey, type FetchResponse, fromWireError } from '../protocol/index.js';
import { type Cluster, STALE_METADATA_CODES } from './cluster.js';
import { type ScannedFetch, scanFetch } from './fetched-records.js';

/** Where to start when a partition has no position or it is out of range. */
export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface PartitionState {
  topic: string;
  partition: number;
  /** The offset of the next message poll() returns; null until resolved through autoOffsetReset. */
  position: number | null;
  /** The next offset to fetch: ahead of `position` while a prefetched round waits to be returned. */
  fetchOffset: number | null;
  /** Bumped by every seek, so a fetch that raced a seek moves nothing. */
  epoch: number;
}

/** One fetch round: its messages, and where each partition's position moves once they are returned. */
export interface Round {
  /** Per partition fetched: where it moves to and its checked, not yet decoded, batches. */
  advances: {
    state: PartitionState;
    epoch: number;
    fetchOffset: number;
    nextOffset: number;
    scanned: ScannedFetch;
  }[];
}

export const keyOf = (topic: string, partition: number): string => `${partition}\u0000${topic}`;

export interface FetchRoundContext {
  cluster: Cluster;
  /** The assignment, by keyOf(topic, partition). */
  partitions: ReadonlyMap<string, PartitionState>;
  options: {
    maxWaitMs: number;
    minBytes: number;
    maxBytes: number;
    partitionMaxBytes: number;
    requestTimeoutMs: number;
    autoOffsetReset: AutoOffsetReset;
  };
  /** The consumer closing. */
  signal: AbortSignal;
}

type Asked = { state: PartitionState; offset: number; epoch: number };

/** Runs one round over the partitions whose fetch offset is known. */
export async function fetchRound(ctx: FetchRoundContext): Promise<Round> {
  const byLeader = new Map<number, PartitionState[]>();
  for (const s of ctx.partitions.values()) {
    if (s.fetchOffset === null) continue;
    const leader = await ctx.cluster.leaderFor(s.topic, s.partition);
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), s]);
  }
  const rounds = [...byLeader].map(async ([leader, states]) => {
    const asked = states.map((s) => ({ state: s, offset: s.fetchOffset!, epoch: s.epoch }));
    const response: FetchResponse = await ctx.cluster.request(
      leader,
      ApiKey.Fetch,
      {
        maxWaitMs: ctx.options.maxWaitMs,
        minBytes: ctx.options.minBytes,
        maxBytes: ctx.options.maxBytes,
        partitions: asked.map((a) => ({
          topic: a.state.topic,
          partition: a.state.partition,
          fetchOffset: a.offset,
          partitionMaxBytes: ctx.options.partitionMaxBytes,
        })),
      },
      { signal: ctx.signal, timeoutMs: ctx.options.requestTimeoutMs + ctx.options.maxWaitMs },
    );
    return applyFetch(ctx, asked, response);
  });
  // One leader down must neither stall nor lose the others' data: what arrived is delivered, and only
  // then do fetch offsets move (a part that failed is fetched again from the same offset).
  const settled = await Promise.allSettled(rounds);
  const advances = settled.flatMap((p) => (p.status === 'fulfilled' ? p.value.advances : []));
  const failures = settled.flatMap((p) => (p.status === 'rejected' ? [p.reason as unknown] : []));
  const fatal = failures.find((err) => !isRetriable(toStreamBusError(err, 'consumer.fetch')));
  if (fatal !== undefined || (failures.length > 0 && advances.length === 0)) throw fatal ?? failures[0];
  if (failures.length > 0) ctx.cluster.invalidateMetadata();
  for (const a of advances) if (a.state.epoch === a.epoch) a.state.fetchOffset = a.nextOffset;
  return { advances };
}

function applyFetch(ctx: FetchRoundContext, asked: Asked[], response: FetchResponse): Round {
  const round: Round = { advances: [] };
  for (const r of response.partitions) {
    const a = asked.find((x) => x.state.topic === r.topic && x.state.partition === r.partition);
    // A seek or reassignment since the request was sent wins over what came back.
    if (!a || a.state.epoch !== a.epoch || ctx.partitions.get(keyOf(r.topic, r.partition)) !== a.state)
      continue;
    if (r.error !== null) {
      const err = fromWireError(r.error, 'consumer.fetch');
      if (err.code === 'OFFSET_OUT_OF_RANGE') {
        if (ctx.options.autoOffsetReset === 'none') throw err;
        a.state.fetchOffset = null;
        a.state.position = null;
        continue;
      }
      if (STALE_METADATA_CODES.has(err.code)) {
        ctx.cluster.invalidateMetadata();
        continue;
      }
      if (isRetriable(err)) continue;
      throw err;
    }
    const scanned = scanFetch(r.topic, r.partition, r.records, a.offset);
    round.advances.push({
      state: a.state,
      epoch: a.epoch,
      fetchOffset: a.offset,
      nextOffset: scanned.nextOffset,
      scanned,
    });
  }
  return round;
}
