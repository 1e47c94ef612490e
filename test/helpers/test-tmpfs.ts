/**
 * A small real tmpfs for tests that need a disk that fills up (DISK_FULL, ENOSPC paths). Needs root and
 * Linux: elsewhere the test says it is skipped (visibly) instead of failing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounts a tmpfs of `sizeBytes` on a new folder and returns it; null (and a SKIPPED warning) when it cannot. */
export function tryMountTmpfs(testName: string, sizeBytes: number): string | null {
  const skipped = (): null => {
    console.warn(`${testName}: SKIPPED (needs root and \`mount -t tmpfs\` on Linux)`);
    return null;
  };
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return skipped();
  const dir = mkdtempSync(join(tmpdir(), `streambus-${testName}-`));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return skipped();
  }
}

/** Unmounts what tryMountTmpfs mounted and removes the folder. */
export function unmountTmpfs(dir: string): void {
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}

/** Writes filler file `name` in `mount` until the file system refuses one more byte. */
export async function fillDisk(mount: string, name: string): Promise<void> {
  const path = join(mount, name);
  for (const chunk of [64 * 1024, 4096, 1]) {
    const bytes = Buffer.alloc(chunk, 1);
    for (;;) {
      try {
        await appendFile(path, bytes);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'ENOSPC') throw err;
        break;
      }
    }
  }
}
