/**
 * One topic-partition's log: a folder of segments, appended to in call order with group commit
 * (partition-append.ts), read by whole batches up to the high watermark.
 *
 * Invariant between groups: the high watermark equals the log end offset and sits at the end of the active
 * segment. Maintenance (truncate, retention, flush, close) runs between groups under the same mutex.
 *
 * With `producerState`, the log also keeps the state its batch headers build (idempotent producers') as of
 * its end, and snapshots it at each roll and at close so that a restart need not read the log (log-state.ts).
 *
 * The log start is the first segment's base offset, or the floor DeleteRecords raised it to
 * (advanceLogStart), which may sit inside a segment: offsets below it are gone for readers at once, and the
 * segments wholly below it are deleted. The floor lives in memory only: its owner (the single-node catalog)
 * keeps it durable and hands it back after a restart.
 */

import { invariant, StreamBusError, toStreamBusError } from '../errors/index.js';
import { splitAndValidate } from './append-validation.js';
import { ArrivalOrder } from './arrival-order.js';
import { forgetCleanerCheckpoint } from './cleaner-checkpoint.js';
import { compacts, type LogConfig, reconfiguredLog } from './config.js';
import { type HighWatermarkListener, HighWatermarkNotifier } from './high-watermark.js';
import type { CleanableLog } from './log-cleaner.js';
import { DerivedLogState, type LogState } from './log-state.js';
import { type AppendResult, GroupCommitWriter } from './partition-append.js';
import type {
  DeletedSegment,
  PartitionLogDeps,
  PartitionLogStats,
  ReadResult,
  RetentionResult,
} from './partition-log-types.js';
import type { ReadBufferSource } from './read-buffers.js';
import { RecentBatches } from './recent-batches.js';
import { planRetention } from './retention.js';
import type { Segment } from './segment.js';
import { assertFetchOffset, findByTimestamp, locateBatch, readSegment } from './segment-reader.js';
import { createSegment, openSegments, type SegmentContext, segmentSwapFiles } from './segment-recovery.js';
import type { CleanedSegment } from './segment-rewrite.js';
import { closeReplacedSegment, commitSwap } from './segment-swap.js';
import { nodeStorageFs, type StorageFs } from './storage-fs.js';
import {
  type Clock,
  type IntervalScheduler,
  REAL_INTERVAL_SCHEDULER,
  SILENT_LOGGER,
  type StorageLogger,
} from './types.js';

export class PartitionLog implements CleanableLog {
  private readonly writer: GroupCommitWriter;
  /** The newest small batches, so reads at the tail skip the file (recent-batches.ts). */
  private readonly recent = new RecentBatches();
  private mutex: Promise<void> = Promise.resolve();
  private readonly arrivalOrder = new ArrivalOrder();
  private hw: number;
  /** Where the high watermark sits: segment base offset and byte position in it. */
  private hwSegmentBase: number;
  private hwPosition: number;
  private readonly notifier: HighWatermarkNotifier;
  private closing = false;
  /** Closing to delete the folder: no snapshot is worth writing. */
  private deleting = false;
  private closePromise: Promise<void> | undefined;
  private closed = false;
  private readonly cancelInterval: (() => void) | undefined;
  /** Offsets below this were deleted by DeleteRecords (0: none). Never lowered. */
  private logStartFloor = 0;

  private constructor(
    readonly dir: string,
    private current: LogConfig,
    private readonly fs: StorageFs,
    private readonly clock: Clock,
    private readonly logger: StorageLogger,
    private readonly segments: Segment[],
    private readonly derived: DerivedLogState | undefined,
    scheduleInterval: IntervalScheduler,
    onFsync: ((durationSeconds: number) => void) | undefined,
  ) {
    this.writer = new GroupCommitWriter({
      dir,
      clock,
      logger,
      segments,
      onFsync,
      config: () => this.current,
      context: (nowMs) => this.context(nowMs),
      exclusive: (fn) => this.exclusive(fn),
      wrote: (batch) => {
        this.recent.add(batch, this.active.baseOffset);
        this.derived?.state.apply(batch, 0);
      },
      publishLogEnd: () => this.publishLogEnd(),
      rolled: () => void this.snapshotState(),
    });
    this.hw = this.active.nextOffset;
    this.hwSegmentBase = this.active.baseOffset;
    this.hwPosition = this.active.sizeBytes;
    this.notifier = new HighWatermarkNotifier(
      () => this.hw,
      (err) => this.logger.error({ dir, error: String(err) }, 'high watermark listener threw'),
    );
    if (current.flushPolicy === 'interval') {
      this.cancelInterval = scheduleInterval(() => {
        this.flush().catch((err: unknown) =>
          this.logger.error({ dir, error: String(err) }, 'interval flush failed'),
        );
      }, current.flushIntervalMs);
    }
  }

  /** Opens (creating if needed) the log in `dir`, recovering the active segment. Throws CORRUPT_LOG. */
  static async open(dir: string, config: LogConfig, deps: PartitionLogDeps): Promise<PartitionLog> {
    const fs = deps.fs ?? nodeStorageFs;
    const logger = deps.logger ?? SILENT_LOGGER;
    const segments = await openSegments({ fs, dir, config, logger, nowMs: deps.clock.nowMs() });
    const last = segments[segments.length - 1]!;
    let derived: DerivedLogState | undefined;
    try {
      // Whatever survived the restart may still be only in the page cache: make it durable before exposing it.
      await last.file.datasync();
      if (deps.producerState !== undefined) {
        derived = await DerivedLogState.open(deps.producerState, fs, dir, segments, logger);
      }
    } catch (err) {
      await Promise.allSettled(segments.map((s) => s.close()));
      throw err;
    }
    return new PartitionLog(
      dir,
      config,
      fs,
      deps.clock,
      logger,
      segments,
      derived,
      deps.scheduleInterval ?? REAL_INTERVAL_SCHEDULER,
      deps.onFsync,
    );
  }

  get config(): LogConfig {
    return this.current;
  }

  /** Applies a topic config change to the open log (what takes effect when: `reconfiguredLog`). */
  reconfigure(config: LogConfig): void {
    this.current = reconfiguredLog(this.current, config);
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private context(nowMs: number): SegmentContext {
    return { fs: this.fs, dir: this.dir, config: this.config, logger: this.logger, nowMs };
  }

  /** Offset after the last batch readers may see (durable under 'always'). */
  highWatermark(): number {
    return this.hw;
  }

  /**
   * The state derived from every batch written so far (the `producerState` kind's), or undefined without one.
   * The log updates it in place as it writes, and replaces it when truncation cuts batches away.
   */
  producerState(): LogState | undefined {
    return this.derived?.state;
  }

  /** Snapshots the derived state as of the log end (log-state.ts), between groups. */
  private snapshotState(): Promise<void> {
    return this.derived?.snapshotAt(this.active.nextOffset) ?? Promise.resolve();
  }

  /** Offset the next appended record gets (once queued appends are written). */
  logEndOffset(): number {
    return this.active.nextOffset;
  }

  logStartOffset(): number {
    return Math.max(this.segments[0]!.baseOffset, this.logStartFloor);
  }

  /**
   * DeleteRecords: raises the log start to `offset` (never lowers it) and deletes the segments wholly below
   * it; resolves with the new log start. The caller checks `offset` against the high watermark; a floor past
   * the log end (one recorded durably before a crash lost the unsynced tail it was set in) restarts the log
   * empty there, so that no offset below the floor is written again.
   */
  async advanceLogStart(offset: number): Promise<number> {
    invariant(Number.isSafeInteger(offset) && offset >= 0, `advanceLogStart(${offset}): not an offset`);
    if (offset > this.logStartFloor) {
      this.logStartFloor = offset;
      await this.exclusive(async () => {
        if (this.closed || offset <= this.active.nextOffset) return;
        await this.restartEmptyAt(offset);
      });
    }
    return (await this.applyRetention(this.clock.nowMs())).logStartOffset;
  }

  /** Deletes every segment and starts an empty one at `offset` (above the log end), under the mutex. */
  private async restartEmptyAt(offset: number): Promise<void> {
    await forgetCleanerCheckpoint(this.fs, this.dir);
    this.recent.clear();
    // Newest first, as truncateTo: a crash part-way leaves a contiguous log.
    while (this.segments.length > 0) await this.segments.pop()!.delete();
    this.segments.push(await createSegment(this.context(this.clock.nowMs()), offset));
    this.writer.dirty = false;
    await this.derived?.dropBelow(offset);
    await this.derived?.reload(this.segments, this.logger);
    this.publishLogEnd();
    this.logger.warn({ dir: this.dir, logStartOffset: offset }, 'log restarted empty at its log start floor');
  }

  sizeBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.sizeBytes;
    return total;
  }

  /**
   * Validates and appends one or more whole batches (concatenated), stamping offsets in place. Resolves once
   * durable per the flush policy. Rejects with INVALID_BATCH, CORRUPT_BATCH, UNSUPPORTED_COMPRESSION,
   * BATCH_TOO_LARGE (nothing appended), DISK_FULL / STORAGE_ERROR (nothing appended), LOG_CLOSED.
   */
  async append(batches: Buffer): Promise<AppendResult> {
    const { written } = await this.arrivalOrder.run(async () => ({
      written: this.appendValidated(await this.validate(batches)),
    }));
    return written;
  }

  /**
   * Splits a produce payload into its batches, validated as append() does (throws its errors, and
   * INVALID_RECORD for a record without a key in a compacted topic): a caller that appends the batches one
   * by one validates them all first, so that none is written when one is bad.
   */
  validate(batches: Buffer): Promise<Buffer[]> {
    const { batchBytesMax, decompressedBytesMax, cleanupPolicy } = this.config;
    return splitAndValidate(batches, {
      batchBytesMax,
      decompressedBytesMax,
      keysRequired: compacts(cleanupPolicy),
    });
  }

  /** Appends batches validate() returned, as append() does. */
  async appendValidated(split: Buffer[]): Promise<AppendResult> {
    if (this.closing)
      throw new StreamBusError('LOG_CLOSED', { operation: 'log.append', metadata: { dir: this.dir } });
    return new Promise<AppendResult>((resolve, reject) => {
      this.writer.enqueue({ batches: split, resolve, reject });
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(fn);
    this.mutex = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Moves the high watermark to the end of the active segment (all written and, per policy, durable). */
  private publishLogEnd(): void {
    const active = this.active;
    const offset = active.nextOffset;
    this.hwSegmentBase = active.baseOffset;
    this.hwPosition = active.sizeBytes;
    if (offset === this.hw) return;
    this.hw = offset;
    this.notifier.notify(offset);
  }

  /**
   * Calls `listener(highWatermark)` synchronously whenever the high watermark changes (it grows on appends;
   * truncateTo can lower it) and once more when the log closes. Returns the unsubscribe function.
   */
  onHighWatermark(listener: HighWatermarkListener): () => void {
    return this.notifier.subscribe(listener);
  }

  /**
   * Resolves with the high watermark once it is above `offset` (at once if it already is). A Fetch long-poll
   * at fetchOffset waits with `waitForHighWatermarkAbove(fetchOffset, signal)`: data at fetchOffset is then
   * readable. Rejects with REQUEST_ABORTED when `signal` aborts (the caller's max-wait timer) and LOG_CLOSED
   * when the log closes.
   */
  waitForHighWatermarkAbove(offset: number, signal?: AbortSignal): Promise<number> {
    return this.notifier.waitAbove(offset, signal);
  }

  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Bytes of `segment` readers may see: everything below the high watermark. */
  private visibleEnd(segment: Segment): number {
    // During a group the segment's size already counts batches still being written or fsynced.
    if (segment.nextOffset <= this.hw) return segment.sizeBytes;
    return segment.baseOffset === this.hwSegmentBase ? this.hwPosition : 0;
  }

  /**
   * Whole batches from the one containing `fetchOffset`, up to `maxBytes` but at least one batch, never at or
   * past the high watermark; stops at a segment boundary. OFFSET_OUT_OF_RANGE outside [logStart, HW].
   */
  async read(fetchOffset: number, maxBytes: number, buffers?: ReadBufferSource): Promise<ReadResult> {
    if (this.closed)
      throw new StreamBusError('LOG_CLOSED', { operation: 'log.read', metadata: { dir: this.dir } });
    const highWatermark = this.hw;
    const logStartOffset = this.logStartOffset();
    assertFetchOffset(fetchOffset, logStartOffset, highWatermark);
    if (fetchOffset === highWatermark) return { records: Buffer.alloc(0), highWatermark, logStartOffset };
    const recent = this.recent.read(fetchOffset, maxBytes, highWatermark);
    if (recent !== undefined) return { records: recent, highWatermark, logStartOffset };
    const segment = this.segments[this.segmentIndexFor(fetchOffset)]!;
    const end = this.visibleEnd(segment);
    const records = await segment.withReader(() =>
      readSegment(segment, fetchOffset, maxBytes, end, this.config.indexIntervalBytes, buffers),
    );
    return { records, highWatermark, logStartOffset };
  }

  /**
   * The first batch at or above the log start whose maxTimestamp >= timestampMs: its base offset (the log
   * start when that is inside the batch) and max timestamp; null if none.
   */
  async offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    if (this.closed) throw new StreamBusError('LOG_CLOSED', { operation: 'log.offsetForTimestamp' });
    const start = this.logStartOffset();
    for (const segment of [...this.segments]) {
      // Skip segments retention or truncation removed while this loop awaited.
      if (segment.maxTimestamp < timestampMs || !this.segments.includes(segment)) continue;
      if (segment.nextOffset <= start) continue;
      const end = this.visibleEnd(segment);
      if (end === 0) break;
      const batch = await segment.withReader(() => findByTimestamp(segment, timestampMs, end, start));
      if (batch !== undefined)
        return { offset: Math.max(batch.baseOffset, start), timestamp: batch.maxTimestamp };
    }
    return null;
  }

  /** Waits for queued appends, then fdatasyncs what 'interval' / 'never' left unsynced. */
  async flush(): Promise<void> {
    while (this.writer.draining !== undefined) await this.writer.draining;
    return this.exclusive(async () => {
      if (!this.writer.dirty || this.closed) return;
      this.writer.dirty = false;
      try {
        await this.writer.timedDatasync(this.active.file);
      } catch (err) {
        this.writer.dirty = true;
        throw toStreamBusError(err, 'log.flush');
      }
    });
  }

  /**
   * Deletes whole segments, oldest first: while the oldest segment's largest timestamp is more than
   * retentionMs before `nowMs`, then while the log minus the oldest segment is still at least retentionBytes.
   * When that takes the active segment too, the log rolls first (rollForRetention). Advances the log start
   * offset.
   */
  applyRetention(nowMs: number): Promise<RetentionResult> {
    return this.exclusive(async () => {
      const deleted: DeletedSegment[] = [];
      if (this.closed) return { deleted, logStartOffset: this.logStartOffset() };
      const plan = planRetention(this.segments, this.hw, this.config, nowMs, {
        activeDeletable: true,
        logStartFloor: this.logStartFloor,
      });
      const rolls = plan.length === this.segments.length;
      if (rolls) await this.rollForRetention(nowMs);
      for (const reason of plan) {
        const segment = this.segments.shift()!;
        const { baseOffset, nextOffset, sizeBytes } = segment;
        deleted.push({ baseOffset, nextOffset, sizeBytes, reason });
        await segment.delete();
      }
      if (deleted.length > 0) {
        // Snapshots below the first segment could only be loaded by scanning batches that are gone (the
        // batches below a log start floor inside the segment are still there: a snapshot among them is not).
        await this.derived?.dropBelow(this.segments[0]!.baseOffset);
        // As at any roll (and after the deletions, which made room for it): the log no longer holds the
        // batches a restart would rebuild the producers' state from.
        if (rolls) await this.snapshotState();
        this.logger.info(
          { dir: this.dir, deleted: deleted.length, logStartOffset: this.logStartOffset() },
          'retention',
        );
      }
      return { deleted, logStartOffset: this.logStartOffset() };
    });
  }

  /** Closed segments below the high watermark, oldest first: what the log cleaner may rewrite. */
  cleanableSegments(): readonly Segment[] {
    if (this.closing) return [];
    return this.segments.slice(0, -1).filter((s) => s.nextOffset <= this.hw);
  }

  cleanerContext(): SegmentContext {
    return this.context(this.clock.nowMs());
  }

  /**
   * Swaps a cleaned copy in for the adjacent segments `olds` between write groups (log-cleaner.ts); false
   * when one of them is gone or became active.
   */
  swapCleaned(olds: readonly Segment[], cleaned: CleanedSegment): Promise<boolean> {
    return this.exclusive(async () => {
      const i = this.segments.indexOf(olds[0]!);
      const n = olds.length;
      if (this.closing || i < 0 || i + n > this.segments.length - 1) return false;
      if (!olds.every((s, k) => this.segments[i + k] === s)) return false;
      const ctx = this.context(this.clock.nowMs());
      const merged = olds.slice(1).map((s) => s.baseOffset);
      await commitSwap(this.fs, this.dir, olds[0]!.baseOffset, merged, segmentSwapFiles(ctx));
      await cleaned.segment.persistIndexes();
      this.segments.splice(i, n, cleaned.segment);
      // The tail cache may still hold batches of the segments from before they rolled.
      this.recent.clear();
      for (const old of olds) closeReplacedSegment(old, this.dir, this.logger);
      return true;
    });
  }

  /**
   * Starts an empty active segment at the log end so that retention can delete every older one. The new
   * segment comes first: a crash before the deletions must still leave the log end where it was. It costs no
   * data blocks (a full disk still takes it); the old active segment is trimmed of its preallocated zeros and
   * synced (as at a roll) because a closed segment must hold batches only. Its indexes are not written: it
   * is deleted next, and a crash before that leaves a closed segment whose indexes recovery rebuilds.
   */
  private async rollForRetention(nowMs: number): Promise<void> {
    const old = this.active;
    await old.seal();
    this.writer.dirty = false;
    this.segments.push(await createSegment(this.context(nowMs), old.nextOffset));
    this.recent.clear();
    this.publishLogEnd();
    this.logger.info({ dir: this.dir, baseOffset: old.nextOffset }, 'rolled segment for retention');
  }

  /**
   * Drops every batch that holds an offset >= `offset` (a batch containing `offset` goes entirely), with its
   * index entries. Returns the new log end offset (<= offset). Below the log start, the log restarts empty at
   * `offset`. Queued appends are written after the truncation.
   */
  truncateTo(offset: number): Promise<number> {
    invariant(Number.isSafeInteger(offset) && offset >= 0, `truncateTo(${offset}): not an offset`);
    return this.exclusive(async () => {
      if (this.closed) throw new StreamBusError('LOG_CLOSED', { operation: 'log.truncate' });
      if (offset >= this.active.nextOffset) return this.active.nextOffset;
      await this.derived?.dropAbove(offset);
      await forgetCleanerCheckpoint(this.fs, this.dir);
      this.recent.clear();
      const keepIndex = offset <= this.logStartOffset() ? -1 : this.segmentIndexFor(offset);
      const keep = keepIndex >= 0 ? this.segments[keepIndex]! : undefined;
      // Newest first, so a crash part-way leaves a contiguous log (longer than asked, never with a hole).
      while (this.segments.length > keepIndex + 1) {
        const segment = this.segments.pop()!;
        if (segment === keep) break;
        await segment.delete();
      }
      if (keep === undefined) {
        this.segments.push(await createSegment(this.context(this.clock.nowMs()), offset));
      } else if (keep.nextOffset > offset) {
        await this.truncateSegment(keep, offset);
      } else {
        await keep.removePersistedIndexes();
      }
      // Closed segments were fsynced when they rolled and the cut one was fsynced by the truncation.
      this.writer.dirty = false;
      await this.derived?.reload(this.segments, this.logger);
      this.publishLogEnd();
      this.logger.warn({ dir: this.dir, offset, logEndOffset: this.active.nextOffset }, 'log truncated');
      return this.active.nextOffset;
    });
  }

  private async truncateSegment(segment: Segment, offset: number): Promise<void> {
    const batch = await segment.withReader(() => locateBatch(segment, offset, segment.sizeBytes));
    invariant(batch !== undefined, `no batch holds offset ${offset} in ${segment.logPath}`);
    await segment.truncateBefore(batch);
    this.writer.fsyncs++;
  }

  stats(): PartitionLogStats {
    return {
      sizeBytes: this.sizeBytes(),
      segments: this.segments.length,
      fsyncs: this.writer.fsyncs,
      appends: this.writer.appends,
      writeGroups: this.writer.groups,
      logStartOffset: this.logStartOffset(),
      logEndOffset: this.logEndOffset(),
      highWatermark: this.hw,
    };
  }

  /** Rejects new appends, finishes queued ones, fsyncs and closes the files. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    this.cancelInterval?.();
    while (this.writer.draining !== undefined) await this.writer.draining;
    await this.exclusive(async () => {
      try {
        if (this.writer.dirty) {
          await this.active.file.datasync();
          this.writer.fsyncs++;
        }
        // After the data sync, so that every batch the snapshot covers is on disk.
        if (!this.deleting) await this.snapshotState();
      } finally {
        await this.derived?.idle();
        this.closed = true;
        this.recent.clear();
        this.notifier.close();
        await Promise.allSettled(this.segments.map((s) => s.close()));
      }
    });
  }

  /** Closes the log and removes its folder. */
  async delete(): Promise<void> {
    this.deleting = true;
    await this.close();
    await this.fs.rmrf(this.dir);
  }
}
