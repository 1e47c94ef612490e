import { StreamBusError } from '../errors/index.js';
import type { Cluster } from './cluster.js';
import type { TimerHandle, Timers } from './timers.js';

/** A produce request unanswered this long has its partitions' leadership checked (then at this interval). */
export const LEADER_CHECK_AFTER_MS = 1_000;

/**
 * Watches the leadership of the partitions of a produce request that has not been answered: after
 * `LEADER_CHECK_AFTER_MS`, and as often again until `stop()`, it refreshes metadata (from a broker that
 * answers: requestAny) and rejects `moved` with NOT_LEADER once another broker leads one of them. A leader
 * that stopped answering without closing its connection (paused, cut off) would otherwise hold the request
 * for the whole `ackTimeoutMs` (30 s by default) after its successor took over. A request that is merely
 * slow costs one metadata refresh a second. Only for idempotent batches: their retry cannot be written twice.
 */
export function watchLeadership(
  cluster: Cluster,
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
      timer = timers.setTimeout(() => void check(), LEADER_CHECK_AFTER_MS);
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
