/**
 * Space held back so that a small file the broker commits its state to (topics.json, and on a single node
 * client-quotas.json) can always be rewritten.
 *
 * The operations an operator uses to free a full disk (delete a topic, lower its retention) first commit the
 * new catalog: a temp file, then a rename. On a full disk that write is refused before anything is freed, so
 * a broker that filled its disk could not be helped without stopping it; nor could the producer filling it
 * be throttled (a client quota override). The data dir therefore keeps, per such file, a file of zeros at
 * least twice its size (`<file>.reserve`); a write refused for space deletes it and tries once more, and the
 * reserve is made again after the next write that finds room.
 */
import { join } from 'node:path';
import type { StorageFs } from './storage-fs.js';
import type { StorageLogger } from './types.js';

/** The reserve of `file` (a name in the data dir). */
export function reserveFileOf(file: string): string {
  return `${file}.reserve`;
}

/** The smallest reserve: a catalog of a few hundred topics fits twice. */
export const CATALOG_RESERVE_BYTES_MIN = 64 * 1024;

export function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export class CatalogReserve {
  /** Bytes the reserve file holds; 0 while there is none (released, or not made for want of space). */
  private heldBytes = 0;
  /** Size of the catalog last written or read. */
  private catalogBytes = 0;

  private readonly path: string;

  constructor(
    private readonly fs: StorageFs,
    dataDir: string,
    private readonly logger: StorageLogger,
    /** The file the reserve is for, in `dataDir`. */
    private readonly file: string,
  ) {
    this.path = join(dataDir, reserveFileOf(file));
  }

  /**
   * Writes the file (`write`, which must replace it atomically). On a full disk the reserve makes room for
   * the retry; after a write that succeeds the reserve is made again, big enough for `catalogBytes`.
   */
  async write(catalogBytes: number, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!isNoSpace(err) || this.heldBytes === 0) throw err;
      this.logger.warn({ file: this.path }, `disk full: releasing the reserve to write ${this.file}`);
      await this.release();
      await write();
    }
    await this.ensure(catalogBytes);
  }

  /**
   * Makes the reserve (again) when there is none or it is smaller than twice `catalogBytes` (by default the
   * catalog last seen: call it after freeing space). Best effort, never throws: a disk without room for it is logged, and
   * the next catalog write or freeing tries again.
   */
  async ensure(catalogBytes = this.catalogBytes): Promise<void> {
    this.catalogBytes = catalogBytes;
    const wanted = Math.max(CATALOG_RESERVE_BYTES_MIN, 2 * catalogBytes);
    if (this.heldBytes >= wanted) return;
    // A reserve left by an earlier run may be short (a crash while writing it): make it anew.
    await this.release();
    try {
      await this.fs.writeFileExclusive(this.path, Buffer.alloc(wanted));
      this.heldBytes = wanted;
    } catch (err) {
      await this.fs.unlink(this.path).catch(() => undefined);
      this.logger.warn(
        { file: this.path, bytes: wanted, error: String(err) },
        isNoSpace(err)
          ? `no room for the ${this.file} reserve yet`
          : `making the ${this.file} reserve failed`,
      );
    }
  }

  private async release(): Promise<void> {
    await this.fs.unlink(this.path);
    this.heldBytes = 0;
  }
}
