/**
 * `consume --group --timeout-ms` ends when no message came for that long, also while the group cannot be
 * joined: before, the poll waited for the join, which retried for as long as no coordinator answered, so
 * the command never exited.
 */
import { describe, expect, test } from 'vitest';
import { requireDist } from '../helpers/acked-producer.js';
import { runCli } from '../helpers/run-cli.js';

// Nothing listens on port 1: every connect is refused, so no coordinator is ever found.
const nowhere = '127.0.2.1:1';

describe('consume --group --timeout-ms', () => {
  test('exits after the timeout when the group cannot be joined, and says so', async () => {
    requireDist();
    const r = await runCli(['consume', 't', '--group', 'g', '--bootstrap', nowhere, '--timeout-ms', '500'], {
      timeoutMs: 15_000,
    });
    expect(r.stderr).toContain('no partitions of group g assigned within --timeout-ms');
    expect(r.stderr).toContain('0 message(s) consumed');
    expect(r.code).toBe(0);
  });
});
