/**
 * The log cleaner's swap on a replicated log's segments (log-cleaner.ts, segment-swap.ts): besides the
 * offset and time indexes, a segment's `.ridx` holds byte positions of Raft entries, which the copy moves.
 * The first segment's `.ridx` cannot simply go (its first index and previous term place the segment in the
 * Raft log, and a merged copy starts where its first segment did): it is rewritten without its
 * closed-segment part, so a crash before the new one is written makes the next open rebuild it by a scan.
 * The later segments of a merged run go with their `.ridx`. Batches and so Raft entries are one to one in
 * the run and its copy.
 */
import { invariant } from '../errors/index.js';
import { decodeRaftIndexFile, encodeRaftIndexFile } from './raft-files.js';
import { RaftSegmentIndex, type TermRuns } from './raft-index.js';
import { persistClosedIndexes, type ReplicatedSegment, raftIndexPath } from './replicated-segments.js';
import { deleteSegmentFiles, removeIndexFiles, type SegmentContext } from './segment-recovery.js';
import type { CleanedSegment } from './segment-rewrite.js';
import { commitSwap, finishInterruptedSwaps, type SwapFiles } from './segment-swap.js';

/** Makes a replicated segment's persisted indexes unusable (a scan rebuilds them), keeping its Raft place. */
async function resetIndexes(ctx: SegmentContext, baseOffset: number): Promise<void> {
  await removeIndexFiles(ctx, baseOffset);
  const path = raftIndexPath(ctx.dir, baseOffset);
  const buf = await ctx.fs.readFile(path);
  const ridx = buf === null ? null : decodeRaftIndexFile(buf);
  if (ridx?.closed === undefined) return;
  await ctx.fs.writeFileAtomic(
    path,
    encodeRaftIndexFile({ firstIndex: ridx.firstIndex, prevTerm: ridx.prevTerm }),
  );
}

function replicatedSwapFiles(ctx: SegmentContext): SwapFiles {
  return {
    staleIndexes: (base) => resetIndexes(ctx, base),
    deleteSegment: async (base) => {
      await deleteSegmentFiles(ctx, base);
      await ctx.fs.unlink(raftIndexPath(ctx.dir, base));
    },
  };
}

/** Swaps `cleaned` in for the adjacent segments `olds` on disk and returns the segment that replaces them. */
export async function swapReplicatedSegments(
  ctx: SegmentContext,
  olds: readonly ReplicatedSegment[],
  cleaned: CleanedSegment,
  runs: TermRuns,
): Promise<ReplicatedSegment> {
  const first = olds[0]!;
  const raft = new RaftSegmentIndex(
    first.raft.firstIndex,
    first.raft.prevTerm,
    ctx.config.indexIntervalBytes,
  );
  for (const b of cleaned.batches) raft.record(b.position, b.sizeBytes);
  const entries = olds.reduce((n, s) => n + s.raft.count, 0);
  invariant(
    raft.count === entries && raft.endIndex === olds.at(-1)!.raft.endIndex,
    () => `cleaned copy of ${first.seg.logPath} holds ${raft.count} entries, not ${entries}`,
  );
  await commitSwap(
    ctx.fs,
    ctx.dir,
    first.seg.baseOffset,
    olds.slice(1).map((s) => s.seg.baseOffset),
    replicatedSwapFiles(ctx),
  );
  const replaced: ReplicatedSegment = { seg: cleaned.segment, raft };
  await persistClosedIndexes(ctx, replaced, runs);
  return replaced;
}

/** Recovery: finishes or rolls back a swap a crash cut short (segment-swap.ts). */
export function finishReplicatedSwaps(ctx: SegmentContext): Promise<number[]> {
  return finishInterruptedSwaps(ctx.fs, ctx.dir, replicatedSwapFiles(ctx));
}
