/**
 * The file-system surface storage needs, as a small interface so tests can inject failures (ENOSPC on write
 * or fsync) and count fsyncs. `nodeStorageFs` is the real one; everything is `fs.promises`, so the event loop
 * never blocks on disk.
 */
import { constants, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { DirectWriteFile } from './direct-write-file.js';

export interface StorageFile {
  /**
   * Writes are durable when they complete (opened O_DSYNC): a write and its fdatasync in one system call
   * and one thread-pool round trip instead of two. Segments under flush_policy 'always' are opened so.
   */
  readonly durableWrites?: boolean;
  /** Writes every byte of `buffers` at `position` (looping over short writes). */
  writev(buffers: readonly Buffer[], position: number): Promise<void>;
  /** Reads up to `length` bytes into `buffer[offset..]` from `position`; returns the bytes read. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
  /**
   * Files opened with `directWrites`: while on, writes go around the OS page cache (direct-write-file.ts), or
   * through it where the file system refuses direct I/O. Absent on other files.
   */
  bypassPageCache?(on: boolean): void;
  /** Such files also take writes that stay in the page cache while bypassing it (DirectWriteFile). */
  writevCached?(buffers: readonly Buffer[], position: number): Promise<void>;
}

export interface StorageFs {
  /** `create` fails if the file exists; `open` fails if it does not. Both open for read and write. */
  openFile(path: string, mode: 'create' | 'open', options?: OpenFileOptions): Promise<StorageFile>;
  readdir(dir: string): Promise<string[]>;
  mkdirp(dir: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  unlink(path: string): Promise<void>;
  /** Removes a folder and everything in it; a missing folder is not an error. */
  rmrf(dir: string): Promise<void>;
  /** The file's bytes, or null when it does not exist. */
  readFile(path: string): Promise<Buffer | null>;
  /**
   * Replaces `path` atomically and durably: temp file, fsync, rename, fsync of the folder. A failed write
   * removes its temp file.
   */
  writeFileAtomic(path: string, data: Buffer): Promise<void>;
  /** Creates `path` with `data` only if it does not exist yet; returns false when it already exists. */
  writeFileExclusive(path: string, data: Buffer): Promise<boolean>;
  /** Renames a file (replacing `to` if it exists); the caller syncs the folder to make it durable. */
  rename(from: string, to: string): Promise<void>;
  syncDir(dir: string): Promise<void>;
  statfs(path: string): Promise<{ freeBytes: number; totalBytes: number }>;
}

export interface OpenFileOptions {
  /** Open O_DSYNC: every write is durable when it returns (see StorageFile.durableWrites). */
  durableWrites?: boolean;
  /**
   * With durableWrites: writes can bypass the page cache (StorageFile.bypassPageCache, off until turned on),
   * through an O_DIRECT descriptor opened at the first such write.
   */
  directWrites?: boolean;
  /** Told when the file system refuses direct I/O, at open or at a write (the file then uses the cache). */
  onDirectRefused?: (err: unknown) => void;
}

const IOV_MAX = 1024;

class NodeStorageFile implements StorageFile {
  constructor(
    private readonly handle: fsp.FileHandle,
    readonly durableWrites: boolean,
  ) {}

  async writev(buffers: readonly Buffer[], position: number): Promise<void> {
    let pending = buffers.filter((b) => b.length > 0);
    while (pending.length > 0) {
      const chunk = pending.length > IOV_MAX ? pending.slice(0, IOV_MAX) : pending;
      const { bytesWritten } =
        chunk.length === 1
          ? await this.handle.write(chunk[0]!, 0, chunk[0]!.length, position)
          : await this.handle.writev(chunk, position);
      position += bytesWritten;
      // Drop what was written, keeping the unwritten tail of a partially written buffer.
      let skip = bytesWritten;
      let i = 0;
      const rest: Buffer[] = [];
      for (; i < pending.length; i++) {
        const b = pending[i]!;
        if (skip >= b.length) {
          skip -= b.length;
          continue;
        }
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
      if (bytesWritten === 0 && rest.length > 0) {
        throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      }
      pending = rest;
    }
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    let total = 0;
    while (total < length) {
      const { bytesRead } = await this.handle.read(buffer, offset + total, length - total, position + total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function isCode(err: unknown, code: string): boolean {
  return (err as { code?: unknown } | null)?.code === code;
}

export const nodeStorageFs: StorageFs = {
  async openFile(path, mode, options = {}) {
    const durable = options.durableWrites === true;
    const flags =
      (mode === 'create' ? constants.O_RDWR | constants.O_CREAT | constants.O_EXCL : constants.O_RDWR) |
      (durable ? constants.O_DSYNC : 0);
    const file = new NodeStorageFile(await fsp.open(path, flags, 0o644), durable);
    if (!durable || options.directWrites !== true) return file;
    return new DirectWriteFile(
      file,
      () => fsp.open(path, constants.O_WRONLY | constants.O_DSYNC | constants.O_DIRECT),
      options.onDirectRefused === undefined ? {} : { onRefused: options.onDirectRefused },
    );
  },
  readdir: (dir) => fsp.readdir(dir),
  async mkdirp(dir) {
    await fsp.mkdir(dir, { recursive: true });
  },
  async unlink(path) {
    try {
      await fsp.unlink(path);
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
  },
  rmrf: (dir) => fsp.rm(dir, { recursive: true, force: true }),
  async readFile(path) {
    try {
      return await fsp.readFile(path);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return null;
      throw err;
    }
  },
  async writeFileAtomic(path, data) {
    const tmp = `${path}.tmp`;
    const handle = await fsp.open(tmp, 'w', 0o644);
    try {
      try {
        await handle.writeFile(data);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, path);
    } catch (err) {
      // A temp file left by a failed write (a full disk) holds nothing anyone reads: do not leave it behind.
      await nodeStorageFs.unlink(tmp);
      throw err;
    }
    await nodeStorageFs.syncDir(dirname(path));
  },
  async writeFileExclusive(path, data) {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'wx', 0o644);
    } catch (err) {
      if (isCode(err, 'EEXIST')) return false;
      throw err;
    }
    try {
      await handle.writeFile(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    return true;
  },
  rename: (from, to) => fsp.rename(from, to),
  async syncDir(dir) {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async statfs(path) {
    const s = await fsp.statfs(path);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  },
};
