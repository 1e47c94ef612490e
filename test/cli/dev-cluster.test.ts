/**
 * `streambus dev-cluster` end to end: three broker processes come up on free ports, become ready with a
 * metadata leader every broker agrees on, `streambus cluster status --json` sees all three alive with that
 * leader, and one SIGINT to the supervisor stops every broker process (exit 0, no child left behind).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';
import type { DescribeClusterResponse } from '../../src/protocol/messages.js';
import { requireDist } from '../helpers/acked-producer.js';
import { CLI } from '../helpers/broker-process.js';
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
        const m = stdout.match(/^ready: 3 broker\(s\), metadata leader (\d+), bootstrap (\S+)$/m);
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
    const leaderId = Number(ready[1]);
    const bootstrap = ready[2]!;
    expect(bootstrap.split(',')).toHaveLength(3);
    for (const i of [1, 2, 3]) expect(existsSync(join(dir, `broker-${i}.log`))).toBe(true);

    const status = await runCli(['cluster', 'status', '--json', '--bootstrap', bootstrap]);
    expect(status.code, status.stderr).toBe(0);
    const described = JSON.parse(status.stdout) as DescribeClusterResponse;
    expect(described.metadataLeaderId).toBe(leaderId);
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
    expect(table.stdout).toContain(`metadata leader ${leaderId}\t`);
    expect(table.stdout).toContain('brokers 3 (3 alive)');
    expect(table.stdout).toContain('metadata voters 1, 2, 3\tlearners -');
    expect(table.stdout).toContain(`metadata log replication (as leader ${leaderId} sees it)`);
    expect(table.stdout).toMatch(new RegExp(`^${leaderId}\\*\\s+voter\\s+\\d+\\s+0\\s+now$`, 'm'));

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
