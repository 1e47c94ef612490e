/**
 * An in-memory `StorageFs` with a page-cache model, for crash simulation of the segment-log store.
 *
 * Files: every file (inode) has durable bytes and a queue of unsynced operations (writes and truncates, in
 * the order they were made); readers see the durable bytes with the queue applied. `datasync()` makes that
 * file's queue durable. `writeFileAtomic` and `writeFileExclusive` write durable contents.
 *
 * Directory entries (create, unlink, rename) are queued too, in one ordered journal for the whole file
 * system: `syncDir` and `writeFileAtomic` (which ends with a folder fsync) commit the journal. With
 * `dirModel: 'journaled'` (the default, like ext4's ordered metadata journal) any `datasync` also commits
 * it; with 'strict' (POSIX) only a folder fsync does.
 *
 * `crash(random)` is power loss: the journal keeps a random prefix of its entries; then every file that
 * survives keeps a random prefix of its unsynced operations, and the next one may be torn (a random prefix
 * of its bytes). Everything else is lost, and handles opened before the crash fail from then on.
 * `armCrash(n)` makes the n-th next mutating operation the moment power is lost: it is queued (so it can be
 * torn) and throws `SimPowerLoss`; so does every operation until `crash` is called.
 */
import { DirectWriteFile } from '../../../src/storage/direct-write-file.js';
import type { OpenFileOptions, StorageFile, StorageFs } from '../../../src/storage/storage-fs.js';

export class SimPowerLoss extends Error {
  readonly code = 'ESIMPOWERLOSS';
  constructor(operation: string) {
    super(`simulated power loss during ${operation}`);
  }
}

export function isSimPowerLoss(err: unknown): boolean {
  for (let e: unknown = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    if (e instanceof SimPowerLoss) return true;
  }
  return false;
}

type FileOp =
  | { readonly kind: 'write'; readonly position: number; readonly data: Buffer }
  | { readonly kind: 'truncate'; readonly length: number };

type DirOp =
  | { readonly kind: 'link'; readonly path: string; readonly inode: Inode }
  | { readonly kind: 'unlink'; readonly path: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string; readonly inode: Inode };

class Inode {
  durable: Buffer;
  current: Buffer;
  pending: FileOp[] = [];

  constructor(contents: Buffer) {
    this.durable = contents;
    this.current = contents;
  }

  sync(): void {
    this.durable = this.current;
    this.pending = [];
  }
}

function applyOp(buf: Buffer, op: FileOp): Buffer {
  if (op.kind === 'truncate') {
    if (op.length <= buf.length) return buf.subarray(0, op.length);
    return Buffer.concat([buf, Buffer.alloc(op.length - buf.length)]);
  }
  const end = op.position + op.data.length;
  const out = Buffer.alloc(Math.max(buf.length, end));
  buf.copy(out, 0);
  op.data.copy(out, op.position);
  return out;
}

function tearPrefix(buf: Buffer, w: { position: number; data: Buffer }, random: () => number): Buffer {
  const bytes = 1 + Math.floor(random() * (w.data.length - 1));
  return applyOp(buf, { kind: 'write', position: w.position, data: w.data.subarray(0, bytes) });
}

const SECTOR_BYTES = 512;

/** Each 512-byte sector (aligned in the file) of the write lands or not, independently. */
function tearSectors(buf: Buffer, w: { position: number; data: Buffer }, random: () => number): Buffer {
  let out = buf;
  const end = w.position + w.data.length;
  for (let at = w.position; at < end; ) {
    const next = Math.min(end, (Math.floor(at / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    // A sector that did not land past the old end reads as zeros if a later one extends the file.
    if (random() < 0.5)
      out = applyOp(out, {
        kind: 'write',
        position: at,
        data: w.data.subarray(at - w.position, next - w.position),
      });
    at = next;
  }
  return out;
}

export interface SimStorageFsOptions {
  readonly dirModel?: 'journaled' | 'strict';
  /**
   * How a write interrupted by power loss reaches the disk: 'prefix' (default) keeps a random prefix of its
   * bytes; 'sectors' keeps a random subset of its 512-byte sectors (drives and the page cache do not order
   * the sectors of one write), so a later part can survive without an earlier one.
   */
  readonly tearModel?: 'prefix' | 'sectors';
  /** Sabotage for checker tests: a file's `datasync` returns without making anything durable. */
  readonly ignoreFsync?: boolean;
}

export interface SimFsStats {
  datasyncs: number;
  crashes: number;
  tornWrites: number;
  lostOps: number;
}

export class SimStorageFs implements StorageFs {
  private names = new Map<string, Inode>();
  private durableNames = new Map<string, Inode>();
  private journal: DirOp[] = [];
  private readonly dirs = new Set<string>();
  private generation = 0;
  private armed = 0;
  private down = false;
  readonly stats: SimFsStats = { datasyncs: 0, crashes: 0, tornWrites: 0, lostOps: 0 };

  constructor(private readonly options: SimStorageFsOptions = {}) {}

  /** The `n`-th next mutating operation (1 = the next one) loses power part-way. 0 disarms. */
  armCrash(n: number): void {
    this.armed = n;
  }

  get poweredOff(): boolean {
    return this.down;
  }

  /** Counts a mutating operation; throws once power is lost. `queue` runs first so the op can be torn. */
  private mutate(operation: string, queue?: () => void): void {
    if (this.down) throw new SimPowerLoss(operation);
    if (this.armed > 0 && --this.armed === 0) {
      this.down = true;
      queue?.();
      throw new SimPowerLoss(operation);
    }
  }

  private checkAlive(operation: string, generation: number): void {
    if (this.down || generation !== this.generation) throw new SimPowerLoss(operation);
  }

  private commitJournal(): void {
    for (const op of this.journal) {
      if (op.kind === 'link') this.durableNames.set(op.path, op.inode);
      else if (op.kind === 'unlink') this.durableNames.delete(op.path);
      else {
        // Atomic, as rename(2): a crash leaves the old name or the new one, never both or neither.
        this.durableNames.delete(op.from);
        this.durableNames.set(op.to, op.inode);
      }
    }
    this.journal = [];
  }

  /** What a file's data sync does: its queue durable, and (journaled model) the directory journal too. */
  private makeDurable(inode: Inode): void {
    if (this.options.ignoreFsync === true) return;
    inode.sync();
    if (this.options.dirModel !== 'strict') this.commitJournal();
  }

  private link(path: string, inode: Inode): void {
    this.names.set(path, inode);
    this.journal.push({ kind: 'link', path, inode });
  }

  /** `durableWrites`: opened O_DSYNC, so a write that completes is durable, like a write and its datasync. */
  private handle(inode: Inode, path: string, durableWrites: boolean): StorageFile {
    const generation = this.generation;
    const fs = this;
    return {
      durableWrites,
      async writev(buffers, position) {
        fs.checkAlive(`writev ${path}`, generation);
        const op: FileOp = {
          kind: 'write',
          position,
          data: Buffer.concat(buffers.map((b) => Buffer.from(b))),
        };
        const queue = () => {
          inode.pending.push(op);
          inode.current = applyOp(inode.current, op);
        };
        fs.mutate(`writev ${path}`, queue);
        queue();
        if (durableWrites) fs.makeDurable(inode);
      },
      async read(buffer, offset, length, position) {
        fs.checkAlive(`read ${path}`, generation);
        const src = inode.current;
        if (position >= src.length) return 0;
        const n = Math.min(length, src.length - position);
        src.copy(buffer, offset, position, position + n);
        return n;
      },
      async datasync() {
        fs.checkAlive(`datasync ${path}`, generation);
        fs.mutate(`datasync ${path}`);
        fs.stats.datasyncs++;
        fs.makeDurable(inode);
      },
      async truncate(length) {
        fs.checkAlive(`truncate ${path}`, generation);
        const op: FileOp = { kind: 'truncate', length };
        const queue = () => {
          inode.pending.push(op);
          inode.current = applyOp(inode.current, op);
        };
        fs.mutate(`truncate ${path}`, queue);
        queue();
      },
      async size() {
        fs.checkAlive(`size ${path}`, generation);
        return inode.current.length;
      },
      async close() {},
    };
  }

  async openFile(path: string, mode: 'create' | 'open', options: OpenFileOptions = {}): Promise<StorageFile> {
    const durable = options.durableWrites === true;
    const file = await this.openHandle(path, mode, durable);
    if (!durable || options.directWrites !== true) return file;
    // Direct writes are durable writes of whole blocks: the production block logic over this file's writes,
    // for writes of every size (production bypasses for large ones only; the simulator's are small).
    const handle = {
      write: async (buffer: Buffer, offset: number, length: number, position: number) => {
        await file.writev([buffer.subarray(offset, offset + length)], position);
        return { bytesWritten: length };
      },
      close: async () => {},
    };
    return new DirectWriteFile(file, async () => handle, { minBytes: 0 });
  }

  private async openHandle(path: string, mode: 'create' | 'open', durable: boolean): Promise<StorageFile> {
    const existing = this.names.get(path);
    if (mode === 'open') {
      if (this.down) throw new SimPowerLoss(`open ${path}`);
      if (existing === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return this.handle(existing, path, durable);
    }
    if (existing !== undefined) throw Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' });
    const inode = new Inode(Buffer.alloc(0));
    this.mutate(`create ${path}`, () => this.link(path, inode));
    this.link(path, inode);
    return this.handle(inode, path, durable);
  }

  async readdir(dir: string): Promise<string[]> {
    if (this.down) throw new SimPowerLoss(`readdir ${dir}`);
    const prefix = `${dir}/`;
    return [...this.names.keys()]
      .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map((p) => p.slice(prefix.length))
      .sort();
  }

  async mkdirp(dir: string): Promise<void> {
    // Folders are modelled as always durable: the simulation creates each node's folder once.
    this.dirs.add(dir);
  }

  async unlink(path: string): Promise<void> {
    const run = () => {
      if (!this.names.delete(path)) return;
      this.journal.push({ kind: 'unlink', path });
    };
    this.mutate(`unlink ${path}`, run);
    run();
  }

  async rename(from: string, to: string): Promise<void> {
    const inode = this.names.get(from);
    if (this.down) throw new SimPowerLoss(`rename ${from}`);
    if (inode === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
    const run = () => {
      this.names.delete(from);
      this.names.set(to, inode);
      this.journal.push({ kind: 'rename', from, to, inode });
    };
    this.mutate(`rename ${from}`, run);
    run();
  }

  async rmrf(dir: string): Promise<void> {
    for (const p of [...this.names.keys()]) if (p.startsWith(`${dir}/`)) await this.unlink(p);
    this.dirs.delete(dir);
  }

  async readFile(path: string): Promise<Buffer | null> {
    if (this.down) throw new SimPowerLoss(`readFile ${path}`);
    const inode = this.names.get(path);
    return inode === undefined ? null : Buffer.from(inode.current);
  }

  async writeFileAtomic(path: string, data: Buffer): Promise<void> {
    // Interrupted before the rename: only the temp file's creation is journaled, the target is untouched.
    this.mutate(`writeFileAtomic ${path}`, () => this.link(`${path}.tmp`, new Inode(Buffer.from(data))));
    this.link(path, new Inode(Buffer.from(data)));
    this.commitJournal();
  }

  async writeFileExclusive(path: string, data: Buffer): Promise<boolean> {
    if (this.names.has(path)) return false;
    this.mutate(`writeFileExclusive ${path}`);
    this.link(path, new Inode(Buffer.from(data)));
    return true;
  }

  async syncDir(dir: string): Promise<void> {
    this.mutate(`syncDir ${dir}`);
    this.commitJournal();
  }

  async statfs(_path: string): Promise<{ freeBytes: number; totalBytes: number }> {
    return { freeBytes: 1 << 40, totalBytes: 1 << 40 };
  }

  /** Power loss and reboot: see the file comment. Deterministic given `random`. */
  crash(random: () => number): void {
    this.stats.crashes++;
    const keepDir = Math.floor(random() * (this.journal.length + 1));
    this.stats.lostOps += this.journal.length - keepDir;
    this.journal = this.journal.slice(0, keepDir);
    this.commitJournal();
    const seen = new Set<Inode>();
    for (const path of [...this.durableNames.keys()].sort()) {
      const inode = this.durableNames.get(path)!;
      if (seen.has(inode)) continue;
      seen.add(inode);
      const ops = inode.pending;
      const keep = Math.floor(random() * (ops.length + 1));
      let buf = inode.durable;
      for (const op of ops.slice(0, keep)) buf = applyOp(buf, op);
      const next = ops[keep];
      if (next?.kind === 'write' && next.data.length > 1 && random() < 0.5) {
        buf =
          this.options.tearModel === 'sectors'
            ? tearSectors(buf, next, random)
            : tearPrefix(buf, next, random);
        this.stats.tornWrites++;
      }
      this.stats.lostOps += ops.length - keep;
      inode.durable = buf;
      inode.current = buf;
      inode.pending = [];
    }
    this.names = new Map(this.durableNames);
    this.generation++;
    this.armed = 0;
    this.down = false;
  }

  /** Every visible file and its size (debugging and tests). */
  listing(): { path: string; sizeBytes: number }[] {
    return [...this.names.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([path, inode]) => ({ path, sizeBytes: inode.current.length }));
  }
}
