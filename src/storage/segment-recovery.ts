/**
 * Opening a partition folder: closed segments load their persisted indexes (checked against a short tail scan,
 * rebuilt by a full scan when missing or inconsistent); the active (last) segment is scanned from the start
 * with CRC checks. A torn tail of the active segment is truncated; anything else invalid is CORRUPT_LOG.
 */
import { join } from 'node:path';
import { StreamBusError } from '../errors/index.js';
import { findValidBatch, type ScannedBatch, scanBatches } from './batch-scan.js';
import type { LogConfig } from './config.js';
import { OffsetIndex } from './offset-index.js';
import { PreallocatedFile } from './preallocated-file.js';
import {
  INDEX_SUFFIX,
  LOG_SUFFIX,
  parseSegmentFileName,
  Segment,
  segmentFileStem,
  TIME_INDEX_SUFFIX,
} from './segment.js';
import { finishInterruptedSwaps, type SwapFiles } from './segment-swap.js';
import type { StorageFile, StorageFs } from './storage-fs.js';
import { TimeIndex } from './time-index.js';
import type { StorageLogger } from './types.js';

export interface SegmentContext {
  fs: StorageFs;
  dir: string;
  config: LogConfig;
  logger: StorageLogger;
  nowMs: number;
  /** Open segment files so their writes can bypass the page cache (StorageFile.bypassPageCache)... */
  directWrites?: boolean;
  /** ...and bypass it from the start. */
  bypassPageCache?: boolean;
}

let directRefusalLogged = false;

/**
 * Opens a segment's log file. Under flush_policy 'always' every append must be durable before it is
 * acknowledged, so the file is opened O_DSYNC and a write is its own fdatasync; such a file also keeps
 * zero-filled space ahead of its end for small appends (preallocated-file.ts), and a replicated log's
 * file can write around the page cache (direct-write-file.ts).
 */
export async function openSegmentFile(
  ctx: SegmentContext,
  path: string,
  mode: 'create' | 'open',
): Promise<StorageFile> {
  const file = await ctx.fs.openFile(path, mode, {
    durableWrites: ctx.config.flushPolicy === 'always',
    directWrites: ctx.directWrites === true,
    onDirectRefused: (err) => {
      // Once per process: every segment on that file system would say the same.
      if (directRefusalLogged) return;
      directRefusalLogged = true;
      ctx.logger.warn(
        { file: path, error: String(err) },
        'the file system refuses direct I/O: followers write through the page cache',
      );
    },
  });
  file.bypassPageCache?.(ctx.bypassPageCache === true);
  if (file.durableWrites !== true || ctx.config.preallocateBytes <= 0) return file;
  return new PreallocatedFile(file, ctx.config.preallocateBytes, (err) =>
    ctx.logger.warn({ file: path, error: String(err) }, 'zero-filling ahead of the segment end paused'),
  );
}

export function corrupt(
  file: string,
  position: number,
  reason: string,
  extra: Record<string, unknown> = {},
): StreamBusError {
  return new StreamBusError('CORRUPT_LOG', {
    operation: 'log.recover',
    message: `log is corrupt: ${file} at byte ${position}: ${reason}`,
    metadata: { file, position, reason, ...extra },
  });
}

/** Scans [0, size) into `segment`, checking offsets are contiguous from the segment's base offset. */
async function scanInto(segment: Segment, size: number) {
  let discontinuity: ScannedBatch | undefined;
  let expected = segment.baseOffset;
  const result = await scanBatches(segment.file, 0, size, true, (b) => {
    if (b.baseOffset !== expected || b.lastOffset < b.baseOffset) {
      discontinuity = b;
      return false;
    }
    segment.recordBatch(b.position, b.sizeBytes, b.baseOffset, b.lastOffset, b.maxTimestamp);
    expected = b.lastOffset + 1;
    return true;
  });
  if (discontinuity !== undefined) {
    if (offsetSectorLost(discontinuity.position, discontinuity.baseOffset, expected)) {
      return { ...result, invalid: { position: discontinuity.position, reason: OFFSET_SECTOR_LOST } };
    }
    throw corrupt(segment.logPath, discontinuity.position, 'offsets are not contiguous', {
      expectedOffset: expected,
      foundOffset: discontinuity.baseOffset,
    });
  }
  return result;
}

export const OFFSET_SECTOR_LOST =
  'base offset reads as zeros up to a sector boundary (a sector that did not land)';

/**
 * Whether a batch whose base offset reads as `found` where `expected` was due is the expected batch with the
 * sector it starts in unlanded: its bytes before the next sector boundary read as zeros (the file's old end
 * was there), the rest of the write landed, and its checksum, which starts after the base offset, holds. It
 * is then a torn write like any other (cutTornTail), not corruption.
 */
export function offsetSectorLost(position: number, found: number, expected: number): boolean {
  const head = Math.min(8, Math.ceil(position / SECTOR_BYTES) * SECTOR_BYTES - position);
  if (head === 0 || found === expected) return false;
  const be = Buffer.alloc(8);
  be.writeBigInt64BE(BigInt(expected));
  be.fill(0, 0, head);
  return be.readBigInt64BE(0) === BigInt(found);
}

/** Uses the persisted indexes of a closed segment when a scan of its tail agrees with them. */
async function tryPersistedIndexes(ctx: SegmentContext, segment: Segment, size: number): Promise<boolean> {
  const indexBuf = await ctx.fs.readFile(segment.indexPath);
  const timeBuf = await ctx.fs.readFile(segment.timeIndexPath);
  if (indexBuf === null || timeBuf === null) return false;
  const offsetIndex = OffsetIndex.parse(indexBuf, size);
  const timeIndex = TimeIndex.parse(timeBuf);
  const closing = timeIndex?.last();
  if (offsetIndex === null || timeIndex === null || closing === undefined) return false;
  let lastOffset = -1;
  let tailMaxTimestamp = -1;
  const tail = await scanBatches(segment.file, offsetIndex.lastPosition(), size, true, (b) => {
    lastOffset = b.lastOffset;
    if (b.maxTimestamp > tailMaxTimestamp) tailMaxTimestamp = b.maxTimestamp;
    return true;
  });
  const nextOffset = segment.baseOffset + closing.relativeOffset;
  if (tail.invalid !== undefined || lastOffset + 1 !== nextOffset || tailMaxTimestamp > closing.timestampMs) {
    return false;
  }
  segment.offsetIndex = offsetIndex;
  segment.timeIndex = timeIndex;
  segment.sizeBytes = size;
  segment.nextOffset = nextOffset;
  segment.maxTimestamp = closing.timestampMs;
  return true;
}

async function loadClosedSegment(ctx: SegmentContext, baseOffset: number): Promise<Segment> {
  const path = join(ctx.dir, segmentFileStem(baseOffset) + LOG_SUFFIX);
  const file = await openSegmentFile(ctx, path, 'open');
  const segment = new Segment(ctx.fs, ctx.dir, baseOffset, file, ctx.config.indexIntervalBytes, ctx.nowMs);
  try {
    const size = await file.size();
    if (await tryPersistedIndexes(ctx, segment, size)) return segment;
    ctx.logger.info({ file: path }, 'rebuilding segment indexes');
    const result = await scanInto(segment, size);
    // A closed segment is followed by another: invalid bytes here are never a torn tail.
    if (result.invalid !== undefined) throw corrupt(path, result.invalid.position, result.invalid.reason);
    await segment.persistIndexes();
    return segment;
  } catch (err) {
    await file.close();
    throw err;
  }
}

async function recoverActiveSegment(ctx: SegmentContext, baseOffset: number): Promise<Segment> {
  const path = join(ctx.dir, segmentFileStem(baseOffset) + LOG_SUFFIX);
  const file = await openSegmentFile(ctx, path, 'open');
  const segment = new Segment(ctx.fs, ctx.dir, baseOffset, file, ctx.config.indexIntervalBytes, ctx.nowMs);
  try {
    const size = await file.size();
    const result = await scanInto(segment, size);
    if (result.invalid !== undefined) {
      await cutTornTail(ctx, file, path, result.invalid, size, segment.nextOffset);
    }
    // Its persisted indexes (if it was once closed) no longer apply: the active segment's live in memory.
    await segment.removePersistedIndexes();
    return segment;
  } catch (err) {
    await file.close();
    throw err;
  }
}

/**
 * The active segment's invalid bytes at `invalid.position`: a torn tail is cut off and the cut made durable.
 * Torn means nothing valid follows, or the bad bytes hold a sector that never reached the disk (a write cut
 * short by power loss: nothing orders the sectors of an unsynced write, so a later one may have landed and
 * extended the file while an earlier one reads as zeros). Everything from the bad bytes on then belongs to
 * writes that were never synced, so never acknowledged. Other bad bytes followed by valid data are
 * corruption of synced data: recovery refuses with CORRUPT_LOG rather than drop what follows. Zeros all the
 * way to the end are the usual case since segments keep zeros ahead of their data: logged at info only.
 */
export async function cutTornTail(
  ctx: SegmentContext,
  file: StorageFile,
  path: string,
  invalid: { position: number; reason: string },
  size: number,
  nextOffset: number,
): Promise<void> {
  const { position, reason } = invalid;
  if (await isZeroedRange(file, position, size)) {
    // Zero-filled space ahead of the data (preallocated-file.ts), or a write whose sectors never landed:
    // nothing in it was acknowledged.
    ctx.logger.info({ file: path, position, droppedBytes: size - position }, 'dropping zero-filled tail');
    await file.truncate(position);
    await file.datasync();
    return;
  }
  const next = await findValidBatch(file, position + 1, size, nextOffset);
  if (next >= 0 && !(await holdsUnlandedSector(file, position, next, nextOffset))) {
    throw corrupt(path, position, reason, { nextValidPosition: next });
  }
  ctx.logger.warn(
    {
      file: path,
      position,
      reason,
      droppedBytes: size - position,
      ...(next >= 0 ? { nextValidPosition: next } : {}),
    },
    next >= 0
      ? 'truncating a torn write of the active segment (a sector of it never reached the disk)'
      : 'truncating torn tail of the active segment',
  );
  await file.truncate(position);
  await file.datasync();
}

/** The unit a disk writes atomically; a write interrupted by power loss lands as some of its sectors. */
const SECTOR_BYTES = 512;
/** A batch starts with its base offset and a non-zero length: zeros over both cannot be a batch start. */
const BATCH_START_BYTES = 12;
/** The bad bytes are read this much at a time while looking for a sector of zeros. */
const UNLANDED_SCAN_CHUNK_BYTES = 128 * SECTOR_BYTES;

/**
 * Whether the bad bytes from `from` up to the next valid batch at `to` show a sector that did not land: a
 * whole sector of zeros before `to`, or zeros from `from` (where the batch with offset `expectedOffset` must
 * start) to the end of its sector, over a batch start or over a non-zero byte of that offset. That is the
 * first sector of the write, whose bytes past the old end of the file read as zeros; it may reach into the
 * next valid batch, whose leading bytes (a base offset below 2^32) are zeros too. (Fewer zeros that the
 * expected offset has anyway lose nothing: the batch then reads as written.)
 */
async function holdsUnlandedSector(
  file: StorageFile,
  from: number,
  to: number,
  expectedOffset: number,
): Promise<boolean> {
  const firstBoundary = Math.ceil(from / SECTOR_BYTES) * SECTOR_BYTES;
  const head = firstBoundary - from;
  if (head > 0) {
    const buf = Buffer.allocUnsafe(head);
    const zeroed = (await file.read(buf, 0, head, from)) === head && isZeroed(buf, 0, head);
    if (zeroed && (head >= BATCH_START_BYTES || offsetHasNonZeroByteBefore(expectedOffset, head)))
      return true;
  }
  // A sector that starts before the next valid batch; it may end inside that batch's leading zeros. Read in
  // chunks: the bad bytes may run far (up to the segment's size), and one zero sector is enough.
  const end = Math.ceil(to / SECTOR_BYTES) * SECTOR_BYTES;
  for (let at = firstBoundary; at < to; at += UNLANDED_SCAN_CHUNK_BYTES) {
    const buf = Buffer.allocUnsafe(Math.min(UNLANDED_SCAN_CHUNK_BYTES, end - at));
    const n = await file.read(buf, 0, buf.length, at);
    for (let k = 0; k + SECTOR_BYTES <= n && at + k < to; k += SECTOR_BYTES) {
      if (isZeroed(buf, k, k + SECTOR_BYTES)) return true;
    }
    if (n < buf.length) return false;
  }
  return false;
}

/** Whether the first `bytes` bytes of `offset` as a big-endian int64 (a batch's base offset) hold a non-zero. */
function offsetHasNonZeroByteBefore(offset: number, bytes: number): boolean {
  const be = Buffer.alloc(8);
  be.writeBigInt64BE(BigInt(offset));
  return !isZeroed(be, 0, Math.min(bytes, 8));
}

/** Whether bytes [from, to) of `file` are all zeros. */
async function isZeroedRange(file: StorageFile, from: number, to: number): Promise<boolean> {
  const buf = Buffer.allocUnsafe(Math.min(UNLANDED_SCAN_CHUNK_BYTES, to - from));
  for (let at = from; at < to; at += buf.length) {
    const n = await file.read(buf, 0, Math.min(buf.length, to - at), at);
    if (n < Math.min(buf.length, to - at) || !isZeroed(buf, 0, n)) return false;
  }
  return true;
}

function isZeroed(buf: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (buf[k] !== 0) return false;
  return true;
}

/**
 * The base offsets of the segments in the folder, oldest first, after removing leftovers of an
 * interrupted write: `.tmp` files and index files (`.index`, `.timeindex` and `extraIndexSuffixes`) whose
 * segment log is gone.
 */
export async function listSegmentBases(
  ctx: SegmentContext,
  extraIndexSuffixes: readonly string[] = [],
): Promise<number[]> {
  await ctx.fs.mkdirp(ctx.dir);
  const names = await ctx.fs.readdir(ctx.dir);
  const bases = names
    .map((n) => parseSegmentFileName(n, LOG_SUFFIX))
    .filter((b): b is number => b !== undefined)
    .sort((a, b) => a - b);
  const baseSet = new Set(bases);
  const indexSuffixes = [INDEX_SUFFIX, TIME_INDEX_SUFFIX, ...extraIndexSuffixes];
  for (const name of names) {
    const orphan = indexSuffixes
      .map((suffix) => parseSegmentFileName(name, suffix))
      .find((b) => b !== undefined);
    if ((orphan !== undefined && !baseSet.has(orphan)) || name.endsWith('.tmp')) {
      await ctx.fs.unlink(join(ctx.dir, name));
    }
  }
  return bases;
}

/**
 * Opens every segment of a partition folder, oldest first, creating the first one when there is none. A
 * cleaner's swap cut short by a crash is finished or rolled back first (segment-swap.ts).
 */
export async function openSegments(ctx: SegmentContext, initialOffset = 0): Promise<Segment[]> {
  await finishInterruptedSwaps(ctx.fs, ctx.dir, segmentSwapFiles(ctx));
  const bases = await listSegmentBases(ctx);
  const segments: Segment[] = [];
  try {
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const previous = segments[segments.length - 1];
      if (previous !== undefined && previous.nextOffset !== base) {
        throw corrupt(
          join(ctx.dir, segmentFileStem(base) + LOG_SUFFIX),
          0,
          'segment does not follow the previous one',
          {
            expectedOffset: previous.nextOffset,
            foundOffset: base,
          },
        );
      }
      segments.push(
        i === bases.length - 1 ? await recoverActiveSegment(ctx, base) : await loadClosedSegment(ctx, base),
      );
    }
    if (segments.length === 0) segments.push(await createSegment(ctx, initialOffset));
  } catch (err) {
    await Promise.allSettled(segments.map((s) => s.close()));
    throw err;
  }
  return segments;
}

/** Deletes a segment's persisted offset and time indexes (a scan on open rebuilds them). */
export async function removeIndexFiles(ctx: SegmentContext, baseOffset: number): Promise<void> {
  const stem = join(ctx.dir, segmentFileStem(baseOffset));
  await ctx.fs.unlink(stem + INDEX_SUFFIX);
  await ctx.fs.unlink(stem + TIME_INDEX_SUFFIX);
}

/** Deletes a segment's files by name, log first (an index without its log is ignored, then removed, on open). */
export async function deleteSegmentFiles(ctx: SegmentContext, baseOffset: number): Promise<void> {
  await ctx.fs.unlink(join(ctx.dir, segmentFileStem(baseOffset) + LOG_SUFFIX));
  await removeIndexFiles(ctx, baseOffset);
}

/** How a single-node log's segment files follow a cleaner swap (segment-swap.ts). */
export function segmentSwapFiles(ctx: SegmentContext): SwapFiles {
  return {
    staleIndexes: (base) => removeIndexFiles(ctx, base),
    deleteSegment: (base) => deleteSegmentFiles(ctx, base),
  };
}

export async function createSegment(ctx: SegmentContext, baseOffset: number): Promise<Segment> {
  const path = join(ctx.dir, segmentFileStem(baseOffset) + LOG_SUFFIX);
  const file = await openSegmentFile(ctx, path, 'create');
  // Make the new file's name durable so a crash cannot lose the segment that later appends land in.
  try {
    await ctx.fs.syncDir(ctx.dir);
  } catch (err) {
    await file.close();
    await ctx.fs.unlink(path);
    throw err;
  }
  return new Segment(ctx.fs, ctx.dir, baseOffset, file, ctx.config.indexIntervalBytes, ctx.nowMs);
}
