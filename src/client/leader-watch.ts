import { StreamBusError } from '../errors/index.js';
import type { Cluster } from './cluster.js';
import type { TimerHandle, Timers } from './timers.js';

/** A produce request unanswered this long has its partitions' leadership checked... */
export const LEADER_CHECK_AFTER_MS = 1_000;
/** ...and then again at this interval until it is answered. */
export const LEADER_RECHECK_MS = 250;

/**
 * Watches the leadership of the partitions of a produce request that has not been answered: after
 * `LEADER_CHECK_AFTER_MS`, then every `LEADER_RECHECK_MS` until `stop()`, it refreshes metadata (from a
 * broker that answers: requestAny; concurrent refreshes share one request) and rejects `moved` with
 * NOT_LEADER once another broker leads one of them. A leader that stopped answering without closing its
 * connection (paused, cut off) would otherwise hold the request for the whole `ackTimeoutMs` (30 s by
 * default) after its successor took over. Its followers elect 1-2 s after its silence began, and a
 * replica answers Metadata with the new leader as soon as it is elected (broker/replica/live-leader.ts),
 * so the first check (1 s) usually comes too early and the rechecks catch the election within 250 ms. A
 * request that is merely slow costs a few metadata refreshes a second. Only for idempotent batches: their
 * retry cannot be written twice.
 */
export function watchLeadership(
  cluster: Pick<Cluster, 'refreshMetadata' | 'leaderFor'>,
  timers: Timers,
  leaderId: number,
  partitions: readonly { readonly topic: string; readonly partition: number }[],
): { readonly moved: Promise<never>; stop(): void } {
  let stopped = false;
  let timer: TimerHandle | undefined;
  const moved = new Promise<never>((_, reject) => {
    const check = async (): Promise<void> => {
      timer = undefined;
      try {
        await cluster.refreshMetadata();
      } catch {
        // No broker answered: look again next time.
      }
      if (stopped) return;
      for (const { topic, partition } of partitions) {
        const now = await cluster.leaderFor(topic, partition).catch(() => leaderId);
        if (stopped) return;
        if (now !== leaderId) {
          reject(
            new StreamBusError('NOT_LEADER', {
              operation: 'producer.send',
              message: `${topic}/${partition} is led by broker ${now} now; broker ${leaderId} has not answered`,
              metadata: { topic, partition, leaderId: now },
            }),
          );
          return;
        }
      }
      timer = timers.setTimeout(() => void check(), LEADER_RECHECK_MS);
    };
    timer = timers.setTimeout(() => void check(), LEADER_CHECK_AFTER_MS);
  });
  return {
    moved,
    stop: () => {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
    },
  };
}
