import { StreamBusError } from '../errors/index.js';
import type { Clock } from '../resilience/clock.js';

/**
 * One metadata operation's wait for a leader, across its attempts: `check` while none is known fails the
 * whole operation (its signal aborts, so no retry follows) once none has been known for `maxMs`
 * (resilience.timeouts.leader_election).
 */
export interface LeaderWait {
  /** Aborts when the caller's signal does, or when the leader wait runs out. */
  readonly signal: AbortSignal;
  /** A leader is known: the leaderless time starts over. */
  seen(): void;
  /** No leader is known: throws LEADER_NOT_AVAILABLE once none has been for `maxMs`. */
  check(): void;
  dispose(): void;
}

export function startLeaderWait(
  operation: string,
  parent: AbortSignal | undefined,
  o: {
    readonly clock: Clock;
    readonly maxMs: number;
    /** Counts and logs the timeout (metadata.leader_election). */
    readonly onTimeout?: (operation: string, timeoutMs: number) => void;
  },
): LeaderWait {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted === true) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  let leaderlessSinceMs: number | undefined;
  return {
    signal: controller.signal,
    seen: () => {
      leaderlessSinceMs = undefined;
    },
    check: () => {
      const now = o.clock.nowMs();
      leaderlessSinceMs ??= now;
      if (now - leaderlessSinceMs < o.maxMs) return;
      o.onTimeout?.('metadata.leader_election', o.maxMs);
      const err = new StreamBusError('LEADER_NOT_AVAILABLE', {
        operation,
        message: `no metadata leader known for ${now - leaderlessSinceMs} ms (resilience.timeouts.leader_election)`,
        metadata: { timeoutMs: o.maxMs },
      });
      controller.abort(err);
      throw err;
    },
    dispose: () => parent?.removeEventListener('abort', onParentAbort),
  };
}
