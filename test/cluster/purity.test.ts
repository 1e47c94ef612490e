import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLUSTER_DIR = join(import.meta.dirname, '../../src/cluster');

/** The control plane's decision logic must not touch clocks, timers, ambient randomness, I/O or promises. */
const FORBIDDEN: readonly [RegExp, string][] = [
  [/\bMath\.random\b/, 'Math.random'],
  [/\bDate\b/, 'Date'],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/, 'timers'],
  [/\bprocess\.hrtime\b|\bperformance\b/, 'clock'],
  [/from ['"](node:)?(fs|fs\/promises|net|timers|crypto|child_process)['"]/, 'I/O import'],
  [/\bawait\b|\basync\b/, 'async'],
];

const stripComments = (src: string): string => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

describe('src/cluster is pure decision logic', () => {
  const files = readdirSync(CLUSTER_DIR).filter((f) => f.endsWith('.ts'));

  it('has the expected modules', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'placement.ts',
        'rebalancer.ts',
        'failure-detector.ts',
        'coordinator-logic.ts',
      ]),
    );
  });

  for (const file of files) {
    it(`${file} uses no clock, timer, ambient randomness, I/O or async`, () => {
      const src = stripComments(readFileSync(join(CLUSTER_DIR, file), 'utf8'));
      expect(FORBIDDEN.filter(([re]) => re.test(src)).map(([, what]) => what)).toEqual([]);
    });
  }

  it('the scanner catches a forbidden call', () => {
    expect(FORBIDDEN.some(([re]) => re.test(stripComments('const t = Date.now();')))).toBe(true);
  });
});
