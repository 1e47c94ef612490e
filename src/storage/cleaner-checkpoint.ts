/**
 * What the log cleaner remembers of a partition between passes, in `cleaner-checkpoint` in its folder
 * (Kafka's cleaner-offset-checkpoint, per partition): where the dirty part of the log starts, and when the
 * next kept tombstone may go. Losing it costs work only: the whole log then counts as dirty.
 */
import { join } from 'node:path';
import type { StorageFs } from './storage-fs.js';

export const CLEANER_CHECKPOINT_FILE = 'cleaner-checkpoint';

export interface CleanerCheckpoint {
  /** Records below this offset were compacted by an earlier pass. */
  readonly firstDirtyOffset: number;
  /** The earliest delete horizon of a tombstone still in the log; -1 when none is known. */
  readonly tombstoneHorizonMs: number;
}

export const NO_CHECKPOINT: CleanerCheckpoint = { firstDirtyOffset: 0, tombstoneHorizonMs: -1 };

export async function readCleanerCheckpoint(fs: StorageFs, dir: string): Promise<CleanerCheckpoint> {
  const raw = await fs.readFile(join(dir, CLEANER_CHECKPOINT_FILE));
  if (raw === null) return NO_CHECKPOINT;
  try {
    const doc = JSON.parse(raw.toString('utf8')) as Partial<CleanerCheckpoint>;
    const { firstDirtyOffset, tombstoneHorizonMs } = doc;
    if (Number.isSafeInteger(firstDirtyOffset) && Number.isSafeInteger(tombstoneHorizonMs)) {
      return { firstDirtyOffset: firstDirtyOffset!, tombstoneHorizonMs: tombstoneHorizonMs! };
    }
  } catch {
    // A damaged checkpoint is as good as none.
  }
  return NO_CHECKPOINT;
}

export function writeCleanerCheckpoint(
  fs: StorageFs,
  dir: string,
  checkpoint: CleanerCheckpoint,
): Promise<void> {
  return fs.writeFileAtomic(join(dir, CLEANER_CHECKPOINT_FILE), Buffer.from(JSON.stringify(checkpoint)));
}

/** After a truncation the offsets above it may hold new data: everything counts as dirty again. */
export function forgetCleanerCheckpoint(fs: StorageFs, dir: string): Promise<void> {
  return fs.unlink(join(dir, CLEANER_CHECKPOINT_FILE));
}
