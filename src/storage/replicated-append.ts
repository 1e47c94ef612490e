/**
 * The write path of a replicated log: entries become batches (raft-batch.ts) written after the end of the
 * active segment with one writev per segment, rolling to a new segment by size or age like PartitionLog.
 * The caller fsyncs the last segment once (group commit) and publishes the entries.
 */
import type { Entry } from '../raft/core/types.js';
import type { LogConfig } from './config.js';
import { batchForEntry } from './raft-batch.js';
import type { TermRuns } from './raft-index.js';
import {
  createReplicatedSegment,
  persistClosedIndexes,
  type ReplicatedSegment,
} from './replicated-segments.js';
import { RELATIVE_OFFSET_MAX } from './segment.js';
import type { SegmentContext } from './segment-recovery.js';

export interface WriteResult {
  /** The segment the last entry went to (the active one now). */
  readonly last: ReplicatedSegment;
  /** The log end offset after the entries. */
  readonly nextOffset: number;
  /** fdatasyncs made by rolls (each closed segment is synced before the next one starts). */
  readonly rollFsyncs: number;
  /** The batches written to `last`, in log order: data batches and control batches of Raft-only entries. */
  readonly lastSegmentBatches: readonly Buffer[];
}

function shouldRoll(
  s: ReplicatedSegment,
  config: LogConfig,
  batchBytes: number,
  lastOffset: number,
  nowMs: number,
): boolean {
  // Roll only after a segment holds data: base offsets (file names) then stay unique.
  if (s.seg.nextOffset === s.seg.baseOffset) return false;
  return (
    s.seg.sizeBytes + batchBytes > config.segmentBytes ||
    nowMs - s.seg.createdMs >= config.segmentMs ||
    // Index entries hold offsets relative to the segment base as uint32.
    lastOffset - s.seg.baseOffset > RELATIVE_OFFSET_MAX
  );
}

async function roll(
  ctx: SegmentContext,
  segments: ReplicatedSegment[],
  runs: TermRuns,
): Promise<ReplicatedSegment> {
  const old = segments[segments.length - 1]!;
  await old.seg.seal();
  await persistClosedIndexes(ctx, old, runs);
  const s = await createReplicatedSegment(ctx, old.seg.nextOffset, old.raft.endIndex, runs.lastTerm());
  segments.push(s);
  ctx.logger.info(
    { dir: ctx.dir, baseOffset: s.seg.baseOffset, firstIndex: s.raft.firstIndex },
    'rolled segment',
  );
  return s;
}

/**
 * Writes `entries` (contiguous, directly after the last stored one) and records them in the segment
 * indexes and `runs`. Rolls push onto `segments`.
 */
export async function writeEntries(
  ctx: SegmentContext,
  segments: ReplicatedSegment[],
  runs: TermRuns,
  entries: readonly Entry[],
): Promise<WriteResult> {
  let s = segments[segments.length - 1]!;
  let run: Buffer[] = [];
  let runStart = s.seg.sizeBytes;
  let offset = s.seg.nextOffset;
  let rollFsyncs = 0;
  for (const e of entries) {
    const stored = batchForEntry(e, offset);
    const size = stored.batch.length;
    const lastOffset = offset + stored.offsetCount - 1;
    if (stored.offsetCount > 0 && shouldRoll(s, ctx.config, size, lastOffset, ctx.nowMs)) {
      if (run.length > 0) await s.seg.file.writev(run, runStart);
      run = [];
      s = await roll(ctx, segments, runs);
      rollFsyncs++;
      runStart = 0;
    }
    s.raft.record(s.seg.sizeBytes, size);
    s.seg.recordBatch(s.seg.sizeBytes, size, offset, lastOffset, stored.maxTimestamp);
    // Term runs advance now (a roll persists them); the store's term() reads only up to its published index.
    runs.append(e.index, e.term);
    run.push(stored.batch);
    offset += stored.offsetCount;
  }
  if (run.length > 0) await s.seg.file.writev(run, runStart);
  return { last: s, nextOffset: offset, rollFsyncs, lastSegmentBatches: run };
}
