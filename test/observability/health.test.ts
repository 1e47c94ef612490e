import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CheckResult,
  diskSpaceCheck,
  eventLoopLagCheck,
  type HealthChangeEvent,
  HealthRegistry,
} from '../../src/observability/index.js';
import { ManualClock } from '../../src/resilience/manual-clock.js';
import { scratchDir } from '../helpers/scratch-dir.js';

function setup(): { clock: ManualClock; health: HealthRegistry } {
  const clock = new ManualClock(1_700_000_000_000);
  const health = new HealthRegistry({ clock, timers: clock, intervalMs: 1000, timeoutMs: 200 });
  return { clock, health };
}

const healthy = async (): Promise<CheckResult> => ({ status: 'healthy' });
const never = (): Promise<CheckResult> => new Promise<CheckResult>(() => {});

describe('HealthRegistry', () => {
  it('is not ready before the first check result, and ready once critical checks pass', async () => {
    const { clock, health } = setup();
    health.register({ name: 'storage', check: healthy });
    expect(health.readiness()).toEqual({ ready: false, reason: 'storage: not checked yet' });
    health.start();
    await clock.advanceAsync(0);
    expect(health.readiness()).toEqual({ ready: true });
    expect(health.report().components[0]).toMatchObject({
      name: 'storage',
      status: 'healthy',
      message: 'ok',
      last_check: new Date(1_700_000_000_000).toISOString(),
      duration_ms: 0,
    });
    health.stop();
  });

  it('reports a hanging check as unhealthy after its timeout without blocking the others', async () => {
    const { clock, health } = setup();
    let aborted = false;
    health.register({
      name: 'raft',
      timeoutMs: 300,
      check: (signal) => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        return never();
      },
    });
    health.register({ name: 'storage', check: healthy });
    health.start();
    await clock.advanceAsync(0);
    expect(health.component('storage')?.status).toBe('healthy');
    expect(health.component('raft')?.message).toBe('not checked yet');
    await clock.advanceAsync(300);
    expect(health.component('raft')).toMatchObject({ status: 'unhealthy', message: 'timed out after 300ms' });
    expect(health.component('raft')?.duration_ms).toBe(300);
    expect(aborted).toBe(true);
    expect(health.readiness().ready).toBe(false);
    // Still hanging at the next interval: reported, and no second copy is started.
    await clock.advanceAsync(1000);
    expect(health.component('raft')?.message).toMatch(/still not returned after 1300ms/);
    health.stop();
  });

  it('runs each check on its own interval and picks up recovery', async () => {
    const { clock, health } = setup();
    let calls = 0;
    let status: CheckResult['status'] = 'unhealthy';
    health.register({
      name: 'storage',
      intervalMs: 500,
      check: async () => {
        calls++;
        return { status, message: status };
      },
    });
    health.start();
    await clock.advanceAsync(0);
    expect(calls).toBe(1);
    expect(health.readiness().ready).toBe(false);
    status = 'healthy';
    await clock.advanceAsync(499);
    expect(calls).toBe(1);
    await clock.advanceAsync(1);
    expect(calls).toBe(2);
    expect(health.readiness().ready).toBe(true);
    health.stop();
    await clock.advanceAsync(5000);
    expect(calls).toBe(2);
    expect(clock.pendingCount).toBe(0);
  });

  it('treats a throwing check as unhealthy with its message', async () => {
    const { clock, health } = setup();
    health.register({
      name: 'metadata',
      check: async () => {
        throw new Error('cannot propose');
      },
    });
    health.start();
    await clock.advanceAsync(0);
    expect(health.component('metadata')).toMatchObject({ status: 'unhealthy', message: 'cannot propose' });
    health.stop();
  });

  it('ignores non-critical checks for readiness but shows them as degraded overall', async () => {
    const { clock, health } = setup();
    health.register({ name: 'storage', check: healthy });
    health.register({ name: 'replicas', critical: false, check: async () => ({ status: 'unhealthy' }) });
    await health.refresh();
    expect(health.readiness().ready).toBe(true);
    expect(health.report().status).toBe('degraded');
    void clock;
  });

  it('counts degraded critical checks as ready and the overall status as degraded', async () => {
    const { health } = setup();
    health.register({ name: 'storage', check: async () => ({ status: 'degraded', message: 'disk 80%' }) });
    await health.refresh();
    expect(health.readiness().ready).toBe(true);
    expect(health.report().status).toBe('degraded');
  });

  it('is not ready while draining, and not live after a fatal error', async () => {
    const { health } = setup();
    health.register({ name: 'storage', check: healthy });
    await health.refresh();
    health.setDraining(true);
    expect(health.readiness()).toEqual({ ready: false, reason: 'draining' });
    expect(health.report()).toMatchObject({ status: 'healthy', ready: false, draining: true });
    health.setDraining(false);
    expect(health.readiness().ready).toBe(true);
    expect(health.liveness()).toEqual({ live: true });
    health.setFatal('commit index went backwards');
    expect(health.liveness()).toEqual({ live: false, reason: 'commit index went backwards' });
    expect(health.report().status).toBe('unhealthy');
  });

  it('a retired broker (decommissioned, left the cluster) is not ready, yet live and healthy', async () => {
    // Not ready keeps clients away from a broker with nothing to serve; live, so nothing restarts it (a
    // restart would register it anew); healthy, so nothing pages.
    const { health } = setup();
    health.register({ name: 'storage', check: healthy });
    await health.refresh();
    health.setRetired('decommissioned: left the cluster; stop this broker');
    expect(health.readiness()).toEqual({
      ready: false,
      reason: 'decommissioned: left the cluster; stop this broker',
    });
    expect(health.liveness()).toEqual({ live: true });
    expect(health.report()).toMatchObject({ status: 'healthy', ready: false, live: true, draining: false });
  });

  it('notifies listeners only when a status changes', async () => {
    const { health } = setup();
    let status: CheckResult['status'] = 'healthy';
    health.register({ name: 'storage', check: async () => ({ status }) });
    const events: HealthChangeEvent[] = [];
    health.subscribe((e) => events.push(e));
    await health.refresh();
    await health.refresh();
    status = 'unhealthy';
    await health.refresh();
    expect(events.map((e) => [e.previous, e.current.status])).toEqual([
      [undefined, 'healthy'],
      ['healthy', 'unhealthy'],
    ]);
  });

  it('refuses duplicate names and forgets unregistered checks', async () => {
    const { health } = setup();
    health.register({ name: 'storage', check: healthy });
    expect(() => health.register({ name: 'storage', check: healthy })).toThrow(/twice/);
    health.unregister('storage');
    expect(health.component('storage')).toBeUndefined();
    expect(health.readiness().ready).toBe(true);
  });
});

describe('built-in checks', () => {
  it('diskSpaceCheck is healthy with a low threshold and unhealthy with an impossible one', async () => {
    const dir = scratchDir('streambus-health-');
    const signal = new AbortController().signal;
    let seen = -1;
    const ok = await diskSpaceCheck(dir, 1, { onFreeBytes: (b) => (seen = b) }).check(signal);
    expect(ok.status).toBe('healthy');
    expect(seen).toBeGreaterThan(0);
    const full = await diskSpaceCheck(dir, Number.MAX_SAFE_INTEGER).check(signal);
    expect(full.status).toBe('unhealthy');
    expect(full.message).toMatch(/below/);
    // A data dir storage has not created yet is on its parent's filesystem (no ENOENT "unhealthy" at start).
    const notYet = await diskSpaceCheck(join(dir, 'not', 'yet'), 1).check(signal);
    expect(notYet.status).toBe('healthy');
    expect((notYet.details as { free_bytes: number }).free_bytes).toBeGreaterThan(0);
    // One that can never be made (under a file) still fails the check.
    writeFileSync(join(dir, 'file'), '');
    await expect(diskSpaceCheck(join(dir, 'file', 'data'), 1).check(signal)).rejects.toThrow(/ENOTDIR/);
  });

  it('eventLoopLagCheck reports healthy on an idle loop', async () => {
    const check = eventLoopLagCheck({ degradedMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    const result = await check.check(new AbortController().signal);
    check.close();
    expect(result.status).toBe('healthy');
    expect(result.details).toHaveProperty('p99_ms');
  });
});
