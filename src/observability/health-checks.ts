import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CheckResult, HealthCheckSpec } from './health.js';

/** Storage: unhealthy when the data dir's filesystem has less than `minFreeBytes` free (or cannot be read). */
export function diskSpaceCheck(
  dir: string,
  minFreeBytes: number,
  options: { readonly name?: string; readonly onFreeBytes?: (bytes: number) => void } = {},
): HealthCheckSpec {
  return {
    name: options.name ?? 'storage',
    critical: true,
    async check(): Promise<CheckResult> {
      const stats = await statfsOfExisting(dir);
      const freeBytes = Number(stats.bavail) * Number(stats.bsize);
      const totalBytes = Number(stats.blocks) * Number(stats.bsize);
      options.onFreeBytes?.(freeBytes);
      const details = { dir, free_bytes: freeBytes, total_bytes: totalBytes, min_free_bytes: minFreeBytes };
      if (freeBytes < minFreeBytes) {
        return {
          status: 'unhealthy',
          message: `disk free ${freeBytes} bytes is below ${minFreeBytes}`,
          details,
        };
      }
      // Within 2x of the threshold is worth a warning before writes start failing.
      if (freeBytes < 2 * minFreeBytes) {
        return {
          status: 'degraded',
          message: `disk free ${freeBytes} bytes is close to ${minFreeBytes}`,
          details,
        };
      }
      return { status: 'healthy', message: 'disk space ok', details };
    },
  };
}

/**
 * The filesystem `dir` is on, or will be on: the first check runs before storage creates a new data dir,
 * and its parent's filesystem is where it will be made (not an ENOENT reported as an unhealthy disk).
 */
async function statfsOfExisting(dir: string) {
  for (let path = resolve(dir); ; path = dirname(path)) {
    try {
      return await statfs(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw err;
    }
  }
}

export interface EventLoopLagCheck extends HealthCheckSpec {
  /** Stops the delay monitor. */
  close(): void;
}

/**
 * The event loop's p99 delay since the last check: degraded above `degradedMs`, unhealthy above
 * `unhealthyMs`. Not critical by default: a busy broker is still ready.
 */
export function eventLoopLagCheck(
  options: { readonly degradedMs?: number; readonly unhealthyMs?: number; readonly critical?: boolean } = {},
): EventLoopLagCheck {
  const degradedMs = options.degradedMs ?? 100;
  const unhealthyMs = options.unhealthyMs ?? 1000;
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  return {
    name: 'event_loop',
    critical: options.critical ?? false,
    async check(): Promise<CheckResult> {
      const p99Ms = histogram.percentile(99) / 1e6;
      const maxMs = histogram.max / 1e6;
      histogram.reset();
      const details = { p99_ms: round(p99Ms), max_ms: round(maxMs) };
      if (p99Ms > unhealthyMs)
        return { status: 'unhealthy', message: `event loop p99 lag ${round(p99Ms)}ms`, details };
      if (p99Ms > degradedMs)
        return { status: 'degraded', message: `event loop p99 lag ${round(p99Ms)}ms`, details };
      return { status: 'healthy', message: 'event loop responsive', details };
    },
    close(): void {
      histogram.disable();
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
