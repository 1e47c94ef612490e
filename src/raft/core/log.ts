import { invariant } from '../../errors/index.js';
import type { Entry, LogReadError, RaftLogStorage, Snapshot } from './types.js';

export function entrySizeBytes(e: Entry): number {
  // A fixed overhead for term/index/type keeps empty entries from being "free" in byte limits.
  return e.data.byteLength + 24;
}

/** Takes a prefix of `ents` no larger than `maxBytes`, but always at least one entry. */
export function limitSize(ents: readonly Entry[], maxBytes: number): readonly Entry[] {
  if (ents.length <= 1) return ents;
  let size = entrySizeBytes(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySizeBytes(ents[n]!);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * Entries (and possibly a snapshot) that the core has accepted but the driver has not yet made durable.
 * `offset` is the index of `entries[0]`; everything below it is in storage.
 */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i)
        return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]?.term;
  }

  /** The driver persisted everything up to (index, term): drop it from the unstable tail. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    // A term mismatch means the tail was replaced after the Ready was taken; keep the newer entries.
    if (t === term && index >= this.offset) {
      this.entries = this.entries.slice(index + 1 - this.offset);
      this.offset = index + 1;
    }
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  restore(snap: Snapshot): void {
    this.offset = snap.metadata.index + 1;
    this.entries = [];
    this.snapshot = snap;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      this.entries.push(...ents);
    } else if (after <= this.offset) {
      // Replaces the whole unstable tail (and shadows storage from `after` on).
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = [...this.entries.slice(0, after - this.offset), ...ents];
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

/** The Raft log as the core sees it: durable storage plus the unstable tail, with commit and apply marks. */
export class RaftLog {
  readonly storage: RaftLogStorage;
  readonly unstable: Unstable;
  committed: number;
  applied: number;
  private readonly maxCommittedSizeBytes: number;

  constructor(storage: RaftLogStorage, maxCommittedSizeBytes: number) {
    this.storage = storage;
    this.maxCommittedSizeBytes = maxCommittedSizeBytes;
    this.unstable = new Unstable(storage.lastIndex() + 1);
    // Storage may keep entries below its snapshot (so slow followers can catch up from the log); the
    // state machine starts from the snapshot, so everything up to it counts as committed and applied.
    const start = Math.max(storage.firstIndex() - 1, storage.snapshot().metadata.index);
    this.committed = start;
    this.applied = start;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term of entry i; `compacted` below the snapshot, 0 past the end. */
  term(i: number): number | LogReadError {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) return 'compacted';
    if (i > this.lastIndex()) return 0;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  termOrZero(i: number): number {
    const t = this.term(i);
    return typeof t === 'number' ? t : 0;
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    invariant(typeof t === 'number', 'the last log entry must have a readable term');
    return t;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** §5.4.1: the candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries: returns the new last index when (index, logTerm) matches, else
   * undefined. Only entries that conflict are replaced; a stale retransmit never truncates the log.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(ci > this.committed, () => `entry ${ci} conflicts with committed entry ${this.committed}`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    invariant(
      after >= this.committed,
      () => `append after ${after} would overwrite commit ${this.committed}`,
    );
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry that is new or conflicts with ours; 0 when all are already present. */
  private findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast backoff: the largest index <= `index` whose term is <= `term`. The leader can skip every entry
   * of a term the follower never saw, instead of probing one index per round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (typeof t !== 'number') return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  nextCommittedEntries(): readonly Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    const ents = this.slice(lo, this.committed + 1, this.maxCommittedSizeBytes);
    // The whole un-applied log is kept in memory by contract, so this read cannot fail.
    invariant(
      typeof ents !== 'string',
      () => `committed entries ${lo}..${this.committed} unreadable: ${ents}`,
    );
    return ents;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** The snapshot a follower behind the first entry gets (RaftLogStorage.catchUpSnapshot). */
  catchUpSnapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.catchUpSnapshot?.() ?? this.storage.snapshot();
  }

  commitTo(toCommit: number): void {
    if (toCommit <= this.committed) return;
    invariant(
      toCommit <= this.lastIndex(),
      () => `commit ${toCommit} is past the last index ${this.lastIndex()} (log lost or corrupt?)`,
    );
    this.committed = toCommit;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    invariant(
      i <= this.committed && i >= this.applied,
      () => `applied ${i} outside [${this.applied}, ${this.committed}]`,
    );
    this.applied = i;
  }

  maybeCommit(maxIndex: number, term: number): boolean {
    // §5.4.2: only an entry from the leader's current term is committed by counting replicas.
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(snap: Snapshot): void {
    this.committed = snap.metadata.index;
    this.unstable.restore(snap);
  }

  /** Entries [lo, hi) limited to maxBytes, from storage then the unstable tail. */
  slice(lo: number, hi: number, maxBytes: number): readonly Entry[] | LogReadError {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return 'compacted';
    invariant(hi <= this.lastIndex() + 1, () => `slice [${lo}, ${hi}) past last index ${this.lastIndex()}`);
    let ents: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      const stored = this.storage.entries(lo, Math.min(hi, offset), maxBytes);
      if (typeof stored === 'string') return stored;
      // A short read (byte limit, or the tail only on disk): return what we have.
      if (stored.length < Math.min(hi, offset) - lo) return stored;
      ents = [...stored];
    }
    if (hi > offset) {
      ents.push(...this.unstable.slice(Math.max(lo, offset), hi));
    }
    return limitSize(ents, maxBytes);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }
}
