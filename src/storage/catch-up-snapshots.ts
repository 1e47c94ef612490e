/**
 * Snapshots a replicated log keeps so that a follower behind the leader's first entry restarts its log near
 * the leader's log start. The latest snapshot alone would do for Raft, but a partition's log is its data:
 * a follower restarted at the latest snapshot holds only the entries since, up to 512 entries, where
 * retention keeps many segments, and if it is elected, everything before that is gone for consumers although
 * retention still kept it. So the log keeps the first snapshot taken in each segment, files
 * `raft-snapshot-<20-digit index>`, and asks the driver for one as soon as the applied index enters a
 * segment without (`wantsSnapshot`). A leader sends the oldest one at or above its log start: the follower
 * then receives every entry the leader still has, from the first one or nearly.
 */
import { join } from 'node:path';
import type { Snapshot } from '../raft/core/types.js';
import { decodeSnapshotFile, encodeSnapshotFile } from './raft-files.js';
import type { StorageFs } from './storage-fs.js';
import type { StorageLogger } from './types.js';

const PREFIX = 'raft-snapshot-';

function fileName(index: number): string {
  return `${PREFIX}${String(index).padStart(20, '0')}`;
}

export class CatchUpSnapshots {
  /** The first index of the newest segment whose snapshot could not be written: not asked for again. */
  private failedFrom = -1;

  private constructor(
    private readonly fs: StorageFs,
    private readonly dir: string,
    private readonly logger: StorageLogger,
    /** Ascending by index. */
    private kept: Snapshot[],
  ) {}

  /**
   * The kept snapshots of `dir` inside the log (`start`, the index before its first entry, to `last`);
   * others (retention or a snapshot install removed their entries before a crash) and unreadable ones are
   * deleted: they only ever save a follower some catching up.
   */
  static async load(
    fs: StorageFs,
    dir: string,
    logger: StorageLogger,
    start: number,
    last: number,
  ): Promise<CatchUpSnapshots> {
    const kept: Snapshot[] = [];
    for (const name of (await fs.readdir(dir)).filter((n) => n.startsWith(PREFIX)).sort()) {
      const buf = await fs.readFile(join(dir, name));
      if (buf === null) continue;
      const snap = decodeSnapshotFile(buf);
      if (typeof snap !== 'string' && snap.metadata.index >= start && snap.metadata.index <= last) {
        kept.push(snap);
        continue;
      }
      if (typeof snap === 'string')
        logger.warn({ dir, file: name, reason: snap }, 'catch-up snapshot dropped');
      await fs.unlink(join(dir, name));
    }
    return new CatchUpSnapshots(fs, dir, logger, kept);
  }

  /** The oldest kept snapshot at or above `start` (the index before the log's first entry). */
  oldestFrom(start: number): Snapshot | undefined {
    return this.kept.find((s) => s.metadata.index >= start);
  }

  /** A snapshot is kept from the segment whose first entry is `segmentFirstIndex` on. */
  covers(segmentFirstIndex: number): boolean {
    if (this.failedFrom >= segmentFirstIndex) return true; // tried: a failing disk is not asked every Ready
    const newest = this.kept[this.kept.length - 1];
    return newest !== undefined && newest.metadata.index >= segmentFirstIndex;
  }

  /**
   * Keeps `snap` when it is the first taken in its segment (whose first entry is `segmentFirstIndex`). A
   * write that fails is logged, not raised: these files only save a far-behind follower some catching up,
   * and failing the partition's snapshot (which stops its Raft node) over one would cost far more.
   */
  async keep(snap: Snapshot, segmentFirstIndex: number): Promise<void> {
    if (this.covers(segmentFirstIndex)) return;
    try {
      await this.fs.writeFileAtomic(join(this.dir, fileName(snap.metadata.index)), encodeSnapshotFile(snap));
    } catch (err) {
      this.failedFrom = segmentFirstIndex;
      this.logger.warn(
        { dir: this.dir, index: snap.metadata.index, error: String(err) },
        'could not keep a catch-up snapshot: a follower behind the log start restarts later in the log',
      );
      return;
    }
    this.kept.push(snap);
  }

  /** Forgets the snapshots below `start`: retention deleted the entries after them. */
  async dropBelow(start: number): Promise<void> {
    while (this.kept.length > 0 && this.kept[0]!.metadata.index < start) {
      const gone = this.kept.shift()!;
      await this.fs.unlink(join(this.dir, fileName(gone.metadata.index)));
    }
  }

  /** A snapshot install replaced the log: `snap` is its start and the only snapshot kept. */
  async reset(snap: Snapshot): Promise<void> {
    await this.dropBelow(Number.POSITIVE_INFINITY);
    await this.keep(snap, snap.metadata.index);
  }
}
