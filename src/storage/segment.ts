/**
 * One segment: `<20-digit base offset>.log` holding whole batches back to back, with its sparse offset index
 * and time index in memory. Closed (rolled) segments have their indexes persisted as `.index` / `.timeindex`;
 * the active segment's indexes are rebuilt by scanning on open.
 */
import { join } from 'node:path';
import { type ScannedBatch, scanBatches } from './batch-scan.js';
import { OffsetIndex } from './offset-index.js';
import type { StorageFile, StorageFs } from './storage-fs.js';
import { TimeIndex } from './time-index.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';

/**
 * Largest offset of a segment relative to its base offset: index entries hold relative offsets as uint32,
 * and segments roll (or cleaned ones merge) before passing it.
 */
export const RELATIVE_OFFSET_MAX = 0x7fffffff;

export function segmentFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

/** The base offset encoded in a segment file name, or undefined when the name is not a segment's. */
export function parseSegmentFileName(name: string, suffix: string): number | undefined {
  if (!name.endsWith(suffix)) return undefined;
  const stem = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return undefined;
  const base = Number(stem);
  return Number.isSafeInteger(base) ? base : undefined;
}

export interface SegmentSnapshot {
  sizeBytes: number;
  nextOffset: number;
  maxTimestamp: number;
  offsetIndexLength: number;
  timeIndexLength: number;
  bytesSinceIndexEntry: number;
}

export class Segment {
  sizeBytes = 0;
  /** Offset after the last batch in the segment (== baseOffset when empty). */
  nextOffset: number;
  /** Largest batch maxTimestamp in the segment; -1 when empty. */
  maxTimestamp = -1;
  bytesSinceIndexEntry = 0;
  offsetIndex = new OffsetIndex();
  timeIndex = new TimeIndex();
  private readers = 0;
  private closed = false;
  private closeWhenIdle: (() => void) | undefined;

  constructor(
    private readonly fs: StorageFs,
    readonly dir: string,
    readonly baseOffset: number,
    readonly file: StorageFile,
    private readonly indexIntervalBytes: number,
    /** When the segment was created or opened, on the injected clock; drives roll by age. */
    readonly createdMs: number,
  ) {
    this.nextOffset = baseOffset;
  }

  get logPath(): string {
    return join(this.dir, segmentFileStem(this.baseOffset) + LOG_SUFFIX);
  }

  get indexPath(): string {
    return join(this.dir, segmentFileStem(this.baseOffset) + INDEX_SUFFIX);
  }

  get timeIndexPath(): string {
    return join(this.dir, segmentFileStem(this.baseOffset) + TIME_INDEX_SUFFIX);
  }

  /** Accounts for a batch stored at `position` (appended or found by a scan); maintains the sparse indexes. */
  recordBatch(
    position: number,
    sizeBytes: number,
    baseOffset: number,
    lastOffset: number,
    maxTimestamp: number,
  ): void {
    if (this.bytesSinceIndexEntry >= this.indexIntervalBytes) {
      const rel = baseOffset - this.baseOffset;
      this.offsetIndex.append(rel, position);
      // maxTimestamp so far covers every batch before this one: exactly the time index's entry meaning.
      if (this.maxTimestamp >= 0) this.timeIndex.append(this.maxTimestamp, rel);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += sizeBytes;
    this.sizeBytes = position + sizeBytes;
    this.nextOffset = lastOffset + 1;
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
  }

  snapshot(): SegmentSnapshot {
    return {
      sizeBytes: this.sizeBytes,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
      offsetIndexLength: this.offsetIndex.length,
      timeIndexLength: this.timeIndex.length,
      bytesSinceIndexEntry: this.bytesSinceIndexEntry,
    };
  }

  /** Rolls the in-memory state back to a snapshot (after a failed write); the caller truncates the file. */
  restore(s: SegmentSnapshot): void {
    this.sizeBytes = s.sizeBytes;
    this.nextOffset = s.nextOffset;
    this.maxTimestamp = s.maxTimestamp;
    this.offsetIndex.truncateToLength(s.offsetIndexLength);
    this.timeIndex.truncateToLength(s.timeIndexLength);
    this.bytesSinceIndexEntry = s.bytesSinceIndexEntry;
  }

  /**
   * Makes a segment that is about to be rolled complete on disk: cut to its batches (dropping zero-filled
   * space ahead, see preallocated-file.ts) and synced. Recovery treats bad bytes in a closed segment as
   * corruption, not a torn tail, so this comes before the next segment exists.
   */
  async seal(): Promise<void> {
    await this.file.truncate(this.sizeBytes);
    await this.file.datasync();
  }

  /** Adds the closing time-index entry (max timestamp, relative next offset) and writes both indexes. */
  async persistIndexes(): Promise<void> {
    if (this.maxTimestamp >= 0)
      this.timeIndex.appendClosing(this.maxTimestamp, this.nextOffset - this.baseOffset);
    await this.fs.writeFileAtomic(this.indexPath, this.offsetIndex.serialize());
    await this.fs.writeFileAtomic(this.timeIndexPath, this.timeIndex.serialize());
  }

  /** The segment became active again (truncation): its persisted indexes are stale; on-open scans rebuild. */
  async removePersistedIndexes(): Promise<void> {
    await this.fs.unlink(this.indexPath);
    await this.fs.unlink(this.timeIndexPath);
  }

  /**
   * Cuts the segment just before `batch` (found by a scan of this segment): file, indexes and in-memory
   * state. Used by truncateTo; the segment is active afterwards, so its persisted indexes go.
   */
  async truncateBefore(batch: ScannedBatch): Promise<void> {
    const rel = batch.baseOffset - this.baseOffset;
    await this.removePersistedIndexes();
    await this.file.truncate(batch.position);
    await this.file.datasync();
    this.offsetIndex.truncateFromOffset(rel);
    // An entry (T, r) describes the batches before r: those up to the cut stay valid.
    this.timeIndex.truncateFromOffset(rel + 1);
    this.sizeBytes = batch.position;
    this.nextOffset = batch.baseOffset;
    this.bytesSinceIndexEntry = batch.position - this.offsetIndex.lastPosition();
    // The largest remaining timestamp: the last time entry covers what precedes it; scan the rest.
    const lastTime = this.timeIndex.last();
    let maxTimestamp = lastTime?.timestampMs ?? -1;
    const from =
      lastTime === undefined ? 0 : Math.max(0, this.offsetIndex.exactPosition(lastTime.relativeOffset));
    await scanBatches(this.file, from, batch.position, false, (b) => {
      if (b.maxTimestamp > maxTimestamp) maxTimestamp = b.maxTimestamp;
      return true;
    });
    this.maxTimestamp = maxTimestamp;
  }

  /** Runs a read; the file stays open until it finishes, even if the segment is deleted meanwhile. */
  async withReader<T>(fn: () => Promise<T>): Promise<T> {
    this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      if (this.readers === 0) this.closeWhenIdle?.();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.readers > 0) await new Promise<void>((resolve) => (this.closeWhenIdle = resolve));
    await this.file.close();
  }

  /** Closes and deletes the log first, then the indexes (an index without its log is ignored on open). */
  async delete(): Promise<void> {
    await this.close();
    await this.fs.unlink(this.logPath);
    await this.removePersistedIndexes();
  }
}
