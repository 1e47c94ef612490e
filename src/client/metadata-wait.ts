/**
 * A producer's wait for a topic's partition count while no broker answers (every one down, restarting, or
 * cut off): Kafka's producer blocks send() on metadata for up to max.block.ms; this one waits up to the
 * send's delivery timeout, so a cluster restart is a pause for send() as it is for the batches already
 * queued, not a failure of the sends made meanwhile.
 */
import { StreamBusError, toStreamBusError } from '../errors/index.js';
import { type BackoffPolicy, backoffMs, delay } from './backoff.js';
import type { Cluster } from './cluster.js';
import type { Clock, Random, Timers } from './timers.js';
import { untilAborted } from './until-aborted.js';

/** What a failed Metadata request says when no broker could be asked at all. */
const NO_BROKER_ANSWERED: ReadonlySet<string> = new Set([
  'NETWORK_ERROR',
  'CONNECTION_CLOSED',
  'REQUEST_TIMED_OUT',
  'BROKER_NOT_AVAILABLE',
]);

export interface MetadataWait {
  readonly withinMs: number;
  readonly backoff: BackoffPolicy;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
}

/**
 * `cluster.partitionCount(topic, partition)`, asked again with backoff while no broker answers, until
 * `withinMs` from now; then it fails with the last error, saying how long it waited. Any other error (an
 * unknown topic) fails at once. An attempt still under way at that time is left behind (it is a metadata
 * refresh other sends may share): inside one, a broker's reconnect backoff alone may be 10 s
 * (reconnectBackoffMaxMs), and a QA run saw a 5 s delivery timeout fail a send after 10.5 s.
 */
export async function partitionCountWithin(
  cluster: Pick<Cluster, 'partitionCount'>,
  topic: string,
  partition: number | undefined,
  wait: MetadataWait,
): Promise<number> {
  const startedMs = wait.clock.nowMs();
  const outOfTime = (e: StreamBusError): StreamBusError =>
    new StreamBusError(e.code, {
      operation: 'producer.send',
      message: `${e.message} (no broker answered for ${wait.clock.nowMs() - startedMs} ms; delivery timeout ${wait.withinMs} ms)`,
      cause: e,
      metadata: { topic },
    });
  let last: StreamBusError | null = null;
  for (let attempt = 0; ; attempt++) {
    const leftMs = wait.withinMs - (wait.clock.nowMs() - startedMs);
    let count: number | null;
    try {
      count = await settledWithin(cluster.partitionCount(topic, partition), leftMs, wait.timers);
    } catch (err) {
      const e = toStreamBusError(err, 'producer.metadata');
      if (!NO_BROKER_ANSWERED.has(e.code)) throw e;
      last = e;
      const waitMs = backoffMs(attempt, wait.backoff, wait.random);
      if (wait.clock.nowMs() - startedMs + waitMs > wait.withinMs) throw outOfTime(e);
      await delay(waitMs, wait.timers);
      continue;
    }
    if (count !== null) return count;
    throw outOfTime(
      last ?? new StreamBusError('REQUEST_TIMED_OUT', { message: `no metadata for topic ${topic}` }),
    );
  }
}

/** The promise's value, or null once `ms` have passed without it (the promise itself goes on). */
async function settledWithin<T>(promise: Promise<T>, ms: number, timers: Timers): Promise<T | null> {
  const expired = new AbortController();
  const timer = timers.setTimeout(() => expired.abort(), Math.max(0, ms));
  try {
    return await untilAborted(promise, expired.signal);
  } finally {
    timers.clearTimeout(timer);
  }
}
