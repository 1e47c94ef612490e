import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE_DIR = join(import.meta.dirname, '../../src/raft/core');

/** What the core must never touch: clocks, timers, ambient randomness, the file system or the network. */
const FORBIDDEN: readonly [RegExp, string][] = [
  [/\bMath\.random\b/, 'Math.random'],
  [/\bDate\b/, 'Date'],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/, 'timers'],
  [/\bprocess\.hrtime\b|\bperformance\b/, 'clock'],
  [/\brequire\(/, 'require('],
  [/from ['"](node:)?(fs|fs\/promises|net|timers|crypto|child_process)['"]/, 'I/O import'],
  [/\bawait\b|\basync\b/, 'async'],
];

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

describe('the Raft core is pure', () => {
  const files = readdirSync(CORE_DIR).filter((f) => f.endsWith('.ts'));

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  for (const file of files) {
    it(`${file} uses no clock, timer, ambient randomness or I/O`, () => {
      const src = stripComments(readFileSync(join(CORE_DIR, file), 'utf8'));
      const found = FORBIDDEN.filter(([re]) => re.test(src)).map(([, what]) => what);
      expect(found).toEqual([]);
    });
  }

  it('the scanner itself catches a forbidden call', () => {
    const bad = stripComments('const x = Math.random(); // fine in a comment: Date');
    expect(FORBIDDEN.some(([re]) => re.test(bad))).toBe(true);
  });
});
