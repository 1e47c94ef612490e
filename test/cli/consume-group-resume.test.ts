/**
 * `consume --group G --max-messages N` stops in the middle of a round: the messages fetched but not printed
 * must be read by the group's next run. On the way out every assigned partition is committed where the next
 * run must start it (QA: only the partition that printed was committed; the next run started the others
 * from the end and skipped their messages).
 */
import { expect, test } from 'vitest';
import { cliBroker } from '../helpers/cli-broker.js';

const { cli } = cliBroker({ env: { STREAMBUS_GROUPS_INITIAL_REBALANCE_DELAY: '50ms' } });

test('a run stopped by --max-messages is continued by the next: every message printed once, none skipped', async () => {
  expect((await cli(['topic', 'create', 'resume', '--partitions', '3'])).code).toBe(0);
  const values = Array.from({ length: 3000 }, (_, i) => `m-${i}`);
  const produced = await cli(['produce', 'resume'], { input: `${values.join('\n')}\n` });
  expect(produced.stderr).toContain('3000 message(s) acknowledged');

  const first = await cli([
    'consume',
    'resume',
    '--group',
    'resumers',
    '--from-beginning',
    '--max-messages',
    '5',
  ]);
  expect(first.code).toBe(0);
  const firstLines = first.stdout.trim().split('\n');
  expect(firstLines).toHaveLength(5);

  // Every partition has a commit, whether it printed or not.
  const described = JSON.parse((await cli(['group', 'describe', 'resumers', '--json'])).stdout) as {
    offsets: { partition: number; committed: number }[];
  };
  expect(described.offsets.map((o) => o.partition).sort()).toEqual([0, 1, 2]);
  expect(described.offsets.reduce((n, o) => n + o.committed, 0)).toBe(5);

  // No --from-beginning: a partition without a commit would start at the end.
  const second = await cli(['consume', 'resume', '--group', 'resumers', '--timeout-ms', '5000'], {
    timeoutMs: 60_000,
  });
  expect(second.code).toBe(0);
  const all = [...firstLines, ...second.stdout.trim().split('\n')];
  expect(all).toHaveLength(values.length); // none twice
  expect(all.sort()).toEqual([...values].sort()); // none skipped
}, 90_000);
