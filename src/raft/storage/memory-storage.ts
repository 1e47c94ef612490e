import { invariant } from '../../errors/index.js';
import { limitSize } from '../core/log.js';
import { bootstrapEntries } from '../core/quorum.js';
import {
  type ConfState,
  EMPTY_HARD_STATE,
  EMPTY_SNAPSHOT,
  type Entry,
  type HardState,
  type LogReadError,
  NONE,
  type NodeId,
  type Snapshot,
} from '../core/types.js';
import type { RaftStorage, StorageUpdate } from './types.js';

/**
 * The durable log as an in-memory array: the read view the core replicates from, and the whole store in
 * tests and the simulator. `LevelRaftStorage` keeps one of these as its cache.
 *
 * `entries[0]` is a sentinel at the snapshot's index and term, so `term(firstIndex - 1)` always answers.
 */
export class MemoryRaftStorage implements RaftStorage {
  private hard: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  private ents: Entry[];

  /** An empty store: a node that will join an existing group (the leader sends it the log). */
  constructor() {
    this.snap = EMPTY_SNAPSHOT;
    this.ents = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }];
  }

  /** A founding member of a new group: the committed bootstrap entries that name the voters. */
  static bootstrap(voters: readonly NodeId[]): MemoryRaftStorage {
    const s = new MemoryRaftStorage();
    const ents = bootstrapEntries(voters);
    s.append(ents);
    s.setHardState({ term: 1, vote: NONE, commit: ents.length });
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hard, confState: this.snap.metadata.confState };
  }

  hardState(): HardState {
    return this.hard;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  term(index: number): number | LogReadError {
    const offset = this.ents[0]!.index;
    if (index < offset) return 'compacted';
    const e = this.ents[index - offset];
    invariant(e !== undefined, () => `term(${index}) past the last index ${this.lastIndex()}`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | LogReadError {
    const offset = this.ents[0]!.index;
    if (lo <= offset) return 'compacted';
    invariant(
      hi <= this.lastIndex() + 1,
      () => `entries [${lo}, ${hi}) past the last index ${this.lastIndex()}`,
    );
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  save(update: StorageUpdate): void {
    if (update.snapshot !== undefined) this.applySnapshot(update.snapshot);
    this.append(update.entries);
    if (update.hardState !== undefined) this.setHardState(update.hardState);
  }

  saveSnapshot(snapshot: Snapshot, compactTo: number): void {
    const m = snapshot.metadata;
    if (m.index > this.snap.metadata.index) this.createSnapshot(m.index, m.confState, snapshot.data);
    this.compact(Math.min(compactTo, this.snap.metadata.index));
  }

  close(): void {}

  /** An independent copy (the simulator restarts a node from a copy of its durable image). */
  clone(): MemoryRaftStorage {
    const c = new MemoryRaftStorage();
    c.hard = this.hard;
    c.snap = this.snap;
    c.ents = [...this.ents];
    return c;
  }

  /** All entries still held (for the simulator's checks and tests). */
  allEntries(): readonly Entry[] {
    return this.ents.slice(1);
  }

  setHardState(hs: HardState): void {
    this.hard = hs;
  }

  /** Appends, replacing any suffix the new entries conflict with (the core already decided they win). */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.ents[0]!.index;
    // Entries already folded into the snapshot are dropped.
    const usable = first.index <= offset ? entries.slice(offset + 1 - first.index) : entries;
    const head = usable[0];
    if (head === undefined) return;
    invariant(
      head.index <= this.lastIndex() + 1,
      () => `append at ${head.index} leaves a gap after last index ${this.lastIndex()}`,
    );
    // Truncate in place and push: appends are the hot path and must not copy the whole log.
    this.ents.length = head.index - offset;
    for (const e of usable) this.ents.push(e);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) return;
    this.snap = snap;
    this.ents = [
      { term: snap.metadata.term, index: snap.metadata.index, type: 'normal', data: new Uint8Array(0) },
    ];
  }

  /** Records a snapshot the local state machine took at `index` (<= applied) without dropping entries. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    invariant(
      index > this.snap.metadata.index,
      () => `snapshot ${index} is not newer than ${this.snap.metadata.index}`,
    );
    invariant(index <= this.lastIndex(), () => `snapshot ${index} past the last index ${this.lastIndex()}`);
    const term = this.term(index);
    invariant(typeof term === 'number', 'snapshot index must be readable');
    this.snap = { metadata: { index, term, confState }, data };
    return this.snap;
  }

  /** Drops entries up to `index`, which must be covered by the snapshot. */
  compact(index: number): void {
    const offset = this.ents[0]!.index;
    if (index <= offset) return;
    invariant(
      index <= this.snap.metadata.index,
      () => `compact ${index} past the snapshot ${this.snap.metadata.index}`,
    );
    const e = this.ents[index - offset]!;
    this.ents = [
      { term: e.term, index: e.index, type: 'normal', data: new Uint8Array(0) },
      ...this.ents.slice(index - offset + 1),
    ];
  }
}
