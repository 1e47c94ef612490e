/**
 * Replacing a run of adjacent closed segments by one cleaned copy, crash-safely (Kafka's `.cleaned` /
 * `.swap`). The copy starts at the first segment's base offset `base`; a run of one is a plain clean, a longer
 * run a merge (the cleaner groups small segments, log-cleaner.ts):
 *
 *   1. the copy is written to `<base>.log.cleaned` and fsynced; a crash now leaves the old segments whole,
 *      and recovery deletes the `.cleaned` file (rolls back);
 *   2. renamed to `<base>.log.swap`, folder fsynced: the commit point. From here recovery finishes the swap;
 *   3. the other segments of the run are deleted (`deleteSegment`, log file first), the first segment's
 *      persisted indexes, now stale, are removed (`staleIndexes`: a replicated segment's `.ridx` is reset
 *      instead, see replicated-cleaning.ts), then `.swap` is renamed over `<base>.log` and the folder
 *      fsynced. Recovery rebuilds the missing indexes by scanning, or the caller writes them.
 *
 * Recovery finds the run a `.swap` file replaced from the file itself: every segment whose base offset lies
 * inside the copy's offset range after `base` was merged into it and is deleted (again, if step 3 had begun).
 * Every copy holds the same batches (base offsets, offset ranges, terms, max timestamps) as the files it
 * replaces, only fewer records, so either the old run or the copy is valid at that place in the log.
 */
import { join } from 'node:path';
import { scanBatches } from './batch-scan.js';
import { LOG_SUFFIX, parseSegmentFileName, type Segment, segmentFileStem } from './segment.js';
import type { StorageFs } from './storage-fs.js';
import type { StorageLogger } from './types.js';

export const CLEANED_SUFFIX = '.log.cleaned';
export const SWAP_SUFFIX = '.log.swap';

export function cleanedPath(dir: string, baseOffset: number): string {
  return join(dir, segmentFileStem(baseOffset) + CLEANED_SUFFIX);
}

/** What a log does to its segments' files when a copy replaces them. */
export interface SwapFiles {
  /** The first segment keeps its place, but its persisted indexes no longer match its log. */
  staleIndexes(baseOffset: number): Promise<void>;
  /** A later segment of a merged run goes entirely: log file first (an index without a log is ignored). */
  deleteSegment(baseOffset: number): Promise<void>;
}

/**
 * Steps 2 and 3: the `.cleaned` file of `baseOffset` (written and fsynced) becomes the segment's log;
 * `mergedBases` are the base offsets of the run's other segments, which it replaces too.
 */
export async function commitSwap(
  fs: StorageFs,
  dir: string,
  baseOffset: number,
  mergedBases: readonly number[],
  files: SwapFiles,
): Promise<void> {
  const stem = join(dir, segmentFileStem(baseOffset));
  await fs.rename(stem + CLEANED_SUFFIX, stem + SWAP_SUFFIX);
  await fs.syncDir(dir);
  await replaceWithSwap(fs, dir, baseOffset, mergedBases, files);
}

async function replaceWithSwap(
  fs: StorageFs,
  dir: string,
  baseOffset: number,
  mergedBases: readonly number[],
  files: SwapFiles,
): Promise<void> {
  const stem = join(dir, segmentFileStem(baseOffset));
  for (const base of mergedBases) await files.deleteSegment(base);
  await files.staleIndexes(baseOffset);
  await fs.rename(stem + SWAP_SUFFIX, `${stem}${LOG_SUFFIX}`);
  await fs.syncDir(dir);
}

/** The offset after the last batch of a (complete, fsynced) swap file. */
async function swapFileEnd(fs: StorageFs, path: string, baseOffset: number): Promise<number> {
  const file = await fs.openFile(path, 'open');
  try {
    let end = baseOffset;
    await scanBatches(file, 0, await file.size(), false, (b) => {
      end = b.lastOffset + 1;
      return true;
    });
    return end;
  } finally {
    await file.close();
  }
}

/**
 * Recovery, before the segments are listed: a `.cleaned` file is an unfinished copy (deleted), a `.swap`
 * file a committed one (the swap is finished, deleting what is left of a merged run). Returns the base
 * offsets whose swap was finished.
 */
export async function finishInterruptedSwaps(
  fs: StorageFs,
  dir: string,
  files: SwapFiles,
): Promise<number[]> {
  await fs.mkdirp(dir);
  const names = await fs.readdir(dir);
  const finished: number[] = [];
  for (const name of names) {
    if (name.endsWith(CLEANED_SUFFIX)) await fs.unlink(join(dir, name));
  }
  const logBases = names
    .map((n) => parseSegmentFileName(n, LOG_SUFFIX))
    .filter((b): b is number => b !== undefined);
  for (const name of names) {
    const base = parseSegmentFileName(name, SWAP_SUFFIX);
    if (base === undefined) continue;
    const end = await swapFileEnd(fs, join(dir, name), base);
    const merged = logBases.filter((b) => b > base && b < end).sort((a, b) => a - b);
    await replaceWithSwap(fs, dir, base, merged, files);
    finished.push(base);
  }
  return finished;
}

/**
 * Closes a segment a cleaned copy replaced, in the background: reads that picked it before the swap finish
 * on its file (renamed over or deleted, still open; Segment.close waits for them), then it closes.
 */
export function closeReplacedSegment(old: Segment, dir: string, logger: StorageLogger): void {
  old
    .close()
    .catch((err: unknown) => logger.warn({ dir, error: String(err) }, 'closing a cleaned segment failed'));
}
