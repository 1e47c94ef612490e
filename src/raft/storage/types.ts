import type { Entry, HardState, RaftLogStorage, Snapshot } from '../core/types.js';

/** One Ready's worth of durable state, written atomically. */
export interface StorageUpdate {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: it replaces the log. */
  readonly snapshot?: Snapshot;
}

/**
 * The write side of a Raft log store, used only by the driver. The core reads through the
 * `RaftLogStorage` view, which must reflect a write once `save` has resolved (never before: the core
 * must not replicate what is not durable).
 */
export interface RaftStorage extends RaftLogStorage {
  /**
   * Persists an update. With `sync` the promise resolves only once the bytes are on stable storage:
   * the driver sends votes and append responses only after that.
   */
  save(update: StorageUpdate, sync: boolean): Promise<void> | void;
  /** Records a local snapshot at `snapshot.metadata.index` and drops entries up to `compactTo`. */
  saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void> | void;
  /**
   * True when the store wants a snapshot at `applied` before the interval is up: a partition's log keeps
   * one near the start of each segment for followers behind its first entry (catchUpSnapshot).
   */
  wantsSnapshot?(applied: number): boolean;
  close(): Promise<void> | void;
}
