/**
 * Starts real broker processes (the built CLI, `dist/cmd/streambus.js broker`) for integration tests.
 * Ports are chosen by the OS (`:0`); the broker's "broker started" log line tells us which it got.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { brokerStarted } from '../../chaos/harness/broker-started.js';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cmd/streambus.js');

export interface BrokerProcess {
  child: ChildProcess;
  dataDir: string;
  host: string;
  port: number;
  httpPort: number;
  bootstrap: string;
  logs: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** kill -9: no drain, no flush. */
  kill(): Promise<void>;
}

/**
 * The loopback address test brokers listen on unless a test names its own. STREAMBUS_TEST_HOST moves a whole
 * run to another one (say 127.0.2.1), so two runs on one machine never contend for the same ports.
 */
export const TEST_HOST = process.env.STREAMBUS_TEST_HOST || '127.0.0.1';

export function tempDir(prefix = 'streambus-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function startBroker(
  options: {
    dataDir?: string;
    host?: string;
    port?: number;
    httpPort?: number;
    args?: string[];
    env?: NodeJS.ProcessEnv;
    /** The CLI entry to run; default this build's (CLI). Another build's lets a test mix versions. */
    cli?: string;
  } = {},
): Promise<BrokerProcess> {
  const dataDir = options.dataDir ?? tempDir();
  const host = options.host ?? TEST_HOST;
  const args = [
    ...BROKER_NODE_FLAGS,
    options.cli ?? CLI,
    'broker',
    '--data-dir',
    dataDir,
    '--listen',
    `${host}:${options.port ?? 0}`,
    '--http-listen',
    `${host}:${options.httpPort ?? 0}`,
    ...(options.args ?? []),
  ];
  // The test harness's own variables (STREAMBUS_TEST_*) are not broker settings: a broker would warn about
  // each on stderr, which tests of its output would then see only when the harness is told something.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('STREAMBUS_TEST_')),
  );
  const child = spawn(process.execPath, args, {
    env: { ...inherited, STREAMBUS_LOGGING_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  // For post-mortems of flaky runs: STREAMBUS_TEST_LOG_DIR=/some/dir keeps every broker's log lines.
  const logDir = process.env.STREAMBUS_TEST_LOG_DIR;
  if (logDir !== undefined && logDir !== '') {
    const file = join(logDir, `${basename(dataDir)}-${child.pid}.log`);
    const push = logs.push.bind(logs);
    logs.push = (...lines: string[]) => {
      appendFileSync(file, `${lines.join('\n')}\n`);
      return push(...lines);
    };
  }
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const { port, httpPort } = await brokerStarted(child, {
    timeoutMs: 20_000,
    onLine: (line) => logs.push(line),
    failure: (why) => `broker ${why}:\n${logs.join('\n')}`,
  });
  return {
    child,
    dataDir,
    host,
    port,
    httpPort,
    bootstrap: `${host}:${port}`,
    logs,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
