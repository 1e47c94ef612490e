/** The `metadata_catch_up` readiness rule (catch-up-check.ts). */
import { describe, expect, it } from 'vitest';
import {
  CATCH_UP_START,
  type CatchUp,
  type CatchUpFacts,
  judgeCatchUp,
  nextCatchUp,
} from '../../src/observability/catch-up-check.js';

const follower = (appliedIndex: number, leaderCommitIndex: number): CatchUpFacts => ({
  role: 'follower',
  appliedIndex,
  leaderCommitIndex,
});

function run(steps: readonly CatchUpFacts[]): CatchUp {
  let c = CATCH_UP_START;
  for (const f of steps) c = nextCatchUp(c, f);
  return c;
}

describe('metadata catch-up readiness', () => {
  it('is not ready before any leader told this broker its commit index', () => {
    const c = run([follower(3, 0)]);
    expect(c.caughtUp).toBe(false);
    expect(judgeCatchUp(c, 3)).toEqual({ status: 'unhealthy', message: 'waiting for the metadata leader' });
  });

  it('a broker back on an empty disk is not ready until it applied the commit index first heard', () => {
    const c = run([follower(3, 2186), follower(900, 2200)]);
    // The target stays the first one heard: later commits do not keep moving it away.
    expect(c).toEqual({ caughtUp: false, targetIndex: 2186 });
    expect(judgeCatchUp(c, 900).message).toBe('catching up with the metadata leader: applied 900 of 2186');
    expect(judgeCatchUp(c, 900).status).toBe('unhealthy');
    expect(run([follower(3, 2186), follower(2186, 2300)]).caughtUp).toBe(true);
  });

  it('once caught up it stays so, even if it lags later (no flapping out of readiness under load)', () => {
    const c = run([follower(50, 50), follower(10, 5000)]);
    expect(c.caughtUp).toBe(true);
    expect(judgeCatchUp(c, 10).status).toBe('healthy');
  });

  it('a leader has nothing to catch up with', () => {
    expect(run([{ role: 'leader', appliedIndex: 0, leaderCommitIndex: 10 }]).caughtUp).toBe(true);
  });
});
