/**
 * The group CLI end to end against a broker process: `consume --group` commits what it printed, so a second
 * run continues where the first stopped; `group list`, `describe` (offsets and lag), `reset-offsets`,
 * `delete-offsets` and `delete` work on it.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient } from '../../src/index.js';
import { type BrokerProcess, CLI, removeDir, startBroker } from '../helpers/broker-process.js';
import { runCli } from '../helpers/run-cli.js';

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBroker({ env: { STREAMBUS_GROUPS_INITIAL_REBALANCE_DELAY: '50ms' } });
});
afterAll(async () => {
  await broker?.stop();
  if (broker) removeDir(broker.dataDir);
});

const cli = (...args: string[]) => runCli([...args, '--bootstrap', broker.bootstrap]);

describe('streambus consume --group and streambus group', () => {
  test('a group continues where it stopped; describe, reset-offsets, list and delete act on it', async () => {
    expect((await cli('topic', 'create', 'lines', '--partitions', '2')).code).toBe(0);
    const input = `${Array.from({ length: 10 }, (_, i) => `line-${i}`).join('\n')}\n`;
    expect((await runCli(['produce', 'lines', '--bootstrap', broker.bootstrap], { input })).code).toBe(0);

    const consume = (max: number) =>
      cli('consume', 'lines', '--group', 'readers', '--from-beginning', '--max-messages', String(max));
    const first = await consume(4);
    expect(first.code).toBe(0);
    const second = await consume(6);
    expect(second.code).toBe(0);
    const all = [...first.stdout.trim().split('\n'), ...second.stdout.trim().split('\n')].sort();
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => `line-${i}`).sort()); // each exactly once

    const described = JSON.parse((await cli('group', 'describe', 'readers', '--json')).stdout) as {
      state: string;
      offsets: { partition: number; committed: number; lag: number }[];
    };
    expect(described.state).toBe('Empty');
    expect(described.offsets.reduce((n, o) => n + o.committed, 0)).toBe(10);
    expect(described.offsets.every((o) => o.lag === 0)).toBe(true);
    expect((await cli('group', 'describe', 'readers')).stdout).toContain('total lag 0');

    const reset = await cli('group', 'reset-offsets', 'readers', 'lines', '--to-earliest');
    expect(reset.code).toBe(0);
    const again = await consume(10);
    expect(again.stdout.trim().split('\n')).toHaveLength(10); // everything again after the reset

    expect((await cli('group', 'list')).stdout).toContain('readers');
    expect((await cli('group', 'delete', 'readers')).code).toBe(0);
    expect((await cli('group', 'list')).stdout).not.toContain('readers');
    const missing = await cli('group', 'describe', 'readers');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('GROUP_ID_NOT_FOUND');
    const deletedTwice = await cli('group', 'delete', 'readers');
    expect(deletedTwice.code).toBe(1);
    expect(deletedTwice.stderr).toContain('GROUP_ID_NOT_FOUND: no group "readers"');
  }, 60_000);

  test('a partition empty when the group first read it is not skipped later: its position was committed', async () => {
    expect((await cli('topic', 'create', 'sparse', '--partitions', '2')).code).toBe(0);
    const produceTo = (partition: number, lines: string[]) =>
      runCli(['produce', 'sparse', '--partition', String(partition), '--bootstrap', broker.bootstrap], {
        input: `${lines.join('\n')}\n`,
      });
    expect((await produceTo(0, ['a', 'b', 'c'])).code).toBe(0);
    const first = await cli(
      'consume',
      'sparse',
      '--group',
      'sparse-readers',
      '--from-beginning',
      '--timeout-ms',
      '1500',
    );
    expect(first.stdout.trim().split('\n').sort()).toEqual(['a', 'b', 'c']);
    const described = JSON.parse((await cli('group', 'describe', 'sparse-readers', '--json')).stdout) as {
      offsets: { partition: number; committed: number }[];
    };
    expect(described.offsets.map((o) => [o.partition, o.committed]).sort()).toEqual([
      [0, 3],
      [1, 0],
    ]);
    // Arrives after the first run; the second run (no --from-beginning) starts partition 1 at its commit.
    expect((await produceTo(1, ['d', 'e'])).code).toBe(0);
    const second = await cli('consume', 'sparse', '--group', 'sparse-readers', '--timeout-ms', '1500');
    expect(second.stdout.trim().split('\n').sort()).toEqual(['d', 'e']);
  }, 60_000);

  test('a reader that goes away (| head) ends consume quietly; only what was printed is committed', async () => {
    expect((await cli('topic', 'create', 'piped')).code).toBe(0);
    const input = `${Array.from({ length: 30_000 }, (_, i) => `piped-${i}`).join('\n')}\n`;
    expect(
      (await runCli(['produce', 'piped', '--bootstrap', broker.bootstrap], { input, timeoutMs: 60_000 }))
        .code,
    ).toBe(0);
    const child = spawn(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${CLI}" consume piped --group heads --from-beginning --timeout-ms 1500 --bootstrap ${broker.bootstrap} | head -n 1; echo "consume exit \${PIPESTATUS[0]}" >&2`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await new Promise((resolve) => child.once('close', resolve));
    expect(stdout).toBe('piped-0\n');
    expect(stderr).toContain('consume exit 0');
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    const printed = Number(/(\d+) message\(s\) consumed/.exec(stderr)?.[1]);
    // A round whose write failed counts as not printed (how much of it head read is unknowable).
    expect(printed).toBeGreaterThanOrEqual(0);
    expect(printed).toBeLessThan(30_000);
    const described = JSON.parse((await cli('group', 'describe', 'heads', '--json')).stdout) as {
      offsets: { committed: number }[];
    };
    expect(described.offsets[0]?.committed ?? 0).toBe(printed);
  }, 60_000);

  test('delete-offsets deletes what the group committed; a subscribed topic is refused with exit 1', async () => {
    expect((await cli('topic', 'create', 'tallies', '--partitions', '2')).code).toBe(0);
    for (const partition of [0, 1]) {
      const input = `tally-${2 * partition}\ntally-${2 * partition + 1}\n`;
      const args = ['produce', 'tallies', '--partition', String(partition), '--bootstrap', broker.bootstrap];
      expect((await runCli(args, { input })).code).toBe(0);
    }
    const consume = () =>
      cli('consume', 'tallies', '--group', 'counters', '--from-beginning', '--max-messages', '4');
    expect((await consume()).stdout.trim().split('\n')).toHaveLength(4);
    const committed = async () =>
      (
        JSON.parse((await cli('group', 'describe', 'counters', '--json')).stdout) as {
          offsets: { partition: number; committed: number }[];
        }
      ).offsets.map((o) => [o.partition, o.committed]);
    expect(await committed()).toEqual([
      [0, 2],
      [1, 2],
    ]);

    const one = await cli('group', 'delete-offsets', 'counters', '--topic', 'tallies', '--partition', '1');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^TOPIC\s+PARTITION\s+RESULT\ntallies\s+1\s+deleted \(was 2\)\n$/);
    expect(await committed()).toEqual([[0, 2]]);
    // A partition the topic does not have is refused as such, not answered "no committed offset".
    const beyond = await cli('group', 'delete-offsets', 'counters', '--topic', 'tallies', '--partition', '5');
    expect(beyond.code).toBe(1);
    expect(beyond.stdout).toMatch(
      /tallies\s+5\s+UNKNOWN_TOPIC_OR_PARTITION: unknown topic or partition tallies-5\n$/,
    );
    const all = await cli('group', 'delete-offsets', 'counters', '--topic', 'tallies');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/tallies\s+0\s+deleted \(was 2\)\ntallies\s+1\s+no committed offset\n$/);
    expect(await committed()).toEqual([]);
    // Nothing committed any more: the group reads the topic from the start again (--from-beginning).
    expect((await consume()).stdout.trim().split('\n').sort()).toEqual([
      'tally-0',
      'tally-1',
      'tally-2',
      'tally-3',
    ]);

    // A member subscribed to the topic: every partition refused, nothing deleted, exit 1.
    const client = createClient({ bootstrap: broker.bootstrap });
    try {
      const member = client.consumer({ group: { groupId: 'counters' }, maxWaitMs: 100 });
      member.subscribe(['tallies']);
      const deadline = Date.now() + 20_000;
      while (member.assignment().length < 2) {
        if (Date.now() > deadline) throw new Error('the member was never assigned');
        await member.poll({ signal: AbortSignal.timeout(300) });
      }
      const refused = await cli('group', 'delete-offsets', 'counters', '--topic', 'tallies');
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/tallies\s+0\s+GROUP_SUBSCRIBED_TO_TOPIC: a member of group "counters"/);
      expect(refused.stdout).toMatch(/tallies\s+1\s+GROUP_SUBSCRIBED_TO_TOPIC/);
      expect(await committed()).toEqual([
        [0, 2],
        [1, 2],
      ]);
      await member.close();
    } finally {
      await client.close();
    }

    const unknown = await cli('group', 'delete-offsets', 'nobody', '--topic', 'tallies');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('GROUP_ID_NOT_FOUND: no group "nobody"');
    const missingTopic = await cli('group', 'delete-offsets', 'counters');
    expect(missingTopic.code).toBe(1);
    expect(missingTopic.stderr).toContain("required option '--topic <topic>' not specified");
    const help = await cli('group', 'delete-offsets', '--help');
    expect(help.stdout).toContain('Usage: streambus group delete-offsets [options] <group>');
    expect(help.stdout).toMatch(/--partition <n>\s+only this partition \(repeat for several/);
  }, 60_000);

  test('refuses contradictory or invalid options with a clear message', async () => {
    const r = await cli('consume', 'lines', '--group', 'g', '--partition', '0');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--group assigns partitions itself');
    const reset = await cli('group', 'reset-offsets', 'g', 'lines', '--to-earliest', '--to-latest');
    expect(reset.code).toBe(1);
    expect(reset.stderr).toContain('choose exactly one of');
    // A negative offset is refused, not silently moved to the start of each partition.
    const negative = await cli('group', 'reset-offsets', 'g', 'lines', '--to-offset', '-5');
    expect(negative.code).toBe(1);
    expect(negative.stderr).toContain('--to-offset must be at least 0, got -5');
  });

  test("a session timeout the broker does not allow is refused naming the broker's bounds", async () => {
    const r = await cli('consume', 'lines', '--group', 'short-lived', '--session-timeout-ms', '500');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "streambus: INVALID_SESSION_TIMEOUT: session timeout 500 ms is outside the broker's groups.session_timeout_min..max (1000..300000 ms)",
    );
  });
});
