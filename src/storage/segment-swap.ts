/**
 * Replacing a closed segment's log file by its cleaned copy, crash-safely (Kafka's `.cleaned` / `.swap`):
 *
 *   1. the copy is written to `<base>.log.cleaned` and fsynced; a crash now leaves the old segment whole,
 *      and recovery deletes the `.cleaned` file (rolls back);
 *   2. renamed to `<base>.log.swap`, folder fsynced: the commit point. From here recovery finishes the swap;
 *   3. the old segment's persisted indexes, now stale, are removed (`staleIndexes`: a replicated segment's
 *      `.ridx` is reset instead, see replicated-log-cleaning.ts), then `.swap` is renamed over `<base>.log`
 *      and the folder fsynced. Recovery rebuilds the missing indexes by scanning, or the caller writes them.
 *
 * Every copy holds the same batches (base offsets, offset ranges, terms, max timestamps) as the file it
 * replaces, only fewer records, so either file is a valid segment at that place in the log.
 */
import { join } from 'node:path';
import { type Segment, segmentFileStem } from './segment.js';
import type { StorageFs } from './storage-fs.js';
import type { StorageLogger } from './types.js';

export const CLEANED_SUFFIX = '.log.cleaned';
export const SWAP_SUFFIX = '.log.swap';

export function cleanedPath(dir: string, baseOffset: number): string {
  return join(dir, segmentFileStem(baseOffset) + CLEANED_SUFFIX);
}

/** What happens to a segment's persisted indexes when its log is replaced: they no longer match it. */
export type StaleIndexes = (baseOffset: number) => Promise<void>;

/** Steps 2 and 3: the `.cleaned` file of `baseOffset` (written and fsynced) becomes the segment's log. */
export async function commitSwap(
  fs: StorageFs,
  dir: string,
  baseOffset: number,
  staleIndexes: StaleIndexes,
): Promise<void> {
  const stem = join(dir, segmentFileStem(baseOffset));
  await fs.rename(stem + CLEANED_SUFFIX, stem + SWAP_SUFFIX);
  await fs.syncDir(dir);
  await replaceWithSwap(fs, dir, baseOffset, staleIndexes);
}

async function replaceWithSwap(
  fs: StorageFs,
  dir: string,
  baseOffset: number,
  staleIndexes: StaleIndexes,
): Promise<void> {
  const stem = join(dir, segmentFileStem(baseOffset));
  await staleIndexes(baseOffset);
  await fs.rename(stem + SWAP_SUFFIX, `${stem}.log`);
  await fs.syncDir(dir);
}

/**
 * Recovery, before the segments are listed: a `.cleaned` file is an unfinished copy (deleted), a `.swap`
 * file a committed one (the swap is finished). Returns the base offsets whose swap was finished.
 */
export async function finishInterruptedSwaps(
  fs: StorageFs,
  dir: string,
  staleIndexes: StaleIndexes,
): Promise<number[]> {
  await fs.mkdirp(dir);
  const names = await fs.readdir(dir);
  const finished: number[] = [];
  for (const name of names) {
    if (name.endsWith(CLEANED_SUFFIX)) await fs.unlink(join(dir, name));
  }
  for (const name of names) {
    if (!name.endsWith(SWAP_SUFFIX)) continue;
    const stem = name.slice(0, -SWAP_SUFFIX.length);
    const base = /^\d{20}$/.test(stem) ? Number(stem) : Number.NaN;
    if (!Number.isSafeInteger(base)) continue;
    await replaceWithSwap(fs, dir, base, staleIndexes);
    finished.push(base);
  }
  return finished;
}

/**
 * Closes the segment a cleaned copy replaced, in the background: reads that picked it before the swap
 * finish on its file (renamed over, still open; Segment.close waits for them), then it closes.
 */
export function closeReplacedSegment(old: Segment, dir: string, logger: StorageLogger): void {
  old
    .close()
    .catch((err: unknown) => logger.warn({ dir, error: String(err) }, 'closing a cleaned segment failed'));
}
