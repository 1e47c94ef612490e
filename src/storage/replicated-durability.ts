/**
 * When a replicated log's writes become durable. Segment data is synced by each save under flushPolicy
 * 'always' (group commit), otherwise by flush (the interval timer) and close. The hard state is written when
 * its term or vote change, but a change of the commit index alone at most once per
 * HARD_STATE_COMMIT_WRITE_INTERVAL_MS, and on flush and close. After a failed save nothing more is written:
 * what reached the disk is left for recovery to judge on reopen.
 *
 * Apart from ReplicatedLog so that the log's write path reads as Raft's order of writes while this policy,
 * and the fsync counting the metrics need, sit in one place.
 */

import { StreamBusError, toStreamBusError } from '../errors/index.js';
import type { HardState } from '../raft/core/types.js';
import type { HardStateFile } from './raft-files.js';
import type { ReplicatedSegment } from './replicated-segments.js';
import { storageError } from './replicated-types.js';
import type { Clock, StorageLogger } from './types.js';

/**
 * Longest a commit-index-only change of the hard state stays unwritten. Followers learn the commit index
 * from the leader's next append or heartbeat (a 100 ms tick), so theirs is about this stale on disk anyway.
 */
export const HARD_STATE_COMMIT_WRITE_INTERVAL_MS = 100;

export class ReplicatedDurability {
  /** Segment data written but not fsynced. */
  dirty = false;
  /** fdatasyncs of segment data (saves, rolls, truncations, flushes). */
  fsyncs = 0;
  /** Why a save failed; every later save rethrows it (reopen the store). */
  failed: Error | undefined;
  /** The in-memory hard state has a commit index not written to the hard state file yet. */
  private hardDirty = false;
  private hardWrittenAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly dir: string,
    private readonly logger: StorageLogger,
    private readonly clock: Clock,
    private readonly onFsync: ((durationSeconds: number) => void) | undefined,
    private hard: HardState,
    private readonly hsFile: HardStateFile,
  ) {}

  /** The last hard state saved, whether or not its commit index is on disk yet. */
  get hardState(): HardState {
    return this.hard;
  }

  async saveHardState(hs: HardState, sync: boolean): Promise<void> {
    const changed = hs.term !== this.hard.term || hs.vote !== this.hard.vote;
    if (!changed && hs.commit === this.hard.commit) return;
    if (!changed && this.clock.nowMs() - this.hardWrittenAtMs < HARD_STATE_COMMIT_WRITE_INTERVAL_MS) {
      // The commit index moves with nearly every save; writing it each time cost a file write per Ready on
      // every replica. A stale one on disk is safe (it is relearned from the leader, and initialState never
      // reports it below the snapshot), so it is written at most once per interval, and on flush and close.
      this.hard = hs;
      this.hardDirty = true;
      return;
    }
    await this.writeHardState(hs, sync && changed);
  }

  private async writeHardState(hs: HardState, sync: boolean): Promise<void> {
    // Only term and vote need an fsync: a lost commit index is relearned from the leader.
    await this.hsFile.write(hs, sync);
    this.hard = hs;
    this.hardDirty = false;
    this.hardWrittenAtMs = this.clock.nowMs();
  }

  async timedDatasync(s: ReplicatedSegment): Promise<void> {
    const started = performance.now();
    await s.seg.file.datasync();
    this.countSync(started);
  }

  /** Counts a data sync that began at `startedMs`: an fdatasync, or durable (O_DSYNC) writes. */
  countSync(startedMs: number): void {
    this.fsyncs++;
    this.dirty = false;
    this.onFsync?.((performance.now() - startedMs) / 1000);
  }

  /** Records why a save failed and returns the error to throw. */
  saveFailed(err: unknown): Error {
    const failure = storageError(err, 'log.save');
    this.failed = failure;
    this.logger.error(
      {
        dir: this.dir,
        code: failure instanceof StreamBusError ? failure.code : failure.name,
        error: failure.message,
      },
      'save failed',
    );
    return failure;
  }

  /** Writes a deferred commit index, then fsyncs `active` if it holds unsynced data. Throws as log.flush. */
  async flush(active: ReplicatedSegment): Promise<void> {
    if (this.hardDirty && this.failed === undefined) {
      await this.writeHardState(this.hard, false).catch((err: unknown) => {
        throw toStreamBusError(err, 'log.flush');
      });
    }
    if (!this.dirty) return;
    try {
      await this.timedDatasync(active);
    } catch (err) {
      throw toStreamBusError(err, 'log.flush');
    }
  }

  /** The flush of a close: best effort, and nothing at all once a save failed. */
  async flushQuietly(active: ReplicatedSegment): Promise<void> {
    if (this.hardDirty && this.failed === undefined)
      await this.writeHardState(this.hard, false).catch(() => undefined);
    if (this.dirty && this.failed === undefined) await this.timedDatasync(active).catch(() => undefined);
  }

  close(): Promise<void> {
    return this.hsFile.close().catch(() => undefined);
  }
}
