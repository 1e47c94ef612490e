/**
 * The log cleaner's I/O on closed segments: reading a segment's keys into the offset map, and writing the
 * compacted copy of a run of adjacent segments to `<base>.log.cleaned` (fsynced, with the copy's indexes
 * built in memory) for segment-swap.ts to swap in; a lone segment with nothing to change is not copied.
 * Both read about a megabyte at a time and await the disk between slices, so a large segment never holds
 * the event loop for long. Reads check every batch's CRC: the cleaner never copies corruption forward.
 */
import { invariant } from '../errors/index.js';
import { type CompactedBatch, type CompactionRule, compactBatch, mapBatchKeys } from './batch-compaction.js';
import { type ScannedBatch, scanBatches } from './batch-scan.js';
import { type IoBudget, UNLIMITED_IO } from './io-throttle.js';
import type { KeyOffsetMap } from './key-offset-map.js';
import { Segment } from './segment.js';
import { corrupt, type SegmentContext } from './segment-recovery.js';
import { cleanedPath } from './segment-swap.js';

/** Bytes of batches handled between awaits. */
const SLICE_BYTES = 1024 * 1024;

/**
 * Calls `visit` for each batch of the segment, a slice at a time; the batch bytes are the whole batch. Each
 * slice's bytes are spent from `io` before the next is read.
 */
async function forEachBatch(
  segment: Segment,
  io: IoBudget,
  visit: (meta: ScannedBatch, batch: Buffer) => void,
  afterSlice: () => Promise<void> = async () => {},
): Promise<void> {
  let from = 0;
  for (;;) {
    let sliceBytes = 0;
    const result = await scanBatches(segment.file, from, segment.sizeBytes, true, (meta, bytes, at) => {
      if (sliceBytes >= SLICE_BYTES) return false;
      sliceBytes += meta.sizeBytes;
      visit(meta, bytes.subarray(at, at + meta.sizeBytes));
      return true;
    });
    if (result.invalid !== undefined)
      throw corrupt(segment.logPath, result.invalid.position, result.invalid.reason);
    await io.spend(sliceBytes);
    await afterSlice();
    if (!result.stopped) return;
    from = result.endPosition;
    // Let requests in between slices even when the reads were served from the page cache.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Puts the keys of the segment's records at or above `fromOffset` into `map`. Returns the offset of the
 * first record whose key did not fit (the map filled), or -1 when every key fitted.
 */
export async function mapSegmentKeys(
  segment: Segment,
  map: KeyOffsetMap,
  fromOffset: number,
  decompressedBytesMax: number,
  io: IoBudget = UNLIMITED_IO,
): Promise<number> {
  let stoppedAt = -1;
  await segment.withReader(() =>
    forEachBatch(segment, io, (meta, batch) => {
      if (stoppedAt >= 0 || meta.lastOffset < fromOffset) return;
      stoppedAt = mapBatchKeys(batch, map, fromOffset, decompressedBytesMax);
    }),
  );
  return stoppedAt;
}

export interface CleanedSegment {
  /** The compacted copy, open, its indexes built; its file is `<base>.log.cleaned` until swapped in. */
  readonly segment: Segment;
  /** Each batch's position and size in the copy, in order (a replicated log's Raft index is rebuilt from them). */
  readonly batches: readonly { position: number; sizeBytes: number }[];
  readonly removedRecords: number;
}

export interface Rewrite {
  /**
   * The copy to swap in for the run; null when the run is one segment and compacting changes none of its
   * batches (nothing superseded, no tombstone past its horizon or to stamp one in): then no copy is written.
   */
  readonly cleaned: CleanedSegment | null;
  /** Earliest delete horizon of the tombstones the run still holds; -1 when it holds none. */
  readonly tombstoneHorizonMs: number;
}

/** A batch as compacted, waiting for the slice's write; `meta` is where it was read. */
interface Compacted {
  readonly meta: ScannedBatch;
  /**
   * The compacted batch, or when unchanged a view of the bytes read: scanBatches reads every chunk into a
   * fresh buffer, so a view stays valid until it is written.
   */
  readonly batch: Buffer;
}

/**
 * Writes the compacted copy of `olds`, a run of adjacent closed segments (every batch kept, see
 * batch-compaction.ts), as one segment at the first one's base offset. A run of one is copied only from the
 * first slice that changes: until then its batches are read and compacted but not written, and a segment
 * with nothing to change is never written at all.
 */
export async function rewriteSegments(
  ctx: SegmentContext,
  olds: readonly Segment[],
  map: KeyOffsetMap,
  rule: CompactionRule,
  io: IoBudget = UNLIMITED_IO,
): Promise<Rewrite> {
  invariant(olds.length > 0, 'rewriteSegments: no segment');
  const first = olds[0]!;
  const copy = new CopyWriter(ctx, first, io);
  let removedRecords = 0;
  let tombstoneHorizonMs = -1;
  try {
    if (olds.length > 1) await copy.start();
    for (const old of olds) {
      let slice: Compacted[] = [];
      let sliceChanged = false;
      await old.withReader(() =>
        forEachBatch(
          old,
          io,
          (meta, batch) => {
            const out: CompactedBatch = compactBatch(batch, map, rule);
            slice.push({ meta, batch: out.batch });
            removedRecords += out.removedRecords;
            sliceChanged ||= out.changed;
            const h = out.tombstoneHorizonMs;
            if (h >= 0 && (tombstoneHorizonMs < 0 || h < tombstoneHorizonMs)) tombstoneHorizonMs = h;
          },
          async () => {
            if (sliceChanged && !copy.started) await copy.start();
            if (copy.started) await copy.write(slice);
            else copy.skip(slice);
            slice = [];
            sliceChanged = false;
          },
        ),
      );
    }
    if (!copy.started) return { cleaned: null, tombstoneHorizonMs };
    const segment = await copy.finish(olds.at(-1)!);
    return { cleaned: { segment, batches: copy.batches, removedRecords }, tombstoneHorizonMs };
  } catch (err) {
    await copy.discard();
    throw err;
  }
}

/**
 * The `.cleaned` file and its in-memory indexes, opened only when the copy starts. Batches skipped before
 * that (unchanged, so the same bytes at the same positions) are copied over from the old segment then.
 */
class CopyWriter {
  readonly batches: { position: number; sizeBytes: number }[] = [];
  private segment: Segment | undefined;
  /** Bytes at the start of the first segment that were read and left as they are, before the copy started. */
  private skippedBytes = 0;
  private writtenBytes = 0;

  constructor(
    private readonly ctx: SegmentContext,
    private readonly first: Segment,
    private readonly io: IoBudget,
  ) {}

  get started(): boolean {
    return this.segment !== undefined;
  }

  skip(slice: readonly Compacted[]): void {
    for (const c of slice) this.skippedBytes += c.meta.sizeBytes;
  }

  async start(): Promise<void> {
    const path = cleanedPath(this.ctx.dir, this.first.baseOffset);
    await this.ctx.fs.unlink(path);
    const file = await this.ctx.fs.openFile(path, 'create');
    this.segment = new Segment(
      this.ctx.fs,
      this.ctx.dir,
      this.first.baseOffset,
      file,
      this.ctx.config.indexIntervalBytes,
      this.first.createdMs,
    );
    // The skipped prefix is the first segment's own bytes, unchanged: copied as they are, a slice at a
    // time, read again rather than held (a large segment's batches would not fit in memory).
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      const at = this.writtenBytes;
      await file.writev(pending, at);
      this.writtenBytes += pendingBytes;
      await this.io.spend(2 * pendingBytes);
      pending = [];
      pendingBytes = 0;
    };
    for (let from = 0; from < this.skippedBytes; ) {
      const result = await scanBatches(this.first.file, from, this.skippedBytes, true, (meta, bytes, at) => {
        if (pendingBytes >= SLICE_BYTES) return false;
        this.record(meta, meta.sizeBytes);
        pending.push(bytes.subarray(at, at + meta.sizeBytes));
        pendingBytes += meta.sizeBytes;
        return true;
      });
      if (result.invalid !== undefined)
        throw corrupt(this.first.logPath, result.invalid.position, result.invalid.reason);
      await flush();
      from = result.endPosition;
    }
  }

  async write(slice: readonly Compacted[]): Promise<void> {
    const segment = this.segment!;
    const at = this.writtenBytes;
    for (const c of slice) this.record(c.meta, c.batch.length);
    await segment.file.writev(
      slice.map((c) => c.batch),
      at,
    );
    const bytes = slice.reduce((n, c) => n + c.batch.length, 0);
    this.writtenBytes += bytes;
    await this.io.spend(bytes);
  }

  private record(meta: ScannedBatch, sizeBytes: number): void {
    const segment = this.segment!;
    const position = segment.sizeBytes;
    segment.recordBatch(position, sizeBytes, meta.baseOffset, meta.lastOffset, meta.maxTimestamp);
    this.batches.push({ position, sizeBytes });
  }

  /** Checks the copy ends where the run did and makes it durable. */
  async finish(last: Segment): Promise<Segment> {
    const segment = this.segment!;
    invariant(
      segment.nextOffset === last.nextOffset && this.writtenBytes === segment.sizeBytes,
      () =>
        `cleaned copy of ${this.first.logPath} ends at offset ${segment.nextOffset}, not ${last.nextOffset}`,
    );
    await segment.file.datasync();
    return segment;
  }

  async discard(): Promise<void> {
    if (this.segment !== undefined) await discardCleaned(this.ctx, this.segment);
  }
}

/** Closes and deletes a copy that is not swapped in. */
export async function discardCleaned(ctx: SegmentContext, cleaned: Segment): Promise<void> {
  await cleaned.close();
  await ctx.fs.unlink(cleanedPath(ctx.dir, cleaned.baseOffset));
}
