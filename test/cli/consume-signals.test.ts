/**
 * Ctrl-C / SIGTERM stop `consume --group` promptly even when its broker is gone (QA: the last commit
 * retried for about 2 minutes and a second signal did not help). The first signal gives the last commit and
 * leaving the group a bounded time, then says on stderr what was skipped; a second exits at once. With the
 * broker up, a signal still ends the run cleanly, everything printed committed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, test } from 'vitest';
import { EXIT_GRACE_MS } from '../../cmd/commands/consume.js';
import { requireDist } from '../helpers/acked-producer.js';
import { type BrokerProcess, CLI, removeDir, startBroker } from '../helpers/broker-process.js';
import { runCli } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';

/** Generous: the bound proves "not minutes", it does not measure speed. */
const EXIT_BOUND_MS = 20_000;

interface Consume {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  send(signal: NodeJS.Signals): void;
}

function startConsume(bootstrap: string, topic: string, group: string): Consume {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.STREAMBUS_BOOTSTRAP;
  const args = [CLI, 'consume', topic, '--group', group, '--from-beginning', '--bootstrap', bootstrap];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout,
    stderr,
    exited,
    send: (signal) => child.kill(signal),
  };
}

const brokers: BrokerProcess[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const b of brokers.splice(0)) {
    await b.kill();
    removeDir(b.dataDir);
  }
});

/** A broker with a 3-message topic, and a group member that has printed (and committed) all three. */
async function consumingMember(group: string): Promise<{ broker: BrokerProcess; consume: Consume }> {
  requireDist();
  const broker = await startBroker({ env: { STREAMBUS_GROUPS_INITIAL_REBALANCE_DELAY: '50ms' } });
  brokers.push(broker);
  const cli = (args: string[], input?: string) =>
    runCli([...args, '--bootstrap', broker.bootstrap], input === undefined ? {} : { input });
  expect((await cli(['topic', 'create', 'ticks', '--partitions', '3'])).code).toBe(0);
  expect((await cli(['produce', 'ticks'], 'a\nb\nc\n')).code).toBe(0);
  const consume = startConsume(broker.bootstrap, 'ticks', group);
  children.push(consume.child);
  await waitFor('the member to print the 3 messages', () => consume.stdout.length === 3, 20_000);
  return { broker, consume };
}

describe('consume --group and signals', () => {
  test('broker up: SIGINT ends the run cleanly (exit 0), with what was printed committed', async () => {
    const { broker, consume } = await consumingMember('calm');
    consume.send('SIGINT');
    const exit = await consume.exited;
    expect(exit.code).toBe(0);
    expect(consume.stderr.join('\n')).toContain('3 message(s) consumed');
    expect(consume.stderr.join('\n')).not.toContain('skipped');
    const described = await runCli(['group', 'describe', 'calm', '--json', '--bootstrap', broker.bootstrap]);
    const offsets = (JSON.parse(described.stdout) as { offsets: { committed: number }[] }).offsets;
    expect(offsets.reduce((n, o) => n + o.committed, 0)).toBe(3);
  }, 60_000);

  test('broker gone: SIGTERM exits within a bounded time (143), saying the commit was skipped', async () => {
    const { broker, consume } = await consumingMember('orphans');
    await broker.kill();
    consume.send('SIGTERM');
    const exit = await Promise.race([
      consume.exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), EXIT_BOUND_MS)),
    ]);
    expect(exit, `no exit within ${EXIT_BOUND_MS} ms; stderr: ${consume.stderr.join('\n')}`).not.toBeNull();
    expect(exit?.code).toBe(143);
    const stderr = consume.stderr.join('\n');
    expect(stderr).toContain(
      `commit skipped (no answer from the broker within ${EXIT_GRACE_MS} ms of SIGTERM): the group's next run starts from its last commit`,
    );
    expect(stderr).toContain('3 message(s) consumed');
  }, 60_000);

  test('broker gone: a second SIGINT exits at once (130) without waiting out the first', async () => {
    const { broker, consume } = await consumingMember('impatient');
    await broker.kill();
    consume.send('SIGINT');
    // The first signal was taken (not Node's default exit) once the member says it is stopping.
    await waitFor('the first SIGINT to be taken', () =>
      consume.stderr.some((l) => l.startsWith('SIGINT: stopping')),
    );
    consume.send('SIGINT');
    const exit = await consume.exited;
    expect(exit.code).toBe(130);
    expect(consume.stderr.join('\n')).toContain('SIGINT again: exiting at once');
    expect(consume.stderr.join('\n')).not.toContain('skipped');
  }, 60_000);
});
