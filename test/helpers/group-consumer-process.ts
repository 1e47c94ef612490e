/**
 * A consumer-group member in its own process: the built CLI's `consume TOPIC --group G`, which commits
 * after printing. Tests kill it with -9 and read what it printed (every value it consumed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from './broker-process.js';

export interface GroupConsumerProcess {
  child: ChildProcess;
  /** Values printed so far (what this member consumed). */
  values: string[];
  stderr: string[];
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export function startGroupConsumer(options: {
  bootstrap: string;
  topic: string;
  group: string;
  sessionTimeoutMs: number;
  instanceId?: string;
}): GroupConsumerProcess {
  const args = [
    CLI,
    'consume',
    options.topic,
    '--group',
    options.group,
    '--from-beginning',
    '--session-timeout-ms',
    String(options.sessionTimeoutMs),
    '--bootstrap',
    options.bootstrap,
    ...(options.instanceId === undefined ? [] : ['--instance-id', options.instanceId]),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.STREAMBUS_BOOTSTRAP;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const values: string[] = [];
  const stderr: string[] = [];
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  createInterface({ input: child.stdout! }).on('line', (l) => values.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await closed;
  };
  return { child, values, stderr, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
