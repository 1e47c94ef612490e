/**
 * The Raft side of the segment log, in memory: which term each index has (term runs: terms change rarely,
 * so a few runs cover millions of entries) and, per segment, where each Raft index sits (a sparse index of
 * relative index -> byte position, one point per `indexIntervalBytes`, like the offset index).
 */
import { invariant } from '../errors/index.js';

/** Terms of the indexes [start(), last] as runs: run k covers [starts[k], starts[k+1]). */
export class TermRuns {
  private starts: number[];
  private terms: number[];
  private lastIndex: number;

  /** Runs that start with the sentinel (index `prevIndex`, term `prevTerm`): term(firstIndex - 1). */
  constructor(prevIndex: number, prevTerm: number) {
    this.starts = [prevIndex];
    this.terms = [prevTerm];
    this.lastIndex = prevIndex;
  }

  start(): number {
    return this.starts[0]!;
  }

  last(): number {
    return this.lastIndex;
  }

  /** Term of index i in [start(), last()], else undefined. */
  term(i: number): number | undefined {
    if (i < this.starts[0]! || i > this.lastIndex) return undefined;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.terms[lo];
  }

  append(index: number, term: number): void {
    invariant(index === this.lastIndex + 1, () => `term run append at ${index} after ${this.lastIndex}`);
    const lastTerm = this.terms[this.terms.length - 1]!;
    invariant(term >= lastTerm || this.starts.length === 1, () => `term ${term} after term ${lastTerm}`);
    if (term !== lastTerm) {
      this.starts.push(index);
      this.terms.push(term);
    }
    this.lastIndex = index;
  }

  /** Appends the indexes (last(), to] all with `term` (a persisted segment's run). */
  appendRange(to: number, term: number): void {
    if (to <= this.lastIndex) return;
    this.append(this.lastIndex + 1, term);
    this.lastIndex = to;
  }

  /** Term of the last index. */
  lastTerm(): number {
    return this.terms[this.terms.length - 1]!;
  }

  /** Forgets indexes >= i (i > start()). */
  truncateFrom(i: number): void {
    invariant(i > this.starts[0]!, () => `truncate runs at ${i} below the sentinel ${this.starts[0]}`);
    while (this.starts[this.starts.length - 1]! >= i) {
      this.starts.pop();
      this.terms.pop();
    }
    this.lastIndex = Math.min(this.lastIndex, i - 1);
  }

  /** Forgets indexes below `prevIndex`, which becomes the sentinel. */
  dropBefore(prevIndex: number): void {
    const t = this.term(prevIndex);
    invariant(t !== undefined, () => `no term for the new sentinel ${prevIndex}`);
    let k = 0;
    while (k + 1 < this.starts.length && this.starts[k + 1]! <= prevIndex) k++;
    this.starts = this.starts.slice(k);
    this.terms = this.terms.slice(k);
    this.starts[0] = prevIndex;
  }

  /** Runs within [from, to] as (start, term) pairs, the first clamped to `from` (for persisting a segment). */
  runsWithin(from: number, to: number): { start: number; term: number }[] {
    const out: { start: number; term: number }[] = [];
    for (let k = 0; k < this.starts.length; k++) {
      const end = k + 1 < this.starts.length ? this.starts[k + 1]! - 1 : this.lastIndex;
      if (end < from || this.starts[k]! > to) continue;
      out.push({ start: Math.max(from, this.starts[k]!), term: this.terms[k]! });
    }
    return out;
  }
}

/** Where the Raft entries of one segment are: entries [firstIndex, firstIndex + count) back to back. */
export class RaftSegmentIndex {
  count = 0;
  private rel: number[] = [];
  private pos: number[] = [];
  private bytesSinceEntry = 0;

  constructor(
    /** Raft index of the segment's first entry (the next one to append while it is empty). */
    readonly firstIndex: number,
    /** Term of the entry before firstIndex (persisted so term(firstIndex - 1) survives retention). */
    readonly prevTerm: number,
    private readonly intervalBytes: number,
  ) {}

  /** One past the segment's last Raft index. */
  get endIndex(): number {
    return this.firstIndex + this.count;
  }

  /** Accounts for the next entry, stored at `position` with `sizeBytes`. */
  record(position: number, sizeBytes: number): void {
    if (this.bytesSinceEntry >= this.intervalBytes) {
      this.rel.push(this.count);
      this.pos.push(position);
      this.bytesSinceEntry = 0;
    }
    this.bytesSinceEntry += sizeBytes;
    this.count++;
  }

  /** The last indexed entry at or before Raft index i: its relative index and position ((0, 0) if none). */
  floor(i: number): { rel: number; position: number } {
    const r = i - this.firstIndex;
    let lo = 0;
    let hi = this.rel.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= r) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? { rel: 0, position: 0 } : { rel: this.rel[found]!, position: this.pos[found]! };
  }

  /** Keeps the first `count` entries, the last of which ends at byte `endPosition`. */
  truncate(count: number, endPosition: number): void {
    let n = this.rel.length;
    while (n > 0 && this.rel[n - 1]! >= count) n--;
    this.rel.length = n;
    this.pos.length = n;
    this.count = count;
    this.bytesSinceEntry = endPosition - (n === 0 ? 0 : this.pos[n - 1]!);
  }

  sparse(): { rel: readonly number[]; pos: readonly number[] } {
    return { rel: this.rel, pos: this.pos };
  }

  /** Restores a persisted index (closed segment). */
  static restore(
    firstIndex: number,
    prevTerm: number,
    intervalBytes: number,
    count: number,
    rel: number[],
    pos: number[],
  ): RaftSegmentIndex {
    const index = new RaftSegmentIndex(firstIndex, prevTerm, intervalBytes);
    index.count = count;
    index.rel = rel;
    index.pos = pos;
    return index;
  }
}
