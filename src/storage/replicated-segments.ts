/**
 * Segments of a replicated log: a PartitionLog segment (`.log`, `.index`, `.timeindex`, read by the same
 * reader code) plus its Raft side (`.ridx`, see raft-files.ts). Opening keeps the valid prefix: closed
 * segments load their persisted indexes when they agree with the file (else a CRC'd scan rebuilds them),
 * the last segment is scanned with CRC checks, a torn tail of it is truncated, and anything else invalid is
 * CORRUPT_LOG.
 */
import { join } from 'node:path';
import { invariant } from '../errors/index.js';
import type { Entry } from '../raft/core/types.js';
import { type ScannedBatch, type ScanResult, scanBatches } from './batch-scan.js';
import { OffsetIndex } from './offset-index.js';
import { entryFromBatch } from './raft-batch.js';
import {
  decodeRaftIndexFile,
  encodeRaftIndexFile,
  RAFT_INDEX_SUFFIX,
  type RaftIndexFile,
} from './raft-files.js';
import { RaftSegmentIndex, TermRuns } from './raft-index.js';
import { LOG_SUFFIX, Segment, segmentFileStem } from './segment.js';
import {
  corrupt,
  createSegment,
  cutTornTail,
  listSegmentBases,
  OFFSET_SECTOR_LOST,
  offsetSectorLost,
  openSegmentFile,
  type SegmentContext,
} from './segment-recovery.js';
import { TimeIndex } from './time-index.js';

const READ_CHUNK_BYTES = 8 * 1024 * 1024;

export interface ReplicatedSegment {
  readonly seg: Segment;
  readonly raft: RaftSegmentIndex;
}

export function raftIndexPath(dir: string, baseOffset: number): string {
  return join(dir, segmentFileStem(baseOffset) + RAFT_INDEX_SUFFIX);
}

/** A new empty segment: its `.ridx` is made durable before the `.log` exists, so every log has one. */
export async function createReplicatedSegment(
  ctx: SegmentContext,
  baseOffset: number,
  firstIndex: number,
  prevTerm: number,
): Promise<ReplicatedSegment> {
  await ctx.fs.writeFileAtomic(
    raftIndexPath(ctx.dir, baseOffset),
    encodeRaftIndexFile({ firstIndex, prevTerm }),
  );
  const seg = await createSegment(ctx, baseOffset);
  return { seg, raft: new RaftSegmentIndex(firstIndex, prevTerm, ctx.config.indexIntervalBytes) };
}

/** Rolling: persists the closed segment's offset, time and Raft indexes (the caller fsynced its data). */
export async function persistClosedIndexes(ctx: SegmentContext, s: ReplicatedSegment, runs: TermRuns) {
  await s.seg.persistIndexes();
  const { rel, pos } = s.raft.sparse();
  const file: RaftIndexFile = {
    firstIndex: s.raft.firstIndex,
    prevTerm: s.raft.prevTerm,
    closed: {
      count: s.raft.count,
      sizeBytes: s.seg.sizeBytes,
      nextOffset: s.seg.nextOffset,
      maxTimestamp: s.seg.maxTimestamp,
      runs: runs.runsWithin(s.raft.firstIndex, s.raft.endIndex - 1),
      rel: [...rel],
      pos: [...pos],
    },
  };
  await ctx.fs.writeFileAtomic(raftIndexPath(ctx.dir, s.seg.baseOffset), encodeRaftIndexFile(file));
}

export async function deleteReplicatedSegment(ctx: SegmentContext, s: ReplicatedSegment): Promise<void> {
  await s.seg.delete();
  await ctx.fs.unlink(raftIndexPath(ctx.dir, s.seg.baseOffset));
}

/** Scans [0, size) of a segment into its indexes and `runs`, checking offsets and terms as it goes. */
async function scanInto(s: ReplicatedSegment, runs: TermRuns, size: number): Promise<ScanResult> {
  let bad: { batch: ScannedBatch; reason: string; lostOffset?: boolean } | undefined;
  let expected = s.seg.baseOffset;
  const result = await scanBatches(s.seg.file, 0, size, true, (b) => {
    if (b.baseOffset !== expected || b.lastOffset < b.baseOffset - 1) {
      bad = {
        batch: b,
        reason: `offsets are not contiguous (expected ${expected}, found ${b.baseOffset})`,
        lostOffset: offsetSectorLost(b.position, b.baseOffset, expected),
      };
      return false;
    }
    if (b.leaderEpoch < runs.lastTerm()) {
      bad = { batch: b, reason: `term ${b.leaderEpoch} after term ${runs.lastTerm()}` };
      return false;
    }
    s.seg.recordBatch(b.position, b.sizeBytes, b.baseOffset, b.lastOffset, b.maxTimestamp);
    runs.append(s.raft.endIndex, b.leaderEpoch);
    s.raft.record(b.position, b.sizeBytes);
    expected = b.lastOffset + 1;
    return true;
  });
  if (bad !== undefined) {
    if (bad.lostOffset)
      return { ...result, invalid: { position: bad.batch.position, reason: OFFSET_SECTOR_LOST } };
    throw corrupt(s.seg.logPath, bad.batch.position, bad.reason);
  }
  return result;
}

/** Uses the persisted indexes of a closed segment when they match the file and a CRC'd scan of its tail. */
async function tryPersisted(
  ctx: SegmentContext,
  s: ReplicatedSegment,
  ridx: RaftIndexFile,
  size: number,
  runs: TermRuns,
): Promise<ReplicatedSegment | undefined> {
  const c = ridx.closed;
  if (c === undefined || c.sizeBytes !== size || c.count === 0) return undefined;
  const indexBuf = await ctx.fs.readFile(s.seg.indexPath);
  const timeBuf = await ctx.fs.readFile(s.seg.timeIndexPath);
  const offsetIndex = indexBuf === null ? null : OffsetIndex.parse(indexBuf, size);
  const timeIndex = timeBuf === null ? null : TimeIndex.parse(timeBuf);
  if (offsetIndex === null || timeIndex === null) return undefined;
  const raft = RaftSegmentIndex.restore(
    ridx.firstIndex,
    ridx.prevTerm,
    ctx.config.indexIntervalBytes,
    c.count,
    c.rel,
    c.pos,
  );
  const from = raft.floor(raft.endIndex - 1);
  let tailCount = 0;
  let tailEnd = from.position;
  const tail = await scanBatches(s.seg.file, from.position, size, true, (b) => {
    tailCount++;
    tailEnd = b.position + b.sizeBytes;
    return true;
  });
  if (tail.invalid !== undefined || tailEnd !== size || from.rel + tailCount !== c.count) return undefined;
  if (c.runs.length === 0 || c.runs[0]!.start !== ridx.firstIndex) return undefined;
  // Validate every run before applying any: a rejected file must leave `runs` as it was for the rescan.
  let prevTerm = runs.lastTerm();
  for (let k = 0; k < c.runs.length; k++) {
    const to = k + 1 < c.runs.length ? c.runs[k + 1]!.start - 1 : raft.endIndex - 1;
    if (c.runs[k]!.term < prevTerm || to < c.runs[k]!.start) return undefined;
    prevTerm = c.runs[k]!.term;
  }
  for (let k = 0; k < c.runs.length; k++) {
    runs.appendRange(k + 1 < c.runs.length ? c.runs[k + 1]!.start - 1 : raft.endIndex - 1, c.runs[k]!.term);
  }
  s.seg.offsetIndex = offsetIndex;
  s.seg.timeIndex = timeIndex;
  s.seg.sizeBytes = size;
  s.seg.nextOffset = c.nextOffset;
  s.seg.maxTimestamp = c.maxTimestamp;
  return { seg: s.seg, raft };
}

async function openOne(
  ctx: SegmentContext,
  baseOffset: number,
  ridx: RaftIndexFile,
  last: boolean,
  runs: TermRuns,
): Promise<ReplicatedSegment> {
  const path = join(ctx.dir, segmentFileStem(baseOffset) + LOG_SUFFIX);
  const file = await openSegmentFile(ctx, path, 'open');
  const seg = new Segment(ctx.fs, ctx.dir, baseOffset, file, ctx.config.indexIntervalBytes, ctx.nowMs);
  const fresh = (): ReplicatedSegment => ({
    seg,
    raft: new RaftSegmentIndex(ridx.firstIndex, ridx.prevTerm, ctx.config.indexIntervalBytes),
  });
  try {
    const size = await file.size();
    if (!last) {
      const persisted = await tryPersisted(ctx, fresh(), ridx, size, runs);
      if (persisted !== undefined) return persisted;
      ctx.logger.info({ file: path }, 'rebuilding segment indexes');
    }
    const s = fresh();
    const result = await scanInto(s, runs, size);
    if (result.invalid !== undefined) {
      // A closed segment is followed by another: invalid bytes in it are never a torn tail.
      if (!last) throw corrupt(path, result.invalid.position, result.invalid.reason);
      await cutTornTail(ctx, file, path, result.invalid, size, seg.nextOffset);
    }
    if (last) await seg.removePersistedIndexes();
    else await persistClosedIndexes(ctx, s, runs);
    return s;
  } catch (err) {
    await file.close();
    throw err;
  }
}

/** Opens the segments of `dir` oldest first (none when the folder holds no log) and their term runs. */
export async function openReplicatedSegments(
  ctx: SegmentContext,
): Promise<{ segments: ReplicatedSegment[]; runs: TermRuns | undefined }> {
  const bases = await listSegmentBases(ctx, [RAFT_INDEX_SUFFIX]);
  const segments: ReplicatedSegment[] = [];
  let runs: TermRuns | undefined;
  try {
    for (let k = 0; k < bases.length; k++) {
      const base = bases[k]!;
      const ridxBuf = await ctx.fs.readFile(raftIndexPath(ctx.dir, base));
      const ridx = ridxBuf === null ? null : decodeRaftIndexFile(ridxBuf);
      const path = join(ctx.dir, segmentFileStem(base) + LOG_SUFFIX);
      if (ridx === null) throw corrupt(path, 0, 'missing or unreadable .ridx');
      const previous = segments[segments.length - 1];
      if (previous !== undefined) {
        if (previous.seg.nextOffset !== base || previous.raft.endIndex !== ridx.firstIndex) {
          throw corrupt(path, 0, 'segment does not follow the previous one', {
            expectedOffset: previous.seg.nextOffset,
            expectedIndex: previous.raft.endIndex,
            foundIndex: ridx.firstIndex,
          });
        }
      }
      runs ??= new TermRuns(ridx.firstIndex - 1, ridx.prevTerm);
      segments.push(await openOne(ctx, base, ridx, k === bases.length - 1, runs));
    }
  } catch (err) {
    await Promise.allSettled(segments.map((s) => s.seg.close()));
    throw err;
  }
  return { segments, runs };
}

/** The stored batch of Raft index i (in segment s), found from the sparse Raft index by a header walk. */
export async function locateEntry(s: ReplicatedSegment, i: number): Promise<ScannedBatch | undefined> {
  const from = s.raft.floor(i);
  let k = s.raft.firstIndex + from.rel;
  let found: ScannedBatch | undefined;
  await scanBatches(s.seg.file, from.position, s.seg.sizeBytes, false, (b) => {
    if (k === i) {
      found = b;
      return false;
    }
    k++;
    return true;
  });
  return found;
}

/**
 * Entries [lo, hi) of segment s read from disk (a prefix: stops after maxBytes, at least one entry). Each
 * entry's data is a view into one read buffer. `endPosition` bounds the bytes known to be written.
 */
export async function readEntries(
  s: ReplicatedSegment,
  lo: number,
  hi: number,
  maxBytes: number,
  endPosition: number,
): Promise<Entry[]> {
  const out: Entry[] = [];
  const from = s.raft.floor(lo);
  let index = s.raft.firstIndex + from.rel;
  let pos = from.position;
  let bytes = 0;
  const last = Math.min(hi, s.raft.endIndex);
  while (index < last && pos < endPosition && (out.length === 0 || bytes < maxBytes)) {
    const len = Math.min(endPosition - pos, Math.min(maxBytes, READ_CHUNK_BYTES) + 64 * 1024);
    let buf = Buffer.allocUnsafe(len);
    const n = await s.seg.file.read(buf, 0, len, pos);
    let at = 0;
    while (index < last && at + 12 <= n && (out.length === 0 || bytes < maxBytes)) {
      const size = buf.readInt32BE(at + 8) + 12;
      if (size < 61) throw corrupt(s.seg.logPath, pos + at, `batch length ${size}`);
      if (at + size > n) {
        if (at > 0) break;
        // One batch larger than the buffer: read exactly it.
        buf = Buffer.allocUnsafe(size);
        const got = await s.seg.file.read(buf, 0, size, pos);
        if (got < size) throw corrupt(s.seg.logPath, pos, 'batch truncated by end of file');
      }
      if (index >= lo) {
        const e = entryFromBatch(buf.subarray(at, at + size), index);
        out.push(e);
        bytes += size;
      }
      index++;
      at += size;
    }
    if (at === 0) break;
    pos += at;
  }
  return out;
}

/**
 * Drops every stored entry >= i: later segments are deleted newest first (a crash part-way leaves a
 * contiguous log, longer than asked, never with a hole), then the one holding i is cut before it (with an
 * fdatasync). Returns the segment that is now active.
 */
export async function truncateSegments(
  ctx: SegmentContext,
  segments: ReplicatedSegment[],
  i: number,
): Promise<ReplicatedSegment> {
  let k = segments.length - 1;
  while (k > 0 && segments[k]!.raft.firstIndex > i) k--;
  const deleting = segments.length > k + 1;
  while (segments.length > k + 1) await deleteReplicatedSegment(ctx, segments.pop()!);
  // The deletes must be durable before the cut below: a crash would otherwise bring the later segments
  // back after a cut earlier one, a log with a hole that recovery refuses.
  if (deleting) await ctx.fs.syncDir(ctx.dir);
  const s = segments[k]!;
  if (i < s.raft.endIndex) {
    const batch = await s.seg.withReader(() => locateEntry(s, i));
    invariant(batch !== undefined, () => `entry ${i} not found in ${s.seg.logPath}`);
    await s.seg.truncateBefore(batch);
    s.raft.truncate(i - s.raft.firstIndex, batch.position);
  } else {
    // It was closed: it is the active segment again, whose indexes live in memory.
    await s.seg.removePersistedIndexes();
  }
  return s;
}
