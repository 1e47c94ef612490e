/**
 * A replicated partition's log (partition-store.ts): one folder of segments that is both the partition's
 * Raft log and the Kafka log clients fetch from. Raft entry i is the i-th stored batch counting from the
 * first segment's first Raft index (`.ridx`); every batch carries its term in partitionLeaderEpoch.
 *
 * Folder: `<base>.log` / `.index` / `.timeindex` (as PartitionLog, read by the same reader code), `<base>.ridx`,
 * `raft-hardstate`, `raft-snapshot` (formats in raft-files.ts).
 *
 * Writes (save, saveSnapshot, retention, flush, close) run one at a time under a mutex. A save writes each
 * segment's new batches with one writev and, when `sync` and flushPolicy 'always', ends with one fdatasync
 * (group commit; under 'always' segments are opened O_DSYNC, so the write itself was the sync); only then are its entries published to the synchronous Raft view. A failed save leaves the
 * store failed (every later save rethrows): reopen it, and recovery keeps the valid prefix.
 *
 * The Kafka log start is the first segment's base offset, or the floor DeleteRecords raised it to
 * (advanceLogStart), kept in the replicated metadata and handed to every replica's log: offsets below it are
 * gone for readers, and retention deletes the segments wholly below it (within its usual Raft bounds). It
 * only hides data: the Raft log, its indexes and what followers are sent are unchanged by it.
 */

import { invariant, StreamBusError, toStreamBusError } from '../errors/index.js';
import { bootstrapEntries } from '../raft/core/quorum.js';
import {
  type ConfState,
  type Entry,
  type HardState,
  type LogReadError,
  NONE,
  type Snapshot,
} from '../raft/core/types.js';
import type { StorageUpdate } from '../raft/storage/types.js';
import { CatchUpSnapshots } from './catch-up-snapshots.js';
import { type LogConfig, reconfiguredLog } from './config.js';
import type { CleanableLog } from './log-cleaner.js';
import {
  decodePartitionSnapshot,
  type PartitionStore,
  type PartitionStoreRetention,
  type PartitionStoreRetentionResult,
} from './partition-store.js';
import { encodeSnapshotFile, SNAPSHOT_FILE } from './raft-files.js';
import { TermRuns } from './raft-index.js';
import type { ReadBufferSource } from './read-buffers.js';
import { RecentBatches } from './recent-batches.js';
import { writeEntries } from './replicated-append.js';
import { EntryCache } from './replicated-cache.js';
import { catchUpLoader, fillTail } from './replicated-cache-fill.js';
import { swapReplicatedSegments } from './replicated-cleaning.js';
import { ReplicatedDurability } from './replicated-durability.js';
import { type RecoveredLog, recoverReplicatedLog } from './replicated-open.js';
import { findTimestamp, readBatches, retentionCount } from './replicated-read.js';
import {
  createReplicatedSegment,
  deleteReplicatedSegment,
  type ReplicatedSegment,
  truncateSegments,
} from './replicated-segments.js';
import {
  DEFAULT_CACHE_BYTES,
  FOLLOWER_CACHE_BYTES,
  type ReplicatedLogDeps,
  type ReplicatedLogStats,
  storageError,
} from './replicated-types.js';
import type { Segment } from './segment.js';
import { assertFetchOffset } from './segment-reader.js';
import type { SegmentContext } from './segment-recovery.js';
import type { CleanedSegment } from './segment-rewrite.js';
import { closeReplacedSegment } from './segment-swap.js';
import { nodeStorageFs, type StorageFs } from './storage-fs.js';
import { type Clock, REAL_INTERVAL_SCHEDULER, SILENT_LOGGER, type StorageLogger } from './types.js';

export { HARD_STATE_COMMIT_WRITE_INTERVAL_MS } from './replicated-durability.js';
export { DEFAULT_CACHE_BYTES, type ReplicatedLogDeps, type ReplicatedLogStats } from './replicated-types.js';

export class ReplicatedLog implements PartitionStore, CleanableLog {
  private mutex: Promise<void> = Promise.resolve();
  private closing = false;
  /** Writes go through the page cache (this replica leads: consumers read it) or around it (cacheWrites). */
  private writesCached = false;
  private closePromise: Promise<void> | undefined;
  private readonly durability: ReplicatedDurability;
  private lastIdx: number;
  private endOffset: number;
  private readonly cache: EntryCache;
  /** The active segment's newest small batches: reads at the tail skip the files (recent-batches.ts). */
  private readonly recent = new RecentBatches();

  private segments: ReplicatedSegment[];
  private runs: TermRuns;
  private snap: Snapshot;
  private readonly clock: Clock;
  private readonly cancelInterval: (() => void) | undefined;
  /** Offsets below this were deleted by DeleteRecords (0: none). Never lowered. */
  private logStartFloor = 0;

  private constructor(
    readonly dir: string,
    private current: LogConfig,
    private readonly fs: StorageFs,
    deps: ReplicatedLogDeps,
    private readonly logger: StorageLogger,
    state: RecoveredLog,
    private readonly cacheBudget: { readonly leader: number; readonly follower: number },
    private readonly catchUp: CatchUpSnapshots,
  ) {
    this.clock = deps.clock;
    this.durability = new ReplicatedDurability(
      dir,
      logger,
      deps.clock,
      deps.onFsync,
      state.hard,
      state.hsFile,
    );
    this.segments = state.segments;
    this.runs = state.runs;
    this.snap = state.snap;
    this.lastIdx = state.runs.last();
    this.endOffset = this.active.seg.nextOffset;
    this.cache = new EntryCache(
      this.lastIdx + 1,
      // A replica opens as a follower (cacheWrites).
      cacheBudget.follower,
      catchUpLoader({ closing: () => this.closing, segments: () => this.segments }, deps.catchUpReads),
      (err) => logger.warn({ dir, error: String(err) }, 'background entry load failed'),
    );
    if (current.flushPolicy === 'interval') {
      const schedule = deps.scheduleInterval ?? REAL_INTERVAL_SCHEDULER;
      this.cancelInterval = schedule(() => {
        this.flush().catch((err: unknown) =>
          logger.error({ dir, error: String(err) }, 'interval flush failed'),
        );
      }, current.flushIntervalMs);
    }
  }

  /** Opens (creating, and with `bootstrapVoters` bootstrapping, if empty) the log in `dir`. Throws CORRUPT_LOG. */
  static async open(dir: string, config: LogConfig, deps: ReplicatedLogDeps): Promise<ReplicatedLog> {
    const fs = deps.fs ?? nodeStorageFs;
    const logger = deps.logger ?? SILENT_LOGGER;
    let state: RecoveredLog;
    try {
      state = await recoverReplicatedLog({
        fs,
        dir,
        config,
        logger,
        nowMs: deps.clock.nowMs(),
        // A replica opens as a follower; becoming leader turns caching on (cacheWrites).
        directWrites: config.followerDirectWrites,
        bypassPageCache: true,
      });
    } catch (err) {
      throw storageError(err, 'log.open');
    }
    let catchUp: CatchUpSnapshots;
    try {
      catchUp = await CatchUpSnapshots.load(fs, dir, logger, state.runs.start(), state.runs.last());
    } catch (err) {
      await Promise.allSettled(state.segments.map((s) => s.seg.close()));
      await state.hsFile.close().catch(() => undefined);
      throw storageError(err, 'log.open');
    }
    const log = new ReplicatedLog(
      dir,
      config,
      fs,
      deps,
      logger,
      state,
      {
        leader: deps.cacheBytes ?? DEFAULT_CACHE_BYTES,
        follower: deps.followerCacheBytes ?? FOLLOWER_CACHE_BYTES,
      },
      catchUp,
    );
    try {
      // Every entry above the snapshot index into the cache: the state machine replays them.
      await fillTail(
        log.cache,
        log.segments,
        Math.max(log.firstIndex() - 1, log.snap.metadata.index),
        log.lastIdx,
      );
      const voters = deps.bootstrapVoters;
      if (state.fresh && state.hard.term === 0 && voters !== undefined && voters.length > 0) {
        const entries = bootstrapEntries(voters);
        await log.save({ entries, hardState: { term: 1, vote: NONE, commit: entries.length } }, true);
      }
      return log;
    } catch (err) {
      await log.close();
      throw storageError(err, 'log.open');
    }
  }

  get config(): LogConfig {
    return this.current;
  }

  /**
   * This replica now leads (`cached`: consumers will read what it writes, so keep it in the page cache) or
   * follows (write around the cache, under `followerDirectWrites`). Takes effect from the next write on. The
   * entry cache's budget follows the role too (FOLLOWER_CACHE_BYTES).
   */
  cacheWrites(cached: boolean): void {
    this.writesCached = cached;
    this.cache.setBudget(cached ? this.cacheBudget.leader : this.cacheBudget.follower);
    for (const s of this.segments) s.seg.file.bypassPageCache?.(!cached);
  }

  /** Applies a topic config change to the open log (what takes effect when: `reconfiguredLog`). */
  reconfigure(config: LogConfig): void {
    this.current = reconfiguredLog(this.current, config);
  }

  private get active(): ReplicatedSegment {
    return this.segments[this.segments.length - 1]!;
  }

  private context(): SegmentContext {
    return {
      fs: this.fs,
      dir: this.dir,
      config: this.config,
      logger: this.logger,
      nowMs: this.clock.nowMs(),
      directWrites: this.current.followerDirectWrites,
      bypassPageCache: !this.writesCached,
    };
  }

  private exclusive<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closing)
      return Promise.reject(new StreamBusError('LOG_CLOSED', { operation, metadata: { dir: this.dir } }));
    const run = this.mutex.then(fn);
    this.mutex = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  // ---- RaftLogStorage: synchronous, from memory only ----

  initialState(): { hardState: HardState; confState: ConfState } {
    // The commit index on disk may lag (see saveHardState) behind a snapshot taken later; everything up to
    // the snapshot was committed, and Raft requires the commit to be at least there.
    const start = Math.max(this.runs.start(), this.snap.metadata.index);
    const hard = this.durability.hardState;
    const hardState = hard.commit >= start ? hard : { ...hard, commit: start };
    return { hardState, confState: this.snap.metadata.confState };
  }

  firstIndex(): number {
    return this.runs.start() + 1;
  }

  lastIndex(): number {
    return this.lastIdx;
  }

  term(index: number): number | LogReadError {
    if (index < this.runs.start()) return 'compacted';
    invariant(index <= this.lastIdx, () => `term(${index}) past the last index ${this.lastIdx}`);
    const t = this.runs.term(index);
    invariant(t !== undefined, () => `no term for ${index}`);
    return t;
  }

  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] | LogReadError {
    if (lo <= this.runs.start()) return 'compacted';
    invariant(hi <= this.lastIdx + 1, () => `entries [${lo}, ${hi}) past the last index ${this.lastIdx}`);
    if (lo >= hi) return [];
    return this.cache.get(lo, hi, maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** The segment holding `applied` has no catch-up snapshot yet (catch-up-snapshots.ts). */
  wantsSnapshot(applied: number): boolean {
    if (applied > this.lastIdx || applied <= this.snap.metadata.index) return false;
    let k = this.segments.length - 1;
    while (k > 0 && this.segments[k]!.raft.firstIndex > applied) k--;
    return !this.catchUp.covers(this.segments[k]!.raft.firstIndex);
  }

  /** The oldest kept snapshot within the log (catch-up-snapshots.ts), else the latest. */
  catchUpSnapshot(): Snapshot {
    const kept = this.catchUp.oldestFrom(this.runs.start());
    return kept !== undefined && kept.metadata.index <= this.snap.metadata.index ? kept : this.snap;
  }

  setAppliedIndex(index: number): void {
    this.cache.setApplied(index);
  }

  // ---- RaftStorage: writes ----

  save(update: StorageUpdate, sync: boolean): Promise<void> {
    return this.exclusive('log.save', async () => {
      if (this.durability.failed !== undefined) throw this.durability.failed;
      try {
        if (update.snapshot !== undefined) await this.installSnapshot(update.snapshot);
        const first = update.entries[0];
        if (first !== undefined) {
          // Entries already below the log's start (folded into the snapshot) are dropped, as in memory.
          const skip = Math.max(0, this.firstIndex() - first.index);
          const entries = skip > 0 ? update.entries.slice(skip) : update.entries;
          const head = entries[0];
          if (head !== undefined) {
            invariant(
              head.index <= this.lastIdx + 1,
              () => `append at ${head.index} leaves a gap after ${this.lastIdx}`,
            );
            if (head.index <= this.lastIdx) await this.truncateFrom(head.index);
            await this.append(entries, sync);
          }
        }
        if (update.hardState !== undefined) await this.durability.saveHardState(update.hardState, sync);
      } catch (err) {
        throw this.durability.saveFailed(err);
      }
    });
  }

  private async append(entries: readonly Entry[], sync: boolean): Promise<void> {
    const writeStarted = performance.now();
    const written = await writeEntries(this.context(), this.segments, this.runs, entries);
    this.durability.fsyncs += written.rollFsyncs;
    if (!sync || this.config.flushPolicy !== 'always') this.durability.dirty = true;
    else if (written.last.seg.file.durableWrites === true) this.durability.countSync(writeStarted);
    else await this.durability.timedDatasync(written.last);
    this.cache.push(entries);
    for (const batch of written.lastSegmentBatches) this.recent.add(batch, written.last.seg.baseOffset);
    this.lastIdx = entries[entries.length - 1]!.index;
    this.endOffset = written.nextOffset;
  }

  /** Drops every entry >= i (newest segments first, so a crash part-way leaves a contiguous log). */
  private async truncateFrom(i: number): Promise<void> {
    const commit = this.durability.hardState.commit;
    invariant(i > commit, () => `truncating committed entry ${i} (commit ${commit})`);
    this.cache.truncateFrom(i);
    this.recent.clear();
    this.runs.truncateFrom(i);
    this.lastIdx = i - 1;
    const s = await truncateSegments(this.context(), this.segments, i);
    this.durability.fsyncs++;
    this.endOffset = s.seg.nextOffset;
    this.logger.warn({ dir: this.dir, index: i, logEndOffset: this.endOffset }, 'log truncated');
  }

  /** A snapshot from the leader replaces the log: an empty log at snapshot.index + 1 and its next offset. */
  private async installSnapshot(snap: Snapshot): Promise<void> {
    const m = snap.metadata;
    if (m.index <= this.snap.metadata.index) return;
    const nextOffset = decodePartitionSnapshot(snap.data).nextOffset;
    // The snapshot first: a crash before the log is replaced is repaired on open (log behind its snapshot).
    await this.fs.writeFileAtomic(`${this.dir}/${SNAPSHOT_FILE}`, encodeSnapshotFile(snap));
    this.snap = snap;
    const ctx = this.context();
    while (this.segments.length > 0) await deleteReplicatedSegment(ctx, this.segments.pop()!);
    this.segments = [await createReplicatedSegment(ctx, nextOffset, m.index + 1, m.term)];
    this.runs = new TermRuns(m.index, m.term);
    this.lastIdx = m.index;
    this.endOffset = nextOffset;
    this.cache.reset(m.index + 1);
    this.recent.clear();
    this.cache.setApplied(m.index);
    await this.catchUp.reset(snap);
    this.logger.info({ dir: this.dir, index: m.index, nextOffset }, 'installed snapshot');
  }

  /** Records a local snapshot. Never deletes log data: the log is the data, only retention deletes. */
  saveSnapshot(snapshot: Snapshot, _compactTo: number): Promise<void> {
    return this.exclusive('log.saveSnapshot', async () => {
      if (snapshot.metadata.index <= this.snap.metadata.index) return;
      invariant(
        snapshot.metadata.index <= this.lastIdx,
        () => `snapshot ${snapshot.metadata.index} past the log`,
      );
      try {
        await this.fs.writeFileAtomic(`${this.dir}/${SNAPSHOT_FILE}`, encodeSnapshotFile(snapshot));
        this.snap = snapshot;
        const i = snapshot.metadata.index;
        const segment = this.segments.findLast((s) => s.raft.firstIndex <= i) ?? this.segments[0]!;
        await this.catchUp.keep(snapshot, segment.raft.firstIndex);
      } catch (err) {
        throw toStreamBusError(err, 'log.saveSnapshot');
      }
    });
  }

  // ---- Kafka side ----

  logStartOffset(): number {
    return Math.max(this.segments[0]!.seg.baseOffset, this.logStartFloor);
  }

  advanceLogStart(offset: number): number {
    invariant(Number.isSafeInteger(offset) && offset >= 0, `advanceLogStart(${offset}): not an offset`);
    this.logStartFloor = Math.max(this.logStartFloor, offset);
    return this.logStartOffset();
  }

  logEndOffset(): number {
    return this.endOffset;
  }

  sizeBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.seg.sizeBytes;
    return total;
  }

  async read(
    fetchOffset: number,
    maxBytes: number,
    endOffset: number,
    buffers?: ReadBufferSource,
  ): Promise<Buffer> {
    if (this.closing)
      throw new StreamBusError('LOG_CLOSED', { operation: 'log.read', metadata: { dir: this.dir } });
    const logStartOffset = this.logStartOffset();
    const limit = Math.min(endOffset, this.endOffset);
    assertFetchOffset(fetchOffset, logStartOffset, limit);
    // Nothing is visible at the limit, and the file there may hold the next batch only partly written, or
    // the zeros written ahead of it (preallocated-file.ts), which a read would take for a corrupt log.
    if (fetchOffset === limit) return Buffer.alloc(0);
    const recent = this.recent.read(fetchOffset, maxBytes, limit);
    if (recent !== undefined) return recent;
    return readBatches(this.segments, fetchOffset, maxBytes, limit, this.config.indexIntervalBytes, buffers);
  }

  async offsetForTimestamp(
    timestampMs: number,
    endOffset: number,
  ): Promise<{ offset: number; timestamp: number } | null> {
    if (this.closing) throw new StreamBusError('LOG_CLOSED', { operation: 'log.offsetForTimestamp' });
    return findTimestamp(this.segments, timestampMs, this.logStartOffset(), endOffset);
  }

  // ---- maintenance ----

  applyRetention(options: PartitionStoreRetention): Promise<PartitionStoreRetentionResult> {
    return this.exclusive('log.retention', async () => {
      const n = retentionCount(this.segments, this.config, options, this.logStartFloor);
      let deletedBytes = 0;
      const ctx = this.context();
      for (let k = 0; k < n; k++) {
        const s = this.segments[0]!;
        // Oldest first: a crash part-way leaves a contiguous suffix whose first `.ridx` knows its prev term.
        this.runs.dropBefore(s.raft.endIndex - 1);
        this.cache.dropBefore(s.raft.endIndex);
        this.segments.shift();
        deletedBytes += s.seg.sizeBytes;
        await deleteReplicatedSegment(ctx, s);
      }
      await this.catchUp.dropBelow(this.runs.start());
      if (n > 0) {
        this.logger.info({ dir: this.dir, deleted: n, logStartOffset: this.logStartOffset() }, 'retention');
      }
      return { deletedSegments: n, deletedBytes, logStartOffset: this.logStartOffset() };
    });
  }

  /**
   * Closed segments whose every entry is committed (by the commit index this replica last saved: it may lag,
   * never lead), oldest first: what the log cleaner may rewrite. Raft control batches in them stay as they are.
   */
  cleanableSegments(): readonly Segment[] {
    if (this.closing) return [];
    const commit = this.durability.hardState.commit;
    return this.segments
      .slice(0, -1)
      .filter((s) => s.raft.endIndex - 1 <= commit)
      .map((s) => s.seg);
  }

  cleanerContext(): SegmentContext {
    return this.context();
  }

  /**
   * Swaps a cleaned copy in for the adjacent segments `olds` between writes (replicated-cleaning.ts); false
   * when one of them is gone or became active.
   */
  swapCleaned(olds: readonly Segment[], cleaned: CleanedSegment): Promise<boolean> {
    if (this.closing) return Promise.resolve(false);
    return this.exclusive('log.clean', async () => {
      const i = this.segments.findIndex((s) => s.seg === olds[0]);
      const n = olds.length;
      if (i < 0 || i + n > this.segments.length - 1) return false;
      if (!olds.every((s, k) => this.segments[i + k]!.seg === s)) return false;
      const run = this.segments.slice(i, i + n);
      const replaced = await swapReplicatedSegments(this.context(), run, cleaned, this.runs);
      this.segments.splice(i, n, replaced);
      if (n > 1) await this.catchUp.merged(replaced.raft.firstIndex, replaced.raft.endIndex);
      // The tail cache may still hold batches of the segments from before they rolled.
      this.recent.clear();
      for (const old of olds) closeReplacedSegment(old, this.dir, this.logger);
      return true;
    });
  }

  flush(): Promise<void> {
    return this.exclusive('log.flush', () => this.durability.flush(this.active));
  }

  stats(): ReplicatedLogStats {
    return {
      segments: this.segments.length,
      fsyncs: this.durability.fsyncs,
      cacheBytes: this.cache.sizeBytes,
      cacheStart: this.cache.start,
      backgroundLoads: this.cache.loadsStarted,
    };
  }

  /** Resolves once background entry loads have finished (tests). */
  loadsIdle(): Promise<void> {
    return this.cache.idle();
  }

  /** Finishes the write in progress, fsyncs what is not durable yet and closes the files. Idempotent. */
  close(): Promise<void> {
    if (this.closePromise === undefined) {
      const done = this.exclusive('log.close', () => this.durability.flushQuietly(this.active));
      this.closing = true;
      this.cancelInterval?.();
      this.closePromise = done.finally(async () => {
        await this.cache.idle();
        await Promise.allSettled(this.segments.map((s) => s.seg.close()));
        await this.durability.close();
      });
    }
    return this.closePromise;
  }
}
