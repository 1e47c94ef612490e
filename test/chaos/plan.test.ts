import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionRules, rulesScript } from '../../chaos/nemesis/nft.js';
import { generatePlan, targetLeaders } from '../../chaos/nemesis/plan.js';

const NEMESES = ['kill', 'pause', 'slow', 'disk-full'];

describe('seeded fault plan', () => {
  it('gives the same plan for the same seed, and a different one for another seed', () => {
    const a = generatePlan({ seed: 42, durationMs: 120_000, nemeses: NEMESES, nodes: 3 });
    const b = generatePlan({ seed: 42, durationMs: 120_000, nemeses: NEMESES, nodes: 3 });
    const c = generatePlan({ seed: 43, durationMs: 120_000, nemeses: NEMESES, nodes: 3 });
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('aims some steps of a cluster plan at partition leaders, replayably, leaving the base plan as drawn', () => {
    const base = generatePlan({ seed: 7, durationMs: 300_000, nemeses: NEMESES, nodes: 3 });
    const aimed = targetLeaders(base, { seed: 7, partitions: 4 });
    expect(targetLeaders(base, { seed: 7, partitions: 4 })).toEqual(aimed);
    expect(generatePlan({ seed: 7, durationMs: 300_000, nemeses: NEMESES, nodes: 3 })).toEqual(base);
    expect(aimed.map(({ leaderOf: _, ...rest }) => rest)).toEqual(base);
    const leaderSteps = aimed.filter((s) => s.leaderOf !== undefined);
    expect(leaderSteps.length).toBeGreaterThan(0);
    expect(leaderSteps.length).toBeLessThan(aimed.length);
    for (const s of leaderSteps) expect(s.leaderOf).toBeLessThan(4);
  });

  it('never overlaps faults and heals before the end of the run', () => {
    const seed = Date.now() % 1_000_000;
    console.log(`plan property seed ${seed}`);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 600_000 }),
        (s, durationMs) => {
          const plan = generatePlan({ seed: s, durationMs, nemeses: NEMESES, nodes: 3, tailMs: 3000 });
          let end = 0;
          for (const step of plan) {
            expect(step.atMs).toBeGreaterThanOrEqual(end);
            expect(NEMESES).toContain(step.nemesis);
            expect(step.target).toBeGreaterThanOrEqual(0);
            expect(step.target).toBeLessThan(3);
            end = step.atMs + step.durationMs;
          }
          expect(end + 3000).toBeLessThanOrEqual(Math.max(durationMs, 3000));
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});

describe('partition rules', () => {
  const hosts = ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4', '127.0.1.5'];

  it('isolates the target from every other node in both directions', () => {
    expect(partitionRules('isolate', hosts.slice(0, 3), 1)).toEqual([
      { from: ['127.0.1.2'], to: ['127.0.1.3', '127.0.1.1'] },
      { from: ['127.0.1.3', '127.0.1.1'], to: ['127.0.1.2'] },
    ]);
  });

  it('splits into a minority holding the target and a majority', () => {
    const [a, b] = partitionRules('majority-minority', hosts, 4);
    expect(a?.from).toEqual(['127.0.1.5', '127.0.1.1']);
    expect(a?.to).toEqual(['127.0.1.2', '127.0.1.3', '127.0.1.4']);
    expect(b).toEqual({ from: a?.to, to: a?.from });
  });

  it('drops one direction only for one-way partitions', () => {
    expect(partitionRules('one-way', hosts.slice(0, 3), 0)).toEqual([
      { from: ['127.0.1.1'], to: ['127.0.1.2', '127.0.1.3'] },
    ]);
  });

  it('writes an nft script dropping on the input hook of a dedicated table', () => {
    const script = rulesScript('streambus_chaos_1', [
      { from: ['127.0.1.1'], to: ['127.0.1.2', '127.0.1.3'] },
    ]);
    expect(script).toContain('table inet streambus_chaos_1 {');
    expect(script).toContain('type filter hook input priority -10; policy accept;');
    expect(script).toContain('ip saddr 127.0.1.1 ip daddr { 127.0.1.2, 127.0.1.3 } drop');
  });
});
