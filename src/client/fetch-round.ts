/**
 * One fetch round of a consumer: every assigned partition with a fetch offset is asked of its leader, or of
 * the replica in the consumer's rack its leader named (read-replicas.ts; one Fetch per broker, in parallel),
 * and the answers become checked, not yet decoded, batches per partition.
 * A leader that fails or stops answering does not stall or lose the others' data: what arrived is kept and only then do fetch
 * offsets move (a part that failed is fetched again from the same offset). A seek or reassignment while a
 * round is out wins over what it brings back (partition epochs). A partition that fresh metadata no longer
 * shows (its topic was deleted) sits the round out and is reported in `gone`, for the consumer to decide
 * what becomes of it; the others are fetched.
 */

import { isRetriable, StreamBusError, toStreamBusError } from '../errors/index.js';
import { ApiKey, type FetchResponse, fromWireError } from '../protocol/index.js';
import { type Cluster, STALE_METADATA_CODES } from './cluster.js';
import { type ConsumerMessage, decodeFetch, type ScannedFetch, scanFetch } from './fetched-records.js';
import { atNewestVersion } from './newest-version.js';
import type { ReadReplicas } from './read-replicas.js';

/** Where to start when a partition has no position or it is out of range. */
export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface PartitionState {
  topic: string;
  partition: number;
  /** The offset of the next message poll() returns; null until resolved through autoOffsetReset. */
  position: number | null;
  /** The next offset to fetch: ahead of `position` while a prefetched round waits to be returned. */
  fetchOffset: number | null;
  /** Bumped by every seek (and pause), so a fetch that raced it moves nothing. */
  epoch: number;
  /** Paused by the caller (Consumer.pause): not fetched until resumed. */
  paused: boolean;
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
  /** Partitions asked about that fresh metadata does not show: their topic was deleted. */
  gone: PartitionState[];
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
    /** The consumer's rack; "" for none (fetches then go to leaders, at Fetch v0). */
    clientRack: string;
  };
  /** The replicas in the consumer's rack that leaders named, per partition. Kept by the consumer. */
  readReplicas: ReadReplicas;
  /** The consumer closing. */
  signal: AbortSignal;
  /**
   * Brokers whose fetch an earlier round left behind, still unanswered: not asked again until it settles
   * (its answer is dropped; those partitions are fetched again from the same offsets). Kept by the consumer.
   */
  busyBrokers: Map<number, Promise<void>>;
}

/**
 * How long past `maxWaitMs` a round waits for the other leaders once one has answered: a broker that works
 * answers a long poll by `maxWaitMs`, and one that stopped answering (paused, cut off) must not hold the
 * other leaders' data for the whole request timeout.
 */
export const STRAGGLER_GRACE_MS = 1_000;

type Asked = {
  state: PartitionState;
  offset: number;
  epoch: number;
  /** Asked of a replica its leader named, not of the leader: any failure sends it back to the leader. */
  fromReplica: boolean;
};

/** Runs one round over the partitions whose fetch offset is known. */
export async function fetchRound(ctx: FetchRoundContext): Promise<Round> {
  const byBroker = new Map<number, { state: PartitionState; fromReplica: boolean }[]>();
  const gone: PartitionState[] = [];
  const wanted = [...ctx.partitions.values()].filter((s) => s.fetchOffset !== null && !s.paused);
  // Looked up together, so the metadata refreshes they need (a deleted topic's partitions each need one)
  // share one request.
  const leaders = await Promise.all(wanted.map((s) => leaderOrGone(ctx.cluster, s)));
  wanted.forEach((s, i) => {
    const leader = leaders[i];
    if (leader === 'gone') {
      gone.push(s);
      return;
    }
    // No leader right now: this partition sits the round out and the others are fetched (one failover must
    // not stall them all); leaderFor refreshed metadata for it, so the next round looks again.
    if (leader === undefined) return;
    const replica = ctx.readReplicas.replicaFor(
      s.topic,
      s.partition,
      ctx.cluster.cachedInSync(s.topic, s.partition),
    );
    const broker = replica ?? leader;
    if (!ctx.busyBrokers.has(broker))
      byBroker.set(broker, [
        ...(byBroker.get(broker) ?? []),
        { state: s, fromReplica: replica !== undefined },
      ]);
  });
  if (byBroker.size === 0) {
    // Every broker asked is still busy with a left-behind fetch, no partition has a leader known right now,
    // none has a fetch offset yet (a group's waiting for its committed offset), or all are paused or gone:
    // wait as a long poll would, not spin.
    await waitAtMost(ctx.options.maxWaitMs, [...ctx.busyBrokers.values()]);
    return { advances: [], gone };
  }
  let onSettled: () => void = () => {};
  const someSettled = new Promise<void>((resolve) => {
    onSettled = resolve;
  });
  const fetches = [...byBroker].map(([broker, parts]) => {
    const asked = parts.map((p) => ({
      state: p.state,
      offset: p.state.fetchOffset!,
      epoch: p.state.epoch,
      fromReplica: p.fromReplica,
    }));
    const f: {
      broker: number;
      asked: Asked[];
      outcome?: PromiseSettledResult<FetchResponse>;
      done: Promise<void>;
    } = { broker, asked, done: Promise.resolve() };
    f.done = requestFetch(ctx, broker, asked).then(
      (value) => {
        f.outcome = { status: 'fulfilled', value };
        onSettled();
      },
      (reason: unknown) => {
        f.outcome = { status: 'rejected', reason };
        onSettled();
      },
    );
    return f;
  });
  // One leader down must neither stall nor lose the others' data: what arrived is delivered, and only
  // then do fetch offsets move (a part that failed is fetched again from the same offset). A leader that
  // does not answer at all is waited for only until another has answered and a long poll plus
  // STRAGGLER_GRACE_MS has passed: then the round goes on without it, its answer will be dropped, and it is
  // not asked again until that answer (or the request's timeout) comes.
  const all = Promise.all(fetches.map((f) => f.done));
  await Promise.race([all, someSettled]);
  await waitAtMost(ctx.options.maxWaitMs + STRAGGLER_GRACE_MS, [all]);
  const settled: PromiseSettledResult<Round['advances']>[] = [];
  for (const f of fetches) {
    const outcome = f.outcome;
    if (outcome === undefined || outcome.status === 'rejected') {
      // A replica that fails or does not answer sends its partitions back to their leaders at once.
      for (const a of f.asked) if (a.fromReplica) ctx.readReplicas.forget(a.state.topic, a.state.partition);
    }
    const leaderFailed = f.asked.some((a) => !a.fromReplica);
    if (outcome === undefined) {
      ctx.busyBrokers.set(
        f.broker,
        f.done.then(() => {
          ctx.busyBrokers.delete(f.broker);
        }),
      );
      // Its leadership may have moved to a broker that answers.
      ctx.cluster.invalidateMetadata();
    } else if (outcome.status === 'rejected') {
      // Only a leader's failure counts against the round: a replica's partitions simply go to the leader.
      if (leaderFailed) settled.push(outcome);
    } else {
      try {
        settled.push({ status: 'fulfilled', value: applyFetch(ctx, f.asked, outcome.value) });
      } catch (reason) {
        settled.push({ status: 'rejected', reason });
      }
    }
  }
  const advances = settled.flatMap((p) => (p.status === 'fulfilled' ? p.value : []));
  const failures = settled.flatMap((p) => (p.status === 'rejected' ? [p.reason as unknown] : []));
  const fatal = failures.find((err) => !isRetriable(toStreamBusError(err, 'consumer.fetch')));
  if (fatal !== undefined || (failures.length > 0 && advances.length === 0)) throw fatal ?? failures[0];
  if (failures.length > 0) ctx.cluster.invalidateMetadata();
  for (const a of advances) if (a.state.epoch === a.epoch) a.state.fetchOffset = a.nextOffset;
  return { advances, gone };
}

/**
 * The partition's leader; undefined while it has none; 'gone' when fresh metadata does not show it (leaderFor
 * refreshes metadata before saying UNKNOWN_TOPIC_OR_PARTITION): its topic was deleted.
 */
async function leaderOrGone(cluster: Cluster, s: PartitionState): Promise<number | undefined | 'gone'> {
  try {
    return await cluster.leaderIfKnown(s.topic, s.partition);
  } catch (err) {
    if (err instanceof StreamBusError && err.code === 'UNKNOWN_TOPIC_OR_PARTITION') return 'gone';
    throw err;
  }
}

function applyFetch(ctx: FetchRoundContext, asked: Asked[], response: FetchResponse): Round['advances'] {
  const advances: Round['advances'] = [];
  for (const r of response.partitions) {
    const a = asked.find((x) => x.state.topic === r.topic && x.state.partition === r.partition);
    // A seek or reassignment since the request was sent wins over what came back.
    if (!a || a.state.epoch !== a.epoch || ctx.partitions.get(keyOf(r.topic, r.partition)) !== a.state)
      continue;
    if (a.fromReplica && r.error !== null) {
      // Out of sync, no longer a replica, an offset it does not hold: the leader decides (Kafka's consumer
      // also clears its preferred read replica on any error, OFFSET_OUT_OF_RANGE included).
      ctx.readReplicas.forget(r.topic, r.partition);
      continue;
    }
    if (r.error === null && (r.preferredReadReplica ?? -1) >= 0) {
      // Sent to a replica in our rack, with no records: the next round fetches the partition there.
      ctx.readReplicas.note(r.topic, r.partition, r.preferredReadReplica!);
      continue;
    }
    if (r.error !== null) {
      const err = fromWireError(r.error, 'consumer.fetch');
      if (err.code === 'OFFSET_OUT_OF_RANGE') {
        if (ctx.options.autoOffsetReset === 'none') throw err;
        a.state.fetchOffset = null;
        a.state.position = null;
        continue;
      }
      if (STALE_METADATA_CODES.has(err.code)) {
        if (err.code === 'NOT_LEADER' && r.leaderHint > 0)
          ctx.cluster.noteLeader(r.topic, r.partition, r.leaderHint);
        ctx.cluster.invalidateMetadata();
        continue;
      }
      if (isRetriable(err)) continue;
      throw err;
    }
    const scanned = scanFetch(r.topic, r.partition, r.records, a.offset);
    advances.push({
      state: a.state,
      epoch: a.epoch,
      fetchOffset: a.offset,
      nextOffset: scanned.nextOffset,
      scanned,
    });
  }
  return advances;
}

/**
 * A Fetch of `asked` from `broker`. A consumer with a rack sends v1, which carries it (and may be answered
 * by a follower); a broker whose build predates v1 (a rolling upgrade) answers UNSUPPORTED_VERSION, and is
 * asked at v0, as before fetch from followers: from the leader.
 */
async function requestFetch(
  ctx: FetchRoundContext,
  broker: number,
  asked: readonly Asked[],
): Promise<FetchResponse> {
  const { clientRack } = ctx.options;
  const body = {
    maxWaitMs: ctx.options.maxWaitMs,
    minBytes: ctx.options.minBytes,
    maxBytes: ctx.options.maxBytes,
    partitions: asked.map((a) => ({
      topic: a.state.topic,
      partition: a.state.partition,
      fetchOffset: a.offset,
      partitionMaxBytes: ctx.options.partitionMaxBytes,
    })),
  };
  // A replica is a shortcut: one that does not answer (paused, cut off) is given up on sooner than a leader,
  // and its partitions go to their leaders (fetchRound).
  const fromReplica = asked.every((a) => a.fromReplica);
  const waitMs = fromReplica
    ? Math.min(ctx.options.requestTimeoutMs, REPLICA_ANSWER_WAIT_MS)
    : ctx.options.requestTimeoutMs;
  const options = { signal: ctx.signal, timeoutMs: waitMs + ctx.options.maxWaitMs };
  if (clientRack === '') return ctx.cluster.request(broker, ApiKey.Fetch, body, options);
  // (Fetch v0 does not encode rackId.)
  return atNewestVersion(FETCH_FROM_FOLLOWERS_VERSION, (apiVersion) =>
    ctx.cluster.request(broker, ApiKey.Fetch, { ...body, rackId: clientRack }, { ...options, apiVersion }),
  );
}

/** How long past the long poll a fetch from a replica waits for its answer (a leader's: requestTimeoutMs). */
export const REPLICA_ANSWER_WAIT_MS = 5_000;

/** Fetch v1: the consumer's rack, and preferredReadReplica in the answer. */
const FETCH_FROM_FOLLOWERS_VERSION = 1;

/** Resolves when one of `work` settles or after `ms`, whichever comes first. */
async function waitAtMost(ms: number, work: readonly Promise<unknown>[]): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([elapsed, ...work.map((w) => w.then(noop, noop))]);
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}

/**
 * Moves positions past a round's messages and decodes those still wanted: a partition sought, paused or
 * reassigned since the fetch (its epoch or state changed) gives nothing.
 */
export function deliverRound(
  round: Round,
  partitions: ReadonlyMap<string, PartitionState>,
  decompressedBytesMax: number,
): ConsumerMessage[] {
  const delivered: ConsumerMessage[] = [];
  for (const a of round.advances) {
    const { state } = a;
    if (state.epoch !== a.epoch || partitions.get(keyOf(state.topic, state.partition)) !== state) continue;
    state.position = a.nextOffset;
    for (const m of decodeFetch(state.topic, state.partition, a.scanned, a.fetchOffset, decompressedBytesMax))
      delivered.push(m);
  }
  return delivered;
}
