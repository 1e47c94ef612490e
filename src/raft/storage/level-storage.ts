import { Level } from 'level';
import { invariant, StreamBusError, toStreamBusError } from '../../errors/index.js';
import { diskCodec } from '../codec.js';
import type { ConfState, Entry, HardState, LogReadError, NodeId, Snapshot } from '../core/types.js';
import { MemoryRaftStorage } from './memory-storage.js';
import type { RaftStorage, StorageUpdate } from './types.js';

/**
 * Key layout (one level db per Raft group):
 *   h             hard state
 *   s             latest snapshot (metadata + state machine bytes)
 *   e<16 hex>     entry at that index; hex keeps lexicographic order equal to numeric order
 */
const HARD_KEY = 'h';
const SNAP_KEY = 's';
const entryKey = (index: number): string => `e${index.toString(16).padStart(16, '0')}`;

type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/**
 * Durable Raft state on `level` (the metadata group's store). Every `save` is one atomic batch, written
 * with `sync: true` when the Ready requires it, so the hard state and entries reach the disk before any
 * vote or append response leaves the node. The whole un-compacted log is also cached in memory (a
 * `MemoryRaftStorage`) so the core reads it synchronously; the cache is updated only after the batch
 * resolves.
 */
export class LevelRaftStorage implements RaftStorage {
  private constructor(
    private readonly db: Level<string, Uint8Array>,
    private readonly cache: MemoryRaftStorage,
  ) {}

  /**
   * Opens (or creates) the store at `path`. `bootstrapVoters` seeds a brand-new founding member; it is
   * ignored when the store already holds state.
   */
  static async open(path: string, bootstrapVoters?: readonly NodeId[]): Promise<LevelRaftStorage> {
    const db = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
      const cache = await LevelRaftStorage.load(db);
      const store = new LevelRaftStorage(db, cache);
      const empty = cache.lastIndex() === 0 && cache.hardState().term === 0;
      if (empty && bootstrapVoters !== undefined && bootstrapVoters.length > 0) {
        const boot = MemoryRaftStorage.bootstrap(bootstrapVoters);
        await store.save({ entries: boot.allEntries(), hardState: boot.hardState() }, true);
      }
      return store;
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err instanceof StreamBusError ? err : toStreamBusError(err, 'raft.storage.open');
    }
  }

  private static async load(db: Level<string, Uint8Array>): Promise<MemoryRaftStorage> {
    const cache = new MemoryRaftStorage();
    const snapBytes = await db.get(SNAP_KEY);
    if (snapBytes !== undefined) cache.applySnapshot(diskCodec.decodeSnapshot(snapBytes));
    const entries: Entry[] = [];
    const stale: string[] = [];
    let expected = cache.snapshot().metadata.index + 1;
    for await (const [key, value] of db.iterator({ gt: 'e', lt: 'f' })) {
      const e = diskCodec.decodeEntry(value);
      if (key !== entryKey(e.index)) {
        throw new StreamBusError('CORRUPT_LOG', {
          message: `raft entry under key ${key} claims index ${e.index}`,
        });
      }
      // Entries at or below the snapshot were kept for slow followers (or a compaction raced a crash);
      // the in-memory view starts at the snapshot, so drop them.
      if (e.index < expected) {
        stale.push(key);
        continue;
      }
      if (e.index !== expected) {
        throw new StreamBusError('CORRUPT_LOG', {
          message: `raft log gap: expected ${expected}, found ${e.index}`,
        });
      }
      entries.push(e);
      expected++;
    }
    cache.append(entries);
    if (stale.length > 0) await db.batch(stale.map((key) => ({ type: 'del' as const, key })));
    const hardBytes = await db.get(HARD_KEY);
    if (hardBytes !== undefined) {
      const hs = diskCodec.decodeHardState(hardBytes);
      if (hs.commit > cache.lastIndex()) {
        throw new StreamBusError('CORRUPT_LOG', {
          message: `raft commit ${hs.commit} is past the last stored entry ${cache.lastIndex()}`,
        });
      }
      cache.setHardState(hs);
    }
    return cache;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.cache.initialState();
  }

  firstIndex(): number {
    return this.cache.firstIndex();
  }

  lastIndex(): number {
    return this.cache.lastIndex();
  }

  term(index: number): number | LogReadError {
    return this.cache.term(index);
  }

  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | LogReadError {
    return this.cache.entries(lo, hi, maxBytes);
  }

  snapshot(): Snapshot {
    return this.cache.snapshot();
  }

  hardState(): HardState {
    return this.cache.hardState();
  }

  async save(update: StorageUpdate, sync: boolean): Promise<void> {
    const ops: BatchOp[] = [];
    let lastBefore = this.cache.lastIndex();
    if (
      update.snapshot !== undefined &&
      update.snapshot.metadata.index > this.cache.snapshot().metadata.index
    ) {
      ops.push({ type: 'put', key: SNAP_KEY, value: diskCodec.encodeSnapshot(update.snapshot) });
      // The snapshot replaces the whole log.
      for (let i = this.cache.firstIndex(); i <= lastBefore; i++) ops.push({ type: 'del', key: entryKey(i) });
      lastBefore = update.snapshot.metadata.index;
    }
    const first = update.entries[0];
    // Check before writing: a gap must never reach the disk (the cache would refuse it afterwards).
    invariant(
      first === undefined || first.index <= lastBefore + 1,
      () => `append at ${first?.index} leaves a gap after last index ${lastBefore}`,
    );
    if (first !== undefined) {
      for (const e of update.entries)
        ops.push({ type: 'put', key: entryKey(e.index), value: diskCodec.encodeEntry(e) });
      // A conflicting append truncates the old suffix past the new entries.
      const lastNew = first.index + update.entries.length - 1;
      for (let i = lastNew + 1; i <= lastBefore; i++) ops.push({ type: 'del', key: entryKey(i) });
    }
    if (update.hardState !== undefined) {
      ops.push({ type: 'put', key: HARD_KEY, value: diskCodec.encodeHardState(update.hardState) });
    }
    if (ops.length === 0) return;
    try {
      await this.db.batch(ops, { sync });
    } catch (err) {
      throw toStreamBusError(err, 'raft.storage.save');
    }
    this.cache.save(update);
  }

  async saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void> {
    const ops: BatchOp[] = [];
    const snapIndex = Math.max(snapshot.metadata.index, this.cache.snapshot().metadata.index);
    if (snapshot.metadata.index > this.cache.snapshot().metadata.index) {
      ops.push({ type: 'put', key: SNAP_KEY, value: diskCodec.encodeSnapshot(snapshot) });
    }
    const upTo = Math.min(compactTo, snapIndex);
    for (let i = this.cache.firstIndex(); i <= upTo; i++) ops.push({ type: 'del', key: entryKey(i) });
    if (ops.length === 0) return;
    try {
      await this.db.batch(ops, { sync: true });
    } catch (err) {
      throw toStreamBusError(err, 'raft.storage.snapshot');
    }
    this.cache.saveSnapshot(snapshot, compactTo);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
