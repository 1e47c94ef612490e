/**
 * Numeric options of produce, consume and bench go through one parser (cmd/commands/common.ts): a negative
 * or non-integer value is refused, naming the option, before anything connects.
 */
import { describe, expect, it, test } from 'vitest';
import { parseIntOption } from '../../cmd/commands/common.js';
import { runCli } from '../helpers/run-cli.js';

/** Nothing listens there: a command that got past its options would fail with NETWORK_ERROR instead. */
const NOWHERE = ['--bootstrap', '127.0.0.1:1'];

describe('parseIntOption', () => {
  it('takes integers at or above the minimum', () => {
    expect(parseIntOption('--n', 0)('0')).toBe(0);
    expect(parseIntOption('--n', 0)('25')).toBe(25);
    expect(parseIntOption('--n')('-3')).toBe(-3);
  });

  it('refuses values below the minimum, fractions, words and empty strings', () => {
    expect(() => parseIntOption('--n', 0)('-1')).toThrow('--n must be at least 0, got -1');
    expect(() => parseIntOption('--n', 0)('1.5')).toThrow("--n must be an integer, got '1.5'");
    expect(() => parseIntOption('--n', 0)('five')).toThrow("--n must be an integer, got 'five'");
    expect(() => parseIntOption('--n', 0)(' ')).toThrow("--n must be an integer, got ' '");
  });
});

test('produce refuses a negative or non-integer --linger-ms or --partition before sending', async () => {
  for (const [option, value, expected] of [
    ['--linger-ms', '-1', '--linger-ms must be at least 0, got -1'],
    ['--linger-ms', '2.5', "--linger-ms must be an integer, got '2.5'"],
    ['--partition', '-1', '--partition must be at least 0, got -1'],
    ['--partition', 'two', "--partition must be an integer, got 'two'"],
  ] as const) {
    const r = await runCli(['produce', 't', option, value, ...NOWHERE], { input: 'x\n', timeoutMs: 10_000 });
    expect(r.code, `${option} ${value}`).toBe(1);
    expect(r.stderr).toContain(expected);
    expect(r.stderr).not.toContain('NETWORK_ERROR');
  }
});

test('bench refuses a negative --linger-ms', async () => {
  const r = await runCli(['bench', 'produce', '--linger-ms', '-1', ...NOWHERE], { timeoutMs: 10_000 });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('--linger-ms must be at least 0, got -1');
});
