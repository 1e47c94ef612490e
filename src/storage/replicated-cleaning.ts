/**
 * The log cleaner's swap on a replicated log's segment (log-cleaner.ts, segment-swap.ts): besides the
 * offset and time indexes, its `.ridx` holds byte positions of Raft entries, which the copy moves. The
 * `.ridx` cannot simply go (its first index and previous term place the segment in the Raft log): it is
 * rewritten without its closed-segment part, so a crash before the new one is written makes the next open
 * rebuild it by a scan. Batches and so Raft entries are one to one in both copies.
 */
import { invariant } from '../errors/index.js';
import { decodeRaftIndexFile, encodeRaftIndexFile } from './raft-files.js';
import { RaftSegmentIndex, type TermRuns } from './raft-index.js';
import { persistClosedIndexes, type ReplicatedSegment, raftIndexPath } from './replicated-segments.js';
import { removeIndexFiles, type SegmentContext } from './segment-recovery.js';
import type { CleanedSegment } from './segment-rewrite.js';
import { commitSwap, finishInterruptedSwaps } from './segment-swap.js';

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

/** Swaps `cleaned` in for `old` on disk and returns the segment that replaces it in memory. */
export async function swapReplicatedSegment(
  ctx: SegmentContext,
  old: ReplicatedSegment,
  cleaned: CleanedSegment,
  runs: TermRuns,
): Promise<ReplicatedSegment> {
  const raft = new RaftSegmentIndex(old.raft.firstIndex, old.raft.prevTerm, ctx.config.indexIntervalBytes);
  for (const b of cleaned.batches) raft.record(b.position, b.sizeBytes);
  invariant(
    raft.count === old.raft.count,
    () => `cleaned copy of ${old.seg.logPath} holds ${raft.count} entries, not ${old.raft.count}`,
  );
  await commitSwap(ctx.fs, ctx.dir, old.seg.baseOffset, (base) => resetIndexes(ctx, base));
  const replaced: ReplicatedSegment = { seg: cleaned.segment, raft };
  await persistClosedIndexes(ctx, replaced, runs);
  return replaced;
}

/** Recovery: finishes or rolls back a swap a crash cut short (segment-swap.ts). */
export function finishReplicatedSwaps(ctx: SegmentContext): Promise<number[]> {
  return finishInterruptedSwaps(ctx.fs, ctx.dir, (base) => resetIndexes(ctx, base));
}
