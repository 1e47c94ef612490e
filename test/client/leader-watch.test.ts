/**
 * watchLeadership: a produce request left unanswered has its partitions' leadership checked after 1 s and
 * then every 250 ms (a paused leader's successor is elected 1-2 s after the pause, at a time no single check
 * can guess), and `moved` rejects with NOT_LEADER naming the new leader; stop() ends the checks.
 */
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../src/client/cluster.js';
import { LEADER_CHECK_AFTER_MS, LEADER_RECHECK_MS, watchLeadership } from '../../src/client/leader-watch.js';
import { isStreamBusError } from '../../src/errors/index.js';
import { ManualClock } from '../../src/resilience/index.js';

/** The parts of Cluster the watch uses: a refresh counter and a leader that the test moves. */
function fakeCluster(): {
  cluster: Pick<Cluster, 'refreshMetadata' | 'leaderFor'>;
  refreshes: () => number;
  lead: (id: number) => void;
} {
  let refreshes = 0;
  let leader = 1;
  const cluster = {
    refreshMetadata: async () => {
      refreshes++;
      return { brokers: [], topics: [], controllerId: -1, clusterId: 'c' };
    },
    leaderFor: async () => leader,
  };
  return { cluster, refreshes: () => refreshes, lead: (id) => (leader = id) };
}

describe('watchLeadership', () => {
  it('checks after 1 s, then every 250 ms, and rejects once another broker leads', async () => {
    const clock = new ManualClock(0);
    const { cluster, refreshes, lead } = fakeCluster();
    const watch = watchLeadership(cluster, clock, 1, [{ topic: 't', partition: 0 }]);
    let outcome: unknown;
    watch.moved.catch((err: unknown) => {
      outcome = err;
    });
    await clock.advanceAsync(LEADER_CHECK_AFTER_MS - 1);
    expect(refreshes()).toBe(0);
    await clock.advanceAsync(1);
    expect(refreshes()).toBe(1);
    await clock.advanceAsync(3 * LEADER_RECHECK_MS);
    expect(refreshes()).toBe(4);
    expect(outcome).toBeUndefined();
    lead(2); // elected between two checks
    await clock.advanceAsync(LEADER_RECHECK_MS);
    expect(isStreamBusError(outcome) && outcome.code).toBe('NOT_LEADER');
    expect(isStreamBusError(outcome) && outcome.metadata.leaderId).toBe(2);
    expect(clock.pendingCount).toBe(0);
  });

  it('stop() ends the checks', async () => {
    const clock = new ManualClock(0);
    const { cluster, refreshes } = fakeCluster();
    const watch = watchLeadership(cluster, clock, 1, [{ topic: 't', partition: 0 }]);
    watch.moved.catch(() => undefined);
    await clock.advanceAsync(LEADER_CHECK_AFTER_MS + LEADER_RECHECK_MS);
    expect(refreshes()).toBe(2);
    watch.stop();
    await clock.advanceAsync(10 * LEADER_RECHECK_MS);
    expect(refreshes()).toBe(2);
    expect(clock.pendingCount).toBe(0);
  });
});
