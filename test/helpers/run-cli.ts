/** Runs the built `streambus` CLI as a child process and collects its output. */
import { spawn } from 'node:child_process';
import { CLI } from './broker-process.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  // Client settings from the developer's shell must not leak into tests; pass them in `env` to test them.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['STREAMBUS_BOOTSTRAP', 'STREAMBUS_TLS_CA', 'STREAMBUS_TLS_CERT', 'STREAMBUS_TLS_KEY']) {
    delete env[name];
  }
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => stdout.push(c));
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  child.stdin.on('error', () => {
    // The command may exit before reading all of stdin (e.g. it failed); that is its answer.
  });
  child.stdin.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `streambus ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${Buffer.concat(stderr).toString()}`,
        ),
      );
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      });
    });
  });
}
