/**
 * Runs a broker the way a deploy file starts it (a Dockerfile ENTRYPOINT, a systemd ExecStart): any argv
 * and environment, not the test helper's fixed flags. Resolves once the "broker started" log line
 * gives the health port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { brokerStarted } from '../../chaos/harness/broker-started.js';

export interface RunningBroker {
  readonly child: ChildProcess;
  readonly httpPort: number;
  readonly brokerId: number | undefined;
  readonly logs: string[];
  /** Sends `signal` and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; elapsedMs: number }>;
}

export async function runBrokerCommand(
  argv: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<RunningBroker> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty command');
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const { httpPort, brokerId } = await brokerStarted(child, {
    timeoutMs: 20_000,
    onLine: (line) => logs.push(line),
    failure: (why) => `broker ${why}:\n${logs.join('\n')}`,
  });
  return {
    child,
    httpPort,
    brokerId,
    logs,
    async stop(signal = 'SIGTERM') {
      const t0 = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      return { code, elapsedMs: performance.now() - t0 };
    },
  };
}
