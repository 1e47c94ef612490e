import { describe, expect, it } from 'vitest';
import {
  type BrokerLiveness,
  DEFAULT_FAILURE_DETECTOR_CONFIG as CONFIG,
  detect,
  isStuck,
  recordProbe,
} from '../../src/cluster/failure-detector.js';

function live(over: Partial<BrokerLiveness> = {}): BrokerLiveness {
  return {
    id: 1,
    state: 'alive',
    stateSinceMs: 0,
    lastHeartbeatMs: 0,
    ready: true,
    probeFailures: 0,
    ...over,
  };
}

describe('failure detector', () => {
  it('an alive broker is failed only once silent for longer than the heartbeat timeout (3000 ms)', () => {
    const b = live({ lastHeartbeatMs: 10_000 });
    expect(detect([b], 13_000, CONFIG).failed).toEqual([]);
    expect(detect([b], 13_001, CONFIG).failed).toEqual([{ brokerId: 1, cause: 'heartbeat-timeout' }]);
  });

  it('a draining broker that goes silent is failed too', () => {
    const b = live({ state: 'draining', lastHeartbeatMs: 0 });
    expect(detect([b], 5000, CONFIG).failed).toEqual([{ brokerId: 1, cause: 'heartbeat-timeout' }]);
  });

  it('a failed broker rejoins when a heartbeat newer than the failure arrives', () => {
    const b = live({ state: 'failed', stateSinceMs: 5000, lastHeartbeatMs: 4000 });
    expect(detect([b], 6000, CONFIG).alive).toEqual([]);
    expect(detect([{ ...b, lastHeartbeatMs: 7000 }], 7100, CONFIG).alive).toEqual([
      { brokerId: 1, cause: 'rejoined' },
    ]);
  });

  it('a heartbeat older than the failure does not bring the broker back', () => {
    const b = live({ state: 'failed', stateSinceMs: 5000, lastHeartbeatMs: 4999 });
    expect(detect([b], 5001, CONFIG).alive).toEqual([]);
  });

  it('a starting broker gets the starting grace before it is failed', () => {
    const b = live({ state: 'starting', stateSinceMs: 1000, lastHeartbeatMs: 1000 });
    const limit = 1000 + CONFIG.heartbeatTimeoutMs + CONFIG.startingGraceMs;
    expect(detect([b], limit, CONFIG).failed).toEqual([]);
    expect(detect([b], limit + 1, CONFIG).failed).toEqual([{ brokerId: 1, cause: 'start-timeout' }]);
  });

  it('a starting broker becomes alive on a ready heartbeat after registration, not on a not-ready one', () => {
    const b = live({ state: 'starting', stateSinceMs: 1000, lastHeartbeatMs: 1500, ready: false });
    expect(detect([b], 1600, CONFIG).alive).toEqual([]);
    expect(detect([{ ...b, ready: true }], 1600, CONFIG).alive).toEqual([{ brokerId: 1, cause: 'ready' }]);
  });

  it('a broker whose heartbeats arrive but whose probes time out 3 times in a row is stuck and failed', () => {
    let failures = {};
    for (let i = 0; i < 2; i++) failures = recordProbe(failures, 1, false);
    const b = (n: number) => live({ lastHeartbeatMs: 10_000, probeFailures: n });
    expect(isStuck(b(2), 10_100, CONFIG)).toBe(false);
    expect(detect([b(2)], 10_100, CONFIG).failed).toEqual([]);
    failures = recordProbe(failures, 1, false);
    const count = (failures as Record<number, number>)[1] ?? 0;
    expect(count).toBe(3);
    expect(detect([b(count)], 10_100, CONFIG).failed).toEqual([{ brokerId: 1, cause: 'probe-timeout' }]);
  });

  it('one successful probe resets the consecutive failure count', () => {
    let failures = recordProbe(recordProbe({}, 1, false), 1, false);
    failures = recordProbe(failures, 1, true);
    expect(failures[1]).toBe(0);
    expect(recordProbe(failures, 1, false)[1]).toBe(1);
  });

  it('a stuck failed broker does not rejoin on heartbeats alone, only after a probe succeeds', () => {
    const b = live({ state: 'failed', stateSinceMs: 5000, lastHeartbeatMs: 6000, probeFailures: 3 });
    expect(detect([b], 6100, CONFIG).alive).toEqual([]);
    expect(detect([{ ...b, probeFailures: 0 }], 6100, CONFIG).alive).toEqual([
      { brokerId: 1, cause: 'rejoined' },
    ]);
  });

  it('decommissioned brokers never change liveness', () => {
    const b = live({ state: 'decommissioned', lastHeartbeatMs: 0 });
    expect(detect([b], 100_000, CONFIG)).toEqual({ failed: [], alive: [] });
  });
});
