/**
 * The CI-sized chaos run: one real broker under kill -9, SIGSTOP, a slow lossy proxy and (as root) a full
 * disk, for 60 s of workload, then a final drain and the checker. Requires `npm run build` (the broker CLI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../chaos/checker/format.js';
import { runScenario } from '../../chaos/harness/runner.js';

const SEED = Number(process.env.CHAOS_SEED ?? 6);

describe('chaos: mixed faults against a single real broker', () => {
  it('loses no acknowledged write, keeps every offset consistent and every producer in order', async () => {
    console.log(`chaos mixed seed ${SEED} (replay: CHAOS_SEED=${SEED} or --seed ${SEED})`);
    const resultsDir = mkdtempSync(join(tmpdir(), 'streambus-chaos-ci-'));
    const result = await runScenario({
      scenario: 'mixed',
      durationS: 60,
      seed: SEED,
      resultsDir,
      // One send outstanding per producer: the SDK producer re-queues a retried batch behind newer ones,
      // so with more in flight its retries reorder writes (see docs/reliability.md). Raise once fixed.
      inFlightMax: 1,
      faultMsMin: 3000,
      faultMsMax: 5000,
      quietMsMin: 2000,
      quietMsMax: 3500,
      log: (m) => console.log(m),
    });
    if (result.report !== null) console.log(formatReport(result.report));
    expect(result.error).toBeUndefined();
    const report = result.report!;
    expect(report.counts.acks).toBeGreaterThan(100);
    expect(report.counts.drainReads).toBeGreaterThanOrEqual(report.counts.acks);
    expect(report.counts.faults).toBeGreaterThan(0);
    const ran = new Set(result.plan.map((s) => s.nemesis));
    for (const name of ['kill', 'pause', 'slow']) expect(ran).toContain(name);
    expect(result.skipped.map((s) => s.nemesis)).toContain('partition');
    expect(report.safety).toEqual({
      lostWrites: 0,
      inconsistentOffsets: 0,
      reorders: 0,
      committedOffsetRegressions: 0,
      idempotentDuplicates: 0,
      brokerFaultErrors: 0,
    });
    expect(result.status).toBe('pass');
    // Keep the history of a failing run for inspection; drop a passing one.
    rmSync(resultsDir, { recursive: true, force: true });
  }, 150_000);
});
