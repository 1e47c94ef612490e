/** Small tmpfs mounts for data dirs, so the disk-full nemesis can fill a real filesystem. Needs root. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function mountTmpfs(dir: string, sizeMb: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
}

export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // busy (a process still holds it) or already gone: a lazy unmount detaches it anyway
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // not mounted
    }
  }
}

/** null if a tmpfs can be mounted here, else why not. */
export function tmpfsUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  const dir = mkdtempSync(join(tmpdir(), 'streambus-tmpfs-probe-'));
  try {
    mountTmpfs(dir, 1);
    unmountTmpfs(dir);
    return null;
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmdirSync(dir);
  }
}
