/**
 * Snapshots a replicated log keeps so that a follower behind the leader's first entry restarts its log near
 * the leader's log start. The latest snapshot alone would do for Raft, but a partition's log is its data:
 * a follower restarted at the latest snapshot holds only the entries since, up to 512 entries, where
 * retention keeps many segments, and if it is elected, everything before that is gone for consumers although
 * retention still kept it. So the log keeps the first snapshot taken in each segment, files
 * `raft-snapshot-<20-digit index>`, and asks the driver for one as soon as the applied index enters a
 * segment without (`wantsSnapshot`). A leader sends the oldest one at or above its log start: the follower
 * then receives every entry the leader still has, from the first one or nearly. Only that oldest one is held
 * in memory (a partition's snapshot carries its producer state, up to megabytes, and a log may have
 * hundreds of segments); the next is read from its file when retention drops the oldest. When the log
 * cleaner merges segments, the snapshots of all but the first go with their segment boundaries.
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

interface KeptSnapshot {
  readonly index: number;
  snap: Snapshot | null;
}

export class CatchUpSnapshots {
  /** The first index of the newest segment whose snapshot could not be written: not asked for again. */
  private failedFrom = -1;

  private constructor(
    private readonly fs: StorageFs,
    private readonly dir: string,
    private readonly logger: StorageLogger,
    /** Ascending by index; the snapshot itself only for the first (the one a follower is sent). */
    private kept: KeptSnapshot[],
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
    const kept: KeptSnapshot[] = [];
    for (const name of (await fs.readdir(dir)).filter((n) => n.startsWith(PREFIX)).sort()) {
      const buf = await fs.readFile(join(dir, name));
      if (buf === null) continue;
      const snap = decodeSnapshotFile(buf);
      if (typeof snap !== 'string' && snap.metadata.index >= start && snap.metadata.index <= last) {
        kept.push({ index: snap.metadata.index, snap: kept.length === 0 ? snap : null });
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
    return this.kept.find((k) => k.index >= start)?.snap ?? undefined;
  }

  /** A snapshot is kept from the segment whose first entry is `segmentFirstIndex` on. */
  covers(segmentFirstIndex: number): boolean {
    if (this.failedFrom >= segmentFirstIndex) return true; // tried: a failing disk is not asked every Ready
    const newest = this.kept[this.kept.length - 1];
    return newest !== undefined && newest.index >= segmentFirstIndex;
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
    this.kept.push({ index: snap.metadata.index, snap: this.kept.length === 0 ? snap : null });
  }

  /**
   * Segments were merged into one whose entries are [firstIndex, endIndex) (the log cleaner): retention now
   * deletes them together, so only the first snapshot kept within is of use; the others go.
   */
  async merged(firstIndex: number, endIndex: number): Promise<void> {
    const within = this.kept.filter((k) => k.index >= firstIndex && k.index < endIndex);
    for (const gone of within.slice(1)) {
      this.kept.splice(this.kept.indexOf(gone), 1);
      await this.fs.unlink(join(this.dir, fileName(gone.index)));
    }
  }

  /** Forgets the snapshots below `start`: retention deleted the entries after them. */
  async dropBelow(start: number): Promise<void> {
    while (this.kept.length > 0 && this.kept[0]!.index < start) {
      const gone = this.kept.shift()!;
      await this.fs.unlink(join(this.dir, fileName(gone.index)));
    }
    await this.loadFirst();
  }

  /** The oldest is the one a follower is sent: into memory. One unreadable now is dropped (with a warning). */
  private async loadFirst(): Promise<void> {
    for (let first = this.kept[0]; first !== undefined && first.snap === null; first = this.kept[0]) {
      const buf = await this.fs.readFile(join(this.dir, fileName(first.index)));
      const snap = buf === null ? 'missing' : decodeSnapshotFile(buf);
      if (typeof snap !== 'string') {
        first.snap = snap;
        return;
      }
      this.logger.warn({ dir: this.dir, index: first.index, reason: snap }, 'catch-up snapshot dropped');
      this.kept.shift();
      await this.fs.unlink(join(this.dir, fileName(first.index))).catch(() => undefined);
    }
  }

  /** A snapshot install replaced the log: `snap` is its start and the only snapshot kept. */
  async reset(snap: Snapshot): Promise<void> {
    await this.dropBelow(Number.POSITIVE_INFINITY);
    await this.keep(snap, snap.metadata.index);
  }
}
