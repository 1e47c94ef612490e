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
 * unknown topic) fails at once.
 */
export async function partitionCountWithin(
  cluster: Pick<Cluster, 'partitionCount'>,
  topic: string,
  partition: number | undefined,
  wait: MetadataWait,
): Promise<number> {
  const startedMs = wait.clock.nowMs();
  for (let attempt = 0; ; attempt++) {
    try {
      return await cluster.partitionCount(topic, partition);
    } catch (err) {
      const e = toStreamBusError(err, 'producer.metadata');
      if (!NO_BROKER_ANSWERED.has(e.code)) throw e;
      const waitMs = backoffMs(attempt, wait.backoff, wait.random);
      const waitedMs = wait.clock.nowMs() - startedMs;
      if (waitedMs + waitMs > wait.withinMs) {
        throw new StreamBusError(e.code, {
          operation: 'producer.send',
          message: `${e.message} (no broker answered for ${waitedMs} ms; delivery timeout ${wait.withinMs} ms)`,
          cause: e,
          metadata: { topic },
        });
      }
      await delay(waitMs, wait.timers);
    }
  }
}
