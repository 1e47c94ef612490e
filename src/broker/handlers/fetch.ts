import type {
  FetchPartition,
  FetchPartitionResult,
  FetchRequest,
  FetchResponse,
} from '../../protocol/messages.js';
import { countRecords } from '../../protocol/record-batch.js';
import type { Deadline } from '../../resilience/deadline.js';
import type { ReadBufferSource } from '../../storage/read-buffers.js';
import type { PartitionReads, ReadSource } from '../catalog.js';
import type { HandlerContext, RequestSource } from './context.js';
import { leaderHintOf, partitionWireError } from './wire-error.js';

interface Resolved {
  index: number;
  /** Null when there is nothing to read here: an error, or the consumer is sent to another replica. */
  served: PartitionReads | null;
  /** Read from this broker's follower copy (fetch from followers): counted apart. */
  follower: boolean;
  result: FetchPartitionResult;
}

/** One pass over the partitions: reads what is there now, within the response's byte budget. */
async function readOnce(
  ctx: HandlerContext,
  request: FetchRequest,
  resolved: Resolved[],
  buffers: ReadBufferSource | undefined,
): Promise<number> {
  let budget = Math.min(request.maxBytes, ctx.limits.fetchBytesMax);
  let total = 0;
  for (const entry of resolved) {
    const p = request.partitions[entry.index]!;
    if (entry.served === null) continue;
    // Kafka's rule: the first partition with data may exceed the budget by one batch so a consumer can
    // always progress; after the budget is spent, later partitions return empty and are fetched next time.
    if (budget <= 0 && total > 0) {
      entry.result.records = Buffer.alloc(0);
      continue;
    }
    try {
      const maxBytes = Math.max(1, Math.min(p.partitionMaxBytes, budget));
      const read = await entry.served.read(p.fetchOffset, maxBytes, buffers);
      entry.result = {
        topic: p.topic,
        partition: p.partition,
        error: null,
        highWatermark: read.highWatermark,
        logStartOffset: read.logStartOffset,
        leaderHint: -1,
        records: read.records,
      };
      budget -= read.records.length;
      total += read.records.length;
    } catch (err) {
      entry.result = {
        ...entry.result,
        error: partitionWireError(ctx.observer, err, 'fetch'),
        leaderHint: leaderHintOf(err),
        records: Buffer.alloc(0),
      };
    }
  }
  return total;
}

/**
 * Waits until a partition's high watermark moves, the wait runs out, the broker starts draining or the
 * request's deadline passes. The deadline is raced, not listened to: its signal would give every long poll
 * an AbortController, which a CPU profile of a broker serving a tailing consumer put at about 4% of its time.
 */
function waitForData(
  ctx: HandlerContext,
  waitable: Resolved[],
  waitMs: number,
  deadline: Deadline,
): Promise<void> {
  let finish: () => void = () => {};
  const woken = new Promise<void>((resolve) => {
    const unsubscribes: (() => void)[] = [];
    finish = (): void => {
      clearTimeout(timer);
      for (const u of unsubscribes) u();
      ctx.shutdownSignal.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, waitMs);
    ctx.shutdownSignal.addEventListener('abort', finish, { once: true });
    for (const w of waitable) unsubscribes.push(w.served!.onHighWatermark(finish));
    // Data may have arrived after a partition was read: do not sleep through it.
    if (waitable.some((w) => w.served!.highWatermark() !== w.result.highWatermark)) finish();
  });
  return deadline.race(woken).catch(() => finish());
}

/**
 * Fetch with long polling: answer at once when at least minBytes are available, otherwise wait up to
 * maxWaitMs (capped by the broker's limit, and by the request's deadline) for new data, then answer with
 * whatever is there.
 */
export async function handleFetch(
  ctx: HandlerContext,
  request: FetchRequest,
  source: RequestSource,
): Promise<FetchResponse> {
  const deadline = source.deadline;
  const resolved: Resolved[] = request.partitions.map((p, index) => {
    const empty: FetchPartitionResult = {
      topic: p.topic,
      partition: p.partition,
      error: null,
      highWatermark: -1,
      logStartOffset: -1,
      leaderHint: -1,
      records: Buffer.alloc(0),
    };
    try {
      const source = readSourceOf(ctx, request, p.topic, p.partition);
      const elsewhere = source.follower ? -1 : readElsewhere(ctx, request, p, source.reads);
      if (elsewhere === -1) return { index, served: source.reads, follower: source.follower, result: empty };
      // Kafka's answer: the replica to go to, and no records (the consumer's next fetch goes there).
      const result = {
        ...empty,
        highWatermark: source.reads.highWatermark(),
        logStartOffset: source.reads.logStartOffset(),
        preferredReadReplica: elsewhere,
      };
      return { index, served: null, follower: false, result };
    } catch (err) {
      return {
        index,
        served: null,
        follower: false,
        result: {
          ...empty,
          error: partitionWireError(ctx.observer, err, 'fetch'),
          leaderHint: leaderHintOf(err),
        },
      };
    }
  });
  const waitUntilMs = ctx.clock.nowMs() + Math.min(Math.max(0, request.maxWaitMs), ctx.limits.fetchWaitMaxMs);
  let total = await readOnce(ctx, request, resolved, source.readBuffers);
  const waitable = resolved.filter((r) => r.served !== null && r.result.error === null);
  // As Kafka's: a consumer sent to another replica hears of it at once, not after a long poll here.
  const redirected = resolved.some((r) => (r.result.preferredReadReplica ?? -1) >= 0);
  while (
    !redirected &&
    total < Math.max(1, request.minBytes) &&
    waitable.length > 0 &&
    !ctx.shutdownSignal.aborted &&
    !deadline.expired()
  ) {
    const remainingMs = waitUntilMs - ctx.clock.nowMs();
    if (remainingMs <= 0) break;
    // The signal only now: a fetch answered at once never makes one.
    await waitForData(ctx, waitable, remainingMs, deadline);
    total = await readOnce(ctx, request, resolved, source.readBuffers);
  }
  for (const r of resolved) {
    if (r.result.records.length > 0) {
      const messages = countRecords(r.result.records);
      ctx.observer.onFetched(r.result.topic, messages, r.result.records.length);
      if (r.follower) ctx.observer.onFetchedAsFollower?.(r.result.topic, messages, r.result.records.length);
    }
  }
  return { partitions: resolved.map((r) => r.result) };
}

/**
 * A v1 fetch (it carries a rackId) may be read from an in-sync follower here; a v0 fetch only from the
 * leader, as before fetch from followers.
 */
function readSourceOf(
  ctx: HandlerContext,
  request: FetchRequest,
  topic: string,
  partition: number,
): ReadSource {
  if (request.rackId !== undefined && ctx.catalog.readSource !== undefined)
    return ctx.catalog.readSource(topic, partition);
  return { reads: ctx.catalog.partition(topic, partition), follower: false };
}

/**
 * The leader's choice of another replica for a consumer with a rack, or -1 to read here. Only for an offset
 * the leader holds: one outside [log start, high watermark] is read here, so the consumer hears
 * OFFSET_OUT_OF_RANGE from the leader, which decides it, and never from a follower.
 */
function readElsewhere(
  ctx: HandlerContext,
  request: FetchRequest,
  p: FetchPartition,
  reads: PartitionReads,
): number {
  const rack = request.rackId ?? '';
  if (rack === '' || p.fetchOffset < reads.logStartOffset() || p.fetchOffset > reads.highWatermark())
    return -1;
  return ctx.catalog.preferredReadReplica?.(p.topic, p.partition, rack) ?? -1;
}
