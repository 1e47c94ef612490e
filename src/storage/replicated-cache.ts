/**
 * The in-memory entries of a replicated log, which the Raft core reads synchronously.
 *
 * - The tail: entries [tailStart, lastIndex], always covering everything above the applied index (the
 *   core hands those to the state machine), plus older recent entries while they fit in `cacheBytes`.
 * - Loaded chunks: older ranges read back from disk in the background for a lagging follower, a few at a
 *   time, oldest chunk evicted first. A read that misses both answers `unavailable` and starts one load
 *   (deduplicated, at most LOADS_IN_FLIGHT_MAX at once); the leader retries on the next heartbeat response.
 *
 * A generation number changes whenever indexes may change meaning (truncation, snapshot install, retention)
 * so a load that finishes afterwards is dropped instead of caching stale entries.
 */
import { entrySizeBytes } from '../raft/core/log.js';
import type { Entry } from '../raft/core/types.js';

export const LOADS_IN_FLIGHT_MAX = 2;
const CHUNKS_MAX = 8;
const LOAD_BYTES_MIN = 64 * 1024;

interface Chunk {
  start: number;
  entries: Entry[];
  sizeBytes: number;
}

export type EntryLoader = (lo: number, hiExclusive: number, maxBytes: number) => Promise<Entry[]>;

/** arr[from, to) clamped to the array, limited to maxBytes but at least one entry, copying only what is returned. */
function sliceLimited(arr: readonly Entry[], from: number, to: number, maxBytes: number): Entry[] {
  const end = Math.min(to, arr.length);
  let size = 0;
  let k = from;
  for (; k < end; k++) {
    size += entrySizeBytes(arr[k]!);
    if (size > maxBytes && k > from) break;
  }
  return arr.slice(from, k);
}

export class EntryCache {
  private tail: Entry[] = [];
  /** tail[head] is the entry at tailStart; slots before head are dead (evicted). */
  private head = 0;
  private tailStart: number;
  private tailBytes = 0;
  private applied = 0;
  private chunks: Chunk[] = [];
  private chunkBytes = 0;
  private readonly loading = new Map<number, Promise<void>>();
  private generation = 0;
  /** Loads started (for tests and stats). */
  loadsStarted = 0;

  constructor(
    nextIndex: number,
    private cacheBytes: number,
    private readonly loader: EntryLoader,
    private readonly onLoadError: (err: unknown) => void,
  ) {
    this.tailStart = nextIndex;
  }

  /** First index held in the tail. */
  get start(): number {
    return this.tailStart;
  }

  get sizeBytes(): number {
    return this.tailBytes + this.chunkBytes;
  }

  /** Appends entries that directly follow the tail. */
  push(entries: readonly Entry[]): void {
    for (const e of entries) {
      this.tail.push(e);
      this.tailBytes += entrySizeBytes(e);
    }
    this.evict();
  }

  /** Forgets entries >= i (a conflicting suffix, or everything for a snapshot install). */
  truncateFrom(i: number): void {
    this.generation++;
    if (i <= this.tailStart) {
      this.tail = [];
      this.head = 0;
      this.tailBytes = 0;
      this.tailStart = i;
    } else {
      const keep = this.head + i - this.tailStart;
      for (let k = keep; k < this.tail.length; k++) this.tailBytes -= entrySizeBytes(this.tail[k]!);
      this.tail.length = Math.min(keep, this.tail.length);
    }
    this.dropChunks((c) => c.start + c.entries.length > i);
  }

  /** Empties the cache; the next entry pushed is `nextIndex` (snapshot install). */
  reset(nextIndex: number): void {
    this.truncateFrom(Number.NEGATIVE_INFINITY);
    this.tailStart = nextIndex;
    this.chunks = [];
    this.chunkBytes = 0;
  }

  /** Forgets entries < i (retention moved the first index). */
  dropBefore(i: number): void {
    this.generation++;
    if (i > this.tailStart) {
      const drop = Math.min(i - this.tailStart, this.tail.length - this.head);
      this.dropHead(drop);
      this.tailStart = i;
    }
    this.dropChunks((c) => c.start < i);
  }

  /** A new budget for applied entries (the replica's role changed); entries over it go at once. */
  setBudget(cacheBytes: number): void {
    this.cacheBytes = cacheBytes;
    this.evict();
  }

  setApplied(index: number): void {
    this.applied = index;
    this.evict();
  }

  private evict(): void {
    let drop = 0;
    let bytes = this.tailBytes;
    const n = this.tail.length - this.head;
    while (drop < n && this.tailStart + drop <= this.applied && bytes > this.cacheBytes) {
      bytes -= entrySizeBytes(this.tail[this.head + drop]!);
      drop++;
    }
    if (drop === 0) return;
    this.dropHead(drop);
    this.tailStart += drop;
  }

  /** Drops the first `n` tail entries; the array is compacted only once most of it is dead (amortised O(1)). */
  private dropHead(n: number): void {
    for (let k = 0; k < n; k++) {
      this.tailBytes -= entrySizeBytes(this.tail[this.head + k]!);
      this.tail[this.head + k] = undefined as unknown as Entry;
    }
    this.head += n;
    if (this.head === this.tail.length) {
      this.tail = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.head);
      this.head = 0;
    }
  }

  private dropChunks(pred: (c: Chunk) => boolean): void {
    this.chunks = this.chunks.filter((c) => {
      if (!pred(c)) return true;
      this.chunkBytes -= c.sizeBytes;
      return false;
    });
  }

  /**
   * Entries [lo, hi) (hi <= tail end), limited to maxBytes but at least one; a shorter prefix when the
   * range crosses from a loaded chunk into a gap. `unavailable` (and a background load) when lo is in neither.
   */
  get(lo: number, hi: number, maxBytes: number): readonly Entry[] | 'unavailable' {
    if (lo >= this.tailStart) {
      return sliceLimited(
        this.tail,
        this.head + lo - this.tailStart,
        this.head + hi - this.tailStart,
        maxBytes,
      );
    }
    for (const c of this.chunks) {
      if (lo >= c.start && lo < c.start + c.entries.length) {
        return sliceLimited(c.entries, lo - c.start, Math.min(hi, this.tailStart) - c.start, maxBytes);
      }
    }
    this.startLoad(lo);
    return 'unavailable';
  }

  private startLoad(lo: number): void {
    if (this.loading.has(lo) || this.loading.size >= LOADS_IN_FLIGHT_MAX) return;
    this.loadsStarted++;
    const generation = this.generation;
    const hi = this.tailStart;
    const maxBytes = this.loadBytes();
    const load = this.loader(lo, hi, maxBytes)
      .then((entries) => {
        if (generation !== this.generation || entries.length === 0) return;
        let sizeBytes = 0;
        for (const e of entries) sizeBytes += entrySizeBytes(e);
        this.chunks.push({ start: lo, entries, sizeBytes });
        this.chunkBytes += sizeBytes;
        // Room for a few loads whatever the budget: followers catching up at different points must not
        // evict each other's chunk before the leader retries.
        const budget = Math.max(this.cacheBytes, LOADS_IN_FLIGHT_MAX * 2 * this.loadBytes());
        while (this.chunks.length > CHUNKS_MAX || (this.chunks.length > 1 && this.chunkBytes > budget)) {
          this.chunkBytes -= this.chunks.shift()!.sizeBytes;
        }
      })
      .catch(this.onLoadError)
      .finally(() => this.loading.delete(lo));
    this.loading.set(lo, load);
  }

  /** Bytes one background load reads (at least one entry). */
  private loadBytes(): number {
    return Math.max(LOAD_BYTES_MIN, Math.floor(this.cacheBytes / 4));
  }

  /** Resolves once no load is in flight (tests; close). */
  async idle(): Promise<void> {
    while (this.loading.size > 0) await Promise.allSettled([...this.loading.values()]);
  }
}
