/** The harness records its own event-loop stalls in the history (a stall there stops every ack at once). */
import { describe, expect, it } from 'vitest';
import { runClock } from '../../chaos/harness/clock.js';
import type { HistoryEvent } from '../../chaos/harness/history.js';
import { monitorStalls, STALL_THRESHOLD_MS } from '../../chaos/harness/stall-monitor.js';

describe('monitorStalls', () => {
  it('records a blocked event loop as a harness-stall from when it began, for about how long', async () => {
    const events: HistoryEvent[] = [];
    const clock = runClock();
    const stop = monitorStalls({ append: (e) => events.push(e) }, clock);
    await new Promise((r) => setTimeout(r, 120));
    const blockedAt = clock.nowMs();
    while (clock.nowMs() - blockedAt < 2 * STALL_THRESHOLD_MS) {
      // Synchronous work: no timer can fire.
    }
    await new Promise((r) => setTimeout(r, 120));
    stop();
    const stalls = events.filter((e) => e.type === 'harness-stall');
    expect(stalls.length).toBeGreaterThanOrEqual(1);
    const longest = stalls.reduce((a, b) => (a.ms >= b.ms ? a : b));
    expect(longest.ms).toBeGreaterThanOrEqual(STALL_THRESHOLD_MS);
    expect(longest.t).toBeLessThanOrEqual(blockedAt + 60);
    // Stopped: nothing more is recorded.
    const count = events.length;
    await new Promise((r) => setTimeout(r, 120));
    expect(events.length).toBe(count);
  });
});
