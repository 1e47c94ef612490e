/**
 * A lock file (`<dataDir>/.lock`, holding the owner's pid) so two brokers never open the same data dir.
 * A lock left by a process that no longer exists (or by this pid in an earlier life, e.g. pid 1 in a
 * container) is taken over.
 */
import { join } from 'node:path';
import { StreamBusError } from '../errors/index.js';
import type { StorageFs } from './storage-fs.js';

export const LOCK_FILE = '.lock';

const heldInThisProcess = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

export class DataDirLock {
  private constructor(
    private readonly fs: StorageFs,
    readonly path: string,
  ) {}

  static async acquire(fs: StorageFs, dataDir: string): Promise<DataDirLock> {
    const path = join(dataDir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (
        !heldInThisProcess.has(path) &&
        (await fs.writeFileExclusive(path, Buffer.from(`${process.pid}\n`)))
      ) {
        heldInThisProcess.add(path);
        return new DataDirLock(fs, path);
      }
      const owner = Number((await fs.readFile(path))?.toString().trim());
      const stale =
        !heldInThisProcess.has(path) &&
        (!Number.isSafeInteger(owner) || owner <= 0 || owner === process.pid || !processAlive(owner));
      if (!stale) {
        throw new StreamBusError('STORAGE_ERROR', {
          operation: 'storage.lock',
          message: `data dir ${dataDir} is in use by another broker (pid ${owner}, lock file ${path})`,
          metadata: { dataDir, lockFile: path, ownerPid: owner },
        });
      }
      await fs.unlink(path);
    }
    throw new StreamBusError('STORAGE_ERROR', {
      operation: 'storage.lock',
      message: `could not lock ${dataDir}`,
    });
  }

  async release(): Promise<void> {
    heldInThisProcess.delete(this.path);
    await this.fs.unlink(this.path);
  }
}
