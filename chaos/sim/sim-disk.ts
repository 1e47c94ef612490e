import type { Entry, HardState, Snapshot } from '../../src/raft/core/index.js';
import type { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';

/** One persist step of a Ready, or a local snapshot + compaction. */
export interface SimWrite {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly localSnapshot?: Snapshot;
  readonly compactTo?: number;
}

export function applyWrite(store: MemoryRaftStorage, w: SimWrite): void {
  if (w.snapshot !== undefined) store.applySnapshot(w.snapshot);
  if (w.entries.length > 0) store.append(w.entries);
  if (w.hardState !== undefined) store.setHardState(w.hardState);
  if (w.localSnapshot !== undefined) {
    const m = w.localSnapshot.metadata;
    if (m.index > store.snapshot().metadata.index)
      store.createSnapshot(m.index, m.confState, w.localSnapshot.data);
  }
  if (w.compactTo !== undefined) store.compact(w.compactTo);
}

/**
 * A disk with a page cache: writes without fsync sit in `unsynced` and a crash may lose any suffix of
 * them; an fsync makes everything before it durable. A crash in the middle of a write can tear it: a
 * prefix of its entries reaches the platter, the hard state only if every entry did.
 */
export class SimDisk {
  readonly durable: MemoryRaftStorage;
  private unsynced: SimWrite[] = [];

  constructor(bootstrap: MemoryRaftStorage) {
    this.durable = bootstrap;
  }

  write(w: SimWrite, sync: boolean): void {
    if (!sync) {
      this.unsynced.push(w);
      return;
    }
    for (const u of this.unsynced) applyWrite(this.durable, u);
    this.unsynced = [];
    applyWrite(this.durable, w);
  }

  /** Power loss: the OS may have flushed a prefix of the unsynced writes; `torn` was being written. */
  crash(random: () => number, torn?: SimWrite): void {
    const flushed = Math.floor(random() * (this.unsynced.length + 1));
    for (const u of this.unsynced.slice(0, flushed)) applyWrite(this.durable, u);
    const allFlushed = flushed === this.unsynced.length;
    this.unsynced = [];
    if (torn === undefined || !allFlushed) return;
    const keep = Math.floor(random() * (torn.entries.length + 1));
    const complete = keep === torn.entries.length;
    const partial: SimWrite = {
      entries: torn.entries.slice(0, keep),
      ...(complete && torn.hardState !== undefined ? { hardState: torn.hardState } : {}),
      ...(torn.snapshot !== undefined && random() < 0.5 ? { snapshot: torn.snapshot } : {}),
    };
    if (partial.snapshot === undefined && torn.snapshot !== undefined) return;
    applyWrite(this.durable, partial);
  }
}

/** The replicated state machine: a hash chain over applied entries, so equal chains mean equal histories. */
export class SimStateMachine {
  applied = 0;
  chain = 0x811c9dc5;

  apply(e: Entry): void {
    let h = this.chain;
    h = Math.imul(h ^ e.index, 0x01000193) >>> 0;
    h = Math.imul(h ^ e.term, 0x01000193) >>> 0;
    h = Math.imul(h ^ (e.type === 'normal' ? 1 : 2), 0x01000193) >>> 0;
    for (const b of e.data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    this.chain = h;
    this.applied = e.index;
  }

  snapshotData(): Uint8Array {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.chain);
    return out;
  }

  restore(snap: Snapshot): void {
    this.applied = snap.metadata.index;
    this.chain =
      snap.data.byteLength === 4
        ? new DataView(snap.data.buffer, snap.data.byteOffset, 4).getUint32(0)
        : 0x811c9dc5;
  }
}
