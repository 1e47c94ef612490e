/**
 * Recovery of a replicated log's folder: segments (replicated-segments.ts), the snapshot file and the hard
 * state file, reconciled. A log that does not reach its snapshot, or disagrees with it at the snapshot's
 * index, predates an installed snapshot (a crash between writing the snapshot and replacing the log): it is
 * replaced by an empty log at the snapshot. A commit index past the recovered log is clamped to it, and
 * one below the snapshot (its hard state was not yet fsynced when power went) is raised to it.
 */
import { join } from 'node:path';
import { StreamBusError } from '../errors/index.js';
import { EMPTY_SNAPSHOT, type HardState, type Snapshot } from '../raft/core/types.js';
import { decodePartitionSnapshot } from './partition-store.js';
import { decodeSnapshotFile, HARD_STATE_FILE, HardStateFile, SNAPSHOT_FILE } from './raft-files.js';
import { TermRuns } from './raft-index.js';
import { finishReplicatedSwaps } from './replicated-cleaning.js';
import {
  createReplicatedSegment,
  deleteReplicatedSegment,
  openReplicatedSegments,
  type ReplicatedSegment,
} from './replicated-segments.js';
import type { SegmentContext } from './segment-recovery.js';

export interface RecoveredLog {
  segments: ReplicatedSegment[];
  runs: TermRuns;
  snap: Snapshot;
  hard: HardState;
  hsFile: HardStateFile;
  /** The folder held no log and no snapshot (a bootstrap may write the first entries). */
  fresh: boolean;
}

async function readSnapshot(ctx: SegmentContext): Promise<Snapshot> {
  const buf = await ctx.fs.readFile(join(ctx.dir, SNAPSHOT_FILE));
  if (buf === null) return EMPTY_SNAPSHOT;
  const decoded = decodeSnapshotFile(buf);
  if (typeof decoded !== 'string') return decoded;
  throw new StreamBusError('CORRUPT_LOG', {
    operation: 'log.recover',
    message: `snapshot file unreadable: ${decoded}`,
    metadata: { dir: ctx.dir, reason: decoded },
  });
}

export async function recoverReplicatedLog(ctx: SegmentContext): Promise<RecoveredLog> {
  // A log cleaner's swap cut short by a crash is finished or rolled back before the segments are listed.
  await finishReplicatedSwaps(ctx);
  const opened = await openReplicatedSegments(ctx);
  let segments = opened.segments;
  let hsFile: HardStateFile | undefined;
  try {
    const snap = await readSnapshot(ctx);
    const si = snap.metadata.index;
    const fresh = segments.length === 0 && si === 0;
    let runs = opened.runs;
    if (
      runs !== undefined &&
      si > 0 &&
      (si > runs.last() || (si >= runs.start() && runs.term(si) !== snap.metadata.term))
    ) {
      ctx.logger.warn(
        { dir: ctx.dir, snapshotIndex: si, lastIndex: runs.last() },
        'log behind its snapshot: starting at the snapshot',
      );
      // Newest first, like a truncation.
      while (segments.length > 0) await deleteReplicatedSegment(ctx, segments.pop()!);
    }
    if (runs === undefined || segments.length === 0) {
      const nextOffset = decodePartitionSnapshot(snap.data).nextOffset;
      segments = [await createReplicatedSegment(ctx, nextOffset, si + 1, snap.metadata.term)];
      runs = new TermRuns(si, snap.metadata.term);
    }
    const hsPath = join(ctx.dir, HARD_STATE_FILE);
    const hsExists = (await ctx.fs.readFile(hsPath)) !== null;
    hsFile = await HardStateFile.open(await ctx.fs.openFile(hsPath, hsExists ? 'open' : 'create'));
    if (!hsExists) await ctx.fs.syncDir(ctx.dir);
    let hard = hsFile.initial;
    if (hard.commit > runs.last()) {
      ctx.logger.warn(
        { dir: ctx.dir, commit: hard.commit, lastIndex: runs.last() },
        'commit index past the log end: clamped',
      );
      hard = { ...hard, commit: runs.last() };
    }
    // A hard state that only moved its commit is written without fsync, a snapshot with one: after a power
    // loss the snapshot can be ahead of the recorded commit. Everything in a snapshot was committed.
    if (hard.commit < si) hard = { ...hard, commit: si };
    // Whatever survived the restart may still be only in the page cache: make it durable before exposing it.
    await segments[segments.length - 1]!.seg.file.datasync();
    return { segments, runs, snap, hard, hsFile, fresh };
  } catch (err) {
    await Promise.allSettled(segments.map((s) => s.seg.close()));
    await hsFile?.close().catch(() => undefined);
    throw err;
  }
}
