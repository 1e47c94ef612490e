import type { BrokerId, BrokerState } from './types.js';

export interface FailureDetectorConfig {
  /** How often each broker heartbeats (each heartbeat is a metadata write). */
  readonly heartbeatIntervalMs: number;
  /** A broker silent for longer than this is failed (issue 4: 3 s, against a 500 ms heartbeat). */
  readonly heartbeatTimeoutMs: number;
  /** Extra time a registered broker in 'starting' gets before its first heartbeat must arrive. */
  readonly startingGraceMs: number;
  /** Consecutive failed probes, while heartbeats still arrive, that make a broker 'stuck'. */
  readonly probeFailuresMax: number;
}

export const DEFAULT_FAILURE_DETECTOR_CONFIG: FailureDetectorConfig = {
  heartbeatIntervalMs: 500,
  heartbeatTimeoutMs: 3000,
  startingGraceMs: 10_000,
  probeFailuresMax: 3,
};

/** What the detector needs to know about one broker; the coordinator keeps heartbeats and probe counts. */
export interface BrokerLiveness {
  readonly id: BrokerId;
  readonly state: BrokerState;
  /** When the broker entered `state` (for 'failed': when it was marked failed). */
  readonly stateSinceMs: number;
  /** Newest heartbeat received; a broker that never sent one passes its registration time. */
  readonly lastHeartbeatMs: number;
  /** Whether the newest heartbeat said the broker is ready to serve (has opened its partitions). */
  readonly ready: boolean;
  readonly probeFailures: number;
}

export type FailureCause = 'heartbeat-timeout' | 'start-timeout' | 'probe-timeout';
export type AliveCause = 'ready' | 'rejoined';

export interface Detection {
  readonly failed: readonly { readonly brokerId: BrokerId; readonly cause: FailureCause }[];
  readonly alive: readonly { readonly brokerId: BrokerId; readonly cause: AliveCause }[];
}

export function heartbeatFresh(b: BrokerLiveness, nowMs: number, config: FailureDetectorConfig): boolean {
  return nowMs - b.lastHeartbeatMs <= config.heartbeatTimeoutMs;
}

/** Heartbeats arrive (the process runs) but N probes in a row timed out: it is alive yet not serving. */
export function isStuck(b: BrokerLiveness, nowMs: number, config: FailureDetectorConfig): boolean {
  return heartbeatFresh(b, nowMs, config) && b.probeFailures >= config.probeFailuresMax;
}

/**
 * Which brokers change liveness at `nowMs`:
 * - alive or draining: failed when silent past the heartbeat timeout, or stuck (probes keep failing);
 * - starting: failed when silent past timeout + starting grace (counted from registration or the newest
 *   heartbeat); alive once a heartbeat after registration says it is ready and it is not stuck;
 * - failed: rejoins (alive) when a heartbeat newer than the failure is fresh and it is not stuck, so a
 *   broker failed for being stuck stays failed until a probe succeeds again;
 * - decommissioned: never changes here.
 */
export function detect(
  brokers: readonly BrokerLiveness[],
  nowMs: number,
  config: FailureDetectorConfig,
): Detection {
  const failed: { brokerId: BrokerId; cause: FailureCause }[] = [];
  const alive: { brokerId: BrokerId; cause: AliveCause }[] = [];
  for (const b of brokers) {
    const fresh = heartbeatFresh(b, nowMs, config);
    const stuck = isStuck(b, nowMs, config);
    switch (b.state) {
      case 'alive':
      case 'draining':
        if (!fresh) failed.push({ brokerId: b.id, cause: 'heartbeat-timeout' });
        else if (stuck) failed.push({ brokerId: b.id, cause: 'probe-timeout' });
        break;
      case 'starting': {
        const heardSinceStart = b.lastHeartbeatMs > b.stateSinceMs;
        const silentSinceMs = Math.max(b.lastHeartbeatMs, b.stateSinceMs);
        if (nowMs - silentSinceMs > config.heartbeatTimeoutMs + config.startingGraceMs) {
          failed.push({ brokerId: b.id, cause: 'start-timeout' });
        } else if (stuck) {
          failed.push({ brokerId: b.id, cause: 'probe-timeout' });
        } else if (heardSinceStart && fresh && b.ready) {
          alive.push({ brokerId: b.id, cause: 'ready' });
        }
        break;
      }
      case 'failed':
        if (fresh && b.lastHeartbeatMs > b.stateSinceMs && !stuck && b.ready) {
          alive.push({ brokerId: b.id, cause: 'rejoined' });
        }
        break;
      case 'decommissioned':
        break;
    }
  }
  return { failed, alive };
}

/** Consecutive probe failures per broker. A success resets the count; the map is never mutated. */
export type ProbeFailures = Readonly<Record<number, number>>;

export function recordProbe(failures: ProbeFailures, brokerId: BrokerId, ok: boolean): ProbeFailures {
  const next = ok ? 0 : (failures[brokerId] ?? 0) + 1;
  if ((failures[brokerId] ?? 0) === next) return failures;
  return { ...failures, [brokerId]: next };
}
