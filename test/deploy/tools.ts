/** Optional Debian tools the deploy tests use, free ports and HTTP polling. */
import { spawnSync } from 'node:child_process';
import { freePorts } from '../helpers/cluster-processes.js';

/** True when `name` runs (`name --version` exits 0). */
export function hasTool(name: string, versionArgs: readonly string[] = ['--version']): boolean {
  const r = spawnSync(name, [...versionArgs], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/** Says loudly why a suite is skipped: a skipped check must never look like a passed one. */
export function warnMissing(tool: string, aptPackage: string, what: string): void {
  console.warn(
    `SKIPPED: ${what}: \`${tool}\` is not installed (apt-get install ${aptPackage}); these checks did not run.`,
  );
}

/** One port free right now, outside the kernel's ephemeral range (see freePorts). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** Polls `probe` every `intervalMs` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${String(lastError ?? '')}`);
}
