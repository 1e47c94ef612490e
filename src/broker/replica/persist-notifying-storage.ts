/** A partition's store as the Raft driver sees it, telling the replica which entries each save made durable. */

import type { ConfState, Entry, HardState, LogReadError, Snapshot } from '../../raft/core/types.js';
import type { RaftStorage, StorageUpdate } from '../../raft/storage/types.js';
import type { PartitionStore } from '../../storage/partition-store.js';

export class PersistNotifyingStorage implements RaftStorage {
  constructor(
    private readonly store: PartitionStore,
    private readonly onPersisted: (entries: readonly Entry[]) => void,
  ) {}

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.store.initialState();
  }
  firstIndex(): number {
    return this.store.firstIndex();
  }
  lastIndex(): number {
    return this.store.lastIndex();
  }
  term(index: number): number | LogReadError {
    return this.store.term(index);
  }
  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | LogReadError {
    return this.store.entries(lo, hi, maxBytes);
  }
  snapshot(): Snapshot {
    return this.store.snapshot();
  }
  catchUpSnapshot(): Snapshot {
    return this.store.catchUpSnapshot?.() ?? this.store.snapshot();
  }
  async save(update: StorageUpdate, sync: boolean): Promise<void> {
    await this.store.save(update, sync);
    if (update.entries.length > 0) this.onPersisted(update.entries);
  }
  saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void> | void {
    return this.store.saveSnapshot(snapshot, compactTo);
  }
  wantsSnapshot(applied: number): boolean {
    return this.store.wantsSnapshot?.(applied) ?? false;
  }
  close(): Promise<void> | void {
    // The replica's owner closes the store after the group has left the host.
  }
}
