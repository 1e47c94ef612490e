/**
 * `streambus dev-cluster` end to end: three broker processes come up on free ports, become ready with a
 * metadata leader every broker agrees on, `streambus cluster status --json` sees all three alive with that
 * leader, and one SIGINT to the supervisor stops every broker process (exit 0, no child left behind).
 *
 * "That leader" is the leader of a term: the ready line and cluster status each name a leader with its
 * term, and the brokers' logs (DIR/broker-i.log) say who led which term. An election between the ready line
 * and the status (three brokers starting on a loaded machine can miss heartbeats) moves the leadership on
 * without anything being wrong, so the two must name the same leader only when they name the same term, and
 * each must name the broker that led the term it names.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';
import type { DescribeClusterResponse } from '../../src/protocol/messages.js';
import { requireDist } from '../helpers/acked-producer.js';
import { CLI, TEST_HOST } from '../helpers/broker-process.js';
import { until } from '../helpers/cluster-processes.js';
import { leaderOfTerm } from '../helpers/metadata-terms.js';
import { runCli } from '../helpers/run-cli.js';
import { scratchDir } from '../helpers/scratch-dir.js';

const READY_TIMEOUT_MS = 45_000;

/** Whether a process with this PID exists (signal 0 checks without sending anything). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Each broker's log lines so far, by id (the supervisor writes them to DIR/broker-<id>.log). */
function brokerLogs(dir: string): Map<number, string[]> {
  return new Map(
    [1, 2, 3].map((id) => {
      const file = join(dir, `broker-${id}.log`);
      return [id, existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []];
    }),
  );
}

/** Waits until a broker's log says it led `term`, and expects that broker to be `leader`. */
async function expectLeaderOfTerm(dir: string, leader: number, term: number, who: string): Promise<void> {
  const led = await until(
    `a broker's log to show it led term ${term}`,
    async () => leaderOfTerm(brokerLogs(dir), term),
    10_000,
  ).catch(() => undefined);
  expect(led, `${who} names broker ${leader} as the leader of term ${term}`).toBe(leader);
}

let supervisor: ChildProcess | undefined;
const childPids: number[] = [];

afterAll(() => {
  // Only if the test failed half-way: kill exactly the processes this test started, by PID.
  for (const pid of childPids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  if (supervisor?.pid !== undefined && supervisor.exitCode === null && supervisor.signalCode === null) {
    supervisor.kill('SIGKILL');
  }
});

describe('streambus dev-cluster', () => {
  test('starts 3 brokers that agree on a leader, reports them through cluster status, and stops them all on SIGINT', async () => {
    requireDist();
    const dir = scratchDir('streambus-dev-cluster-');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'dev-cluster',
        '--brokers',
        '3',
        '--data-dir',
        dir,
        '--base-port',
        '0',
        '--host',
        TEST_HOST,
        '--stop-timeout-ms',
        '15000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    supervisor = child;
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );

    const ready = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ready line in ${READY_TIMEOUT_MS} ms\n${stdout}\n${stderr}`)),
        READY_TIMEOUT_MS,
      );
      const check = (): void => {
        for (const pid of stdout.matchAll(/^broker \d+ {2}pid (\d+)/gm)) {
          const n = Number(pid[1]);
          if (!childPids.includes(n)) childPids.push(n);
        }
        const m = stdout.match(
          /^ready: 3 broker\(s\), metadata leader (\d+) \(term (\d+)\), bootstrap (\S+)$/m,
        );
        if (m !== null) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      child.stdout?.on('data', check);
      void exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`dev-cluster exited (${e.code ?? e.signal}) before ready\n${stdout}\n${stderr}`));
      });
    });
    expect(childPids).toHaveLength(3);
    // Each broker runs with the broker V8 flags (src/broker/node-flags.ts) ahead of the CLI script.
    for (const pid of childPids) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 1 + BROKER_NODE_FLAGS.length)).toEqual([...BROKER_NODE_FLAGS]);
    }
    const readyLeader = Number(ready[1]);
    const readyTerm = Number(ready[2]);
    const bootstrap = ready[3]!;
    expect(bootstrap.split(',')).toHaveLength(3);
    for (const i of [1, 2, 3]) expect(existsSync(join(dir, `broker-${i}.log`))).toBe(true);
    await expectLeaderOfTerm(dir, readyLeader, readyTerm, 'the ready line');

    const status = await runCli(['cluster', 'status', '--json', '--bootstrap', bootstrap]);
    expect(status.code, status.stderr).toBe(0);
    const described = JSON.parse(status.stdout) as DescribeClusterResponse;
    // The leader the status names: the ready line's, unless a later term has begun since.
    const leaderId = described.metadataLeaderId;
    expect(described.metadataTerm).toBeGreaterThanOrEqual(readyTerm);
    if (described.metadataTerm === readyTerm)
      expect(leaderId, 'status leader, ready line term').toBe(readyLeader);
    await expectLeaderOfTerm(dir, leaderId, described.metadataTerm, 'cluster status --json');
    expect(described.brokers.map((b) => [b.id, b.state])).toEqual([
      [1, 'alive'],
      [2, 'alive'],
      [3, 'alive'],
    ]);
    expect(described.brokers.map((b) => `${b.host}:${b.port}`).join(',')).toBe(bootstrap);
    // Asked of the metadata leader: each voter's replication of the metadata log, the leader at lag 0.
    expect(described.brokerId).toBe(leaderId);
    expect(described.metadataReplication.map((r) => r.brokerId)).toEqual([1, 2, 3]);
    expect(described.metadataReplication.find((r) => r.brokerId === leaderId)).toMatchObject({
      lag: 0,
      silentMs: 0,
    });
    for (const r of described.metadataReplication) {
      expect(r.matchIndex).toBeGreaterThan(0);
      expect(r.silentMs).toBeGreaterThanOrEqual(0);
    }

    const table = await runCli(['cluster', 'status', '--bootstrap', bootstrap]);
    expect(table.code, table.stderr).toBe(0);
    // Asked again, so maybe in a later term than the JSON: the table says which, and names its leader.
    const [, tableLeader, tableTerm] = table.stdout.match(/^metadata leader (\d+)\tterm (\d+)\t/m) ?? [];
    expect(Number(tableTerm)).toBeGreaterThanOrEqual(described.metadataTerm);
    if (Number(tableTerm) === described.metadataTerm)
      expect(Number(tableLeader), 'table leader').toBe(leaderId);
    await expectLeaderOfTerm(dir, Number(tableLeader), Number(tableTerm), 'cluster status');
    expect(table.stdout).toContain('brokers 3 (3 alive)');
    expect(table.stdout).toContain('metadata voters 1, 2, 3\tlearners -');
    expect(table.stdout).toContain(`metadata log replication (as leader ${tableLeader} sees it)`);
    expect(table.stdout).toMatch(new RegExp(`^${tableLeader}\\*\\s+voter\\s+\\d+\\s+0\\s+now$`, 'm'));

    // The metadata voters change one at a time: broker 3 out (it stays, as a learner), then back in.
    const removed = await runCli(['cluster', 'remove-voter', '3', '--bootstrap', bootstrap]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('metadata voters 1, 2\t');
    expect(removed.stderr).toContain('warning: 2 metadata voters survive no more failures than 1');
    const added = await runCli(['cluster', 'add-voter', '3', '--bootstrap', bootstrap]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toBe('metadata voters 1, 2, 3\tlearners -\n');
    expect(added.stderr).toBe('');

    child.kill('SIGINT');
    const { code } = await exited;
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('all brokers stopped');
    expect(childPids.filter(pidAlive)).toEqual([]);
  }, 90_000);
});
