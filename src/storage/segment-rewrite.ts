/**
 * The log cleaner's I/O on one closed segment: reading its keys into the offset map, and writing its
 * compacted copy to `<base>.log.cleaned` (fsynced, with the copy's indexes built in memory) for
 * segment-swap.ts to swap in. Both read about a megabyte at a time and await the disk between slices, so a
 * large segment never holds the event loop for long. Reads check every batch's CRC: the cleaner never
 * copies corruption forward.
 */
import { invariant } from '../errors/index.js';
import { type CompactedBatch, type CompactionRule, compactBatch, mapBatchKeys } from './batch-compaction.js';
import { type ScannedBatch, scanBatches } from './batch-scan.js';
import type { KeyOffsetMap } from './key-offset-map.js';
import { Segment } from './segment.js';
import { corrupt, type SegmentContext } from './segment-recovery.js';
import { cleanedPath } from './segment-swap.js';

/** Bytes of batches handled between awaits. */
const SLICE_BYTES = 1024 * 1024;

/** Calls `visit` for each batch of the segment, a slice at a time; the batch bytes are the whole batch. */
async function forEachBatch(
  segment: Segment,
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
): Promise<number> {
  let stoppedAt = -1;
  await segment.withReader(() =>
    forEachBatch(segment, (meta, batch) => {
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
  /** Whether any batch changed; a copy that did not is discarded, not swapped in. */
  readonly changed: boolean;
  /** Earliest delete horizon of the tombstones the copy still holds; -1 when it holds none. */
  readonly tombstoneHorizonMs: number;
}

/** Writes the compacted copy of closed segment `old` (every batch kept, see batch-compaction.ts). */
export async function rewriteSegment(
  ctx: SegmentContext,
  old: Segment,
  map: KeyOffsetMap,
  rule: CompactionRule,
): Promise<CleanedSegment> {
  const path = cleanedPath(ctx.dir, old.baseOffset);
  await ctx.fs.unlink(path);
  const file = await ctx.fs.openFile(path, 'create');
  const segment = new Segment(
    ctx.fs,
    ctx.dir,
    old.baseOffset,
    file,
    ctx.config.indexIntervalBytes,
    old.createdMs,
  );
  const batches: { position: number; sizeBytes: number }[] = [];
  let removedRecords = 0;
  let changed = false;
  let tombstoneHorizonMs = -1;
  let pending: Buffer[] = [];
  let written = 0;
  try {
    await old.withReader(() =>
      forEachBatch(
        old,
        (meta, batch) => {
          const out: CompactedBatch = compactBatch(batch, map, rule);
          const position = segment.sizeBytes;
          segment.recordBatch(
            position,
            out.batch.length,
            meta.baseOffset,
            meta.lastOffset,
            meta.maxTimestamp,
          );
          batches.push({ position, sizeBytes: out.batch.length });
          // A batch kept as it was is a view of the slice just read: copy it out of the read buffer.
          pending.push(out.changed ? out.batch : Buffer.from(out.batch));
          removedRecords += out.removedRecords;
          changed ||= out.changed;
          if (
            out.tombstoneHorizonMs >= 0 &&
            (tombstoneHorizonMs < 0 || out.tombstoneHorizonMs < tombstoneHorizonMs)
          )
            tombstoneHorizonMs = out.tombstoneHorizonMs;
        },
        async () => {
          await file.writev(pending, written);
          for (const b of pending) written += b.length;
          pending = [];
        },
      ),
    );
    invariant(
      segment.nextOffset === old.nextOffset && written === segment.sizeBytes,
      () => `cleaned copy of ${old.logPath} ends at offset ${segment.nextOffset}, not ${old.nextOffset}`,
    );
    await file.datasync();
  } catch (err) {
    await discardCleaned(ctx, segment);
    throw err;
  }
  return { segment, batches, removedRecords, changed, tombstoneHorizonMs };
}

/** Closes and deletes a copy that is not swapped in. */
export async function discardCleaned(ctx: SegmentContext, cleaned: Segment): Promise<void> {
  await cleaned.close();
  await ctx.fs.unlink(cleanedPath(ctx.dir, cleaned.baseOffset));
}
