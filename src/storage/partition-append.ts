/**
 * The write path of a PartitionLog, apart from its reads and maintenance: group commit.
 *
 * Appends queue up; a single writer takes everything queued, stamps offsets, writes it with one writev per
 * segment and (flushPolicy 'always') one fdatasync, then resolves the whole group (under 'always' the segment
 * is opened O_DSYNC, so the write is the sync: one system call). Appends made while that
 * fsync runs form the next group, so fsyncs stay far fewer than appends under load. A failed write or fsync
 * (ENOSPC -> DISK_FULL) truncates the group's bytes away and fails only that group; later groups retry.
 *
 * The log keeps the segment list, the mutex and the high watermark; this writer keeps what only writing
 * needs (the queue, the failure state) and the data-sync bookkeeping that flush, truncation and close share.
 */

import { toStreamBusError } from '../errors/index.js';
import { OFF_LAST_OFFSET_DELTA, OFF_MAX_TIMESTAMP, readInt64, stampBatch } from '../protocol/record-batch.js';
import type { LogConfig } from './config.js';
import { RELATIVE_OFFSET_MAX, type Segment } from './segment.js';
import { createSegment, type SegmentContext } from './segment-recovery.js';
import type { Clock, StorageLogger } from './types.js';

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
}

/** One append call: its validated batches and the promise it waits on. */
export interface PendingAppend {
  batches: Buffer[];
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

/** What the writer uses of its log. */
export interface GroupCommitHost {
  readonly dir: string;
  readonly clock: Clock;
  readonly logger: StorageLogger;
  /** The log's segments, oldest first; rolls push onto it and a failed group pops what it created. */
  readonly segments: Segment[];
  readonly onFsync: ((durationSeconds: number) => void) | undefined;
  config(): LogConfig;
  context(nowMs: number): SegmentContext;
  /** Runs `fn` under the log's mutex, so groups never overlap maintenance. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** A batch of a group just written, stamped with its offsets (for the log's in-memory tail). */
  wrote(batch: Buffer): void;
  /** A group is written (and durable per the flush policy): readers may see it. */
  publishLogEnd(): void;
  /** The group just published rolled the log onto a new segment. */
  rolled(): void;
}

export class GroupCommitWriter {
  /** Settles once the queue is empty; undefined while no group is being written. */
  draining: Promise<void> | undefined;
  /** Written but not fsynced (policies 'interval' and 'never'). */
  dirty = false;
  /** Data syncs made by the log (group commits, rolls, flushes): fdatasyncs, or O_DSYNC group writes. */
  fsyncs = 0;
  /** Append calls that succeeded. */
  appends = 0;
  /** Write groups (one writev + at most one fsync each). */
  groups = 0;
  /** The error code appends fail with right now, or null while they succeed (logged on change only). */
  private appendsFailing: string | null = null;
  private pending: PendingAppend[] = [];
  /** A failed write could not be truncated away; the next group truncates first. */
  private tailNeedsTruncate = false;

  constructor(private readonly log: GroupCommitHost) {}

  private get active(): Segment {
    return this.log.segments[this.log.segments.length - 1]!;
  }

  enqueue(append: PendingAppend): void {
    this.pending.push(append);
    this.kick();
  }

  private kick(): void {
    if (this.draining !== undefined) return;
    this.draining = this.drain()
      .catch((err: unknown) =>
        this.log.logger.error({ dir: this.log.dir, error: String(err) }, 'append writer failed'),
      )
      .finally(() => {
        this.draining = undefined;
        if (this.pending.length > 0) this.kick();
      });
  }

  private async drain(): Promise<void> {
    // Let appends made in the same tick (a produce request touching many batches) join the first group.
    await Promise.resolve();
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      await this.log.exclusive(() => this.writeGroup(group));
    }
  }

  private shouldRoll(segment: Segment, batchBytes: number, lastOffset: number, nowMs: number): boolean {
    if (segment.sizeBytes === 0) return false;
    const config = this.log.config();
    return (
      segment.sizeBytes + batchBytes > config.segmentBytes ||
      nowMs - segment.createdMs >= config.segmentMs ||
      // Index entries hold offsets relative to the segment base as uint32.
      lastOffset - segment.baseOffset > RELATIVE_OFFSET_MAX
    );
  }

  private async roll(nowMs: number): Promise<Segment> {
    const old = this.active;
    await old.seal();
    this.fsyncs++;
    await old.persistIndexes();
    const segment = await createSegment(this.log.context(nowMs), old.nextOffset);
    this.log.segments.push(segment);
    this.log.logger.info({ dir: this.log.dir, baseOffset: segment.baseOffset }, 'rolled segment');
    return segment;
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    const nowMs = this.log.clock.nowMs();
    const first = this.active;
    const snapshot = first.snapshot();
    const segmentCount = this.log.segments.length;
    const results: AppendResult[] = [];
    try {
      if (this.tailNeedsTruncate) {
        await first.file.truncate(first.sizeBytes);
        this.tailNeedsTruncate = false;
      }
      let segment = first;
      let runStart = segment.sizeBytes;
      let run: Buffer[] = [];
      let offset = segment.nextOffset;
      for (const append of group) {
        const baseOffset = offset;
        for (const batch of append.batches) {
          const lastOffsetDelta = batch.readInt32BE(OFF_LAST_OFFSET_DELTA);
          if (this.shouldRoll(segment, batch.length, offset + lastOffsetDelta, nowMs)) {
            if (run.length > 0) await segment.file.writev(run, runStart);
            run = [];
            segment = await this.roll(nowMs);
            runStart = 0;
          }
          stampBatch(batch, offset, 0);
          segment.recordBatch(
            segment.sizeBytes,
            batch.length,
            offset,
            offset + lastOffsetDelta,
            readInt64(batch, OFF_MAX_TIMESTAMP),
          );
          run.push(batch);
          offset += lastOffsetDelta + 1;
        }
        results.push({ baseOffset, lastOffset: offset - 1, logAppendTimeMs: nowMs });
      }
      const writeStarted = performance.now();
      if (run.length > 0) await segment.file.writev(run, runStart);
      if (this.log.config().flushPolicy !== 'always') this.dirty = true;
      else if (segment.file.durableWrites === true) this.countSync(writeStarted);
      else await this.timedDatasync(segment.file);
    } catch (err) {
      await this.rollBack(first, snapshot, segmentCount);
      const failure = toStreamBusError(err, 'log.append');
      // Log the change into failure once, not every rejected group: a full disk would flood the log.
      if (this.appendsFailing === null) {
        this.log.logger.warn(
          { dir: this.log.dir, code: failure.code, error: failure.message },
          'appends failing',
        );
      }
      this.appendsFailing = failure.code;
      for (const append of group) append.reject(failure);
      return;
    }
    if (this.appendsFailing !== null) {
      this.log.logger.info({ dir: this.log.dir, after: this.appendsFailing }, 'appends succeed again');
      this.appendsFailing = null;
    }
    this.groups++;
    this.appends += group.length;
    for (const append of group) for (const batch of append.batches) this.log.wrote(batch);
    this.log.publishLogEnd();
    if (this.log.segments.length > segmentCount) this.log.rolled();
    for (let i = 0; i < group.length; i++) group[i]!.resolve(results[i]!);
  }

  /** Undoes a failed group: drops segments it created and truncates the bytes it wrote. */
  private async rollBack(first: Segment, snapshot: ReturnType<Segment['snapshot']>, segmentCount: number) {
    const segments = this.log.segments;
    while (segments.length > segmentCount) {
      const created = segments.pop()!;
      await created.delete().catch((err: unknown) => {
        this.log.logger.error(
          { file: created.logPath, error: String(err) },
          'could not remove segment of a failed append',
        );
      });
    }
    first.restore(snapshot);
    await first.removePersistedIndexes().catch(() => undefined);
    try {
      await first.file.truncate(snapshot.sizeBytes);
    } catch {
      this.tailNeedsTruncate = true;
    }
  }

  /** An fdatasync of appended data, counted and timed for the fsync metrics. */
  async timedDatasync(file: { datasync(): Promise<void> }): Promise<void> {
    const started = performance.now();
    await file.datasync();
    this.countSync(started);
  }

  /** Counts a data sync that began at `startedMs`: an fdatasync, or a durable (O_DSYNC) write. */
  private countSync(startedMs: number): void {
    this.fsyncs++;
    this.log.onFsync?.((performance.now() - startedMs) / 1000);
  }
}
