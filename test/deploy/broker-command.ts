/**
 * Runs a broker the way a deploy file starts it (a Dockerfile ENTRYPOINT, a systemd ExecStart): any argv
 * and environment, not the test helper's fixed flags. Resolves once the "broker started" log line
 * gives the health port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

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
  const started = await new Promise<{ httpPort: number; brokerId: number | undefined }>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`broker did not start in 20 s:\n${logs.join('\n')}`)),
      20_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      if (!line.includes('"broker started"')) return;
      const entry = JSON.parse(line) as { http_port: number; broker_id?: number };
      clearTimeout(timer);
      res({ httpPort: entry.http_port, brokerId: entry.broker_id });
    });
    createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`broker exited with ${code} before starting:\n${logs.join('\n')}`));
    });
  });
  return {
    child,
    ...started,
    logs,
    async stop(signal = 'SIGTERM') {
      const t0 = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      return { code, elapsedMs: performance.now() - t0 };
    },
  };
}
