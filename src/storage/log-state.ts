/**
 * State a partition derives from its batch headers (the idempotent producers' state, Kafka's producer state
 * manager), kept across restarts. The log applies each batch it writes to the state in memory and saves it to
 * a snapshot file tagged with the log offset it covers, at a segment roll and at close. Opening loads the
 * newest valid snapshot not past the log end and reads batch headers forward from its offset to the log end,
 * so a crash costs a read of the log written since the last roll, and a clean restart reads nothing.
 *
 * `<20-digit offset>.snapshot`: the state as of every batch below `offset`, replaced atomically.
 *   [magic u32 'SBPS'][version u8 = 1][offset u64][body length u32][crc32c u32 of body][body: LogState.encode]
 *
 * A snapshot is only ever a shortcut over the log: an unreadable one is dropped with a warning and an older
 * one (or a scan from the log start) used instead; one past the log end (its batches were cut off as a torn
 * tail, or by truncation) or below the log start (its segments went by retention) is deleted.
 */
import { join } from 'node:path';
import { crc32c } from '../protocol/crc32c.js';
import { scanBatches } from './batch-scan.js';
import type { Segment } from './segment.js';
import { parseSegmentFileName, segmentFileStem } from './segment.js';
import { locateBatch } from './segment-reader.js';
import { corrupt } from './segment-recovery.js';
import type { StorageFs } from './storage-fs.js';
import type { StorageLogger } from './types.js';

/** State built from a log's batches in offset order. */
export interface LogState {
  /** Applies a batch at the log end (just written, or read on open): its header starts at `bytes[at]`. */
  apply(bytes: Buffer, at: number): void;
  encode(): Uint8Array;
}

export interface LogStateKind {
  empty(): LogState;
  /** Throws on bytes it cannot read (the snapshot is then ignored). */
  decode(bytes: Uint8Array): LogState;
}

export const STATE_SNAPSHOT_SUFFIX = '.snapshot';
/** Snapshots kept per partition: the newest, and older ones in case it proves unreadable. */
export const STATE_SNAPSHOTS_KEPT = 3;

const MAGIC = 0x53425053;
const VERSION = 1;
const HEAD_BYTES = 21;

export function encodeStateSnapshot(offset: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEAD_BYTES + body.byteLength);
  out.writeUInt32BE(MAGIC, 0);
  out[4] = VERSION;
  out.writeBigUInt64BE(BigInt(offset), 5);
  out.writeUInt32BE(body.byteLength, 13);
  out.writeUInt32BE(crc32c(body), 17);
  out.set(body, HEAD_BYTES);
  return out;
}

/** The body of a snapshot file named for `offset`, or why it cannot be trusted. */
export function decodeStateSnapshot(
  file: Buffer,
  offset: number,
): { body: Uint8Array } | { problem: string } {
  if (file.length < HEAD_BYTES) return { problem: `${file.length} bytes, shorter than the header` };
  if (file.readUInt32BE(0) !== MAGIC) return { problem: 'bad magic' };
  if (file[4] !== VERSION) return { problem: `version ${file[4]}` };
  if (file.readBigUInt64BE(5) !== BigInt(offset)) return { problem: 'offset differs from the file name' };
  const length = file.readUInt32BE(13);
  if (HEAD_BYTES + length !== file.length) return { problem: `body of ${length} bytes in a ${file.length}` };
  const body = file.subarray(HEAD_BYTES);
  if (crc32c(body) !== file.readUInt32BE(17)) return { problem: 'CRC mismatch' };
  return { body };
}

/**
 * The snapshot files of one partition folder. Writes and deletes run one at a time in call order, apart from
 * the log's mutex: a snapshot taken at a roll is written while appends go on.
 */
export class StateSnapshots {
  private queue: Promise<void> = Promise.resolve();
  /** Offsets of the snapshot files present, ascending. */
  private offsets: number[];
  /** A snapshot write failed and this is logged; cleared by the next one that succeeds. */
  private failing = false;

  private constructor(
    private readonly fs: StorageFs,
    private readonly dir: string,
    private readonly logger: StorageLogger,
    offsets: number[],
  ) {
    this.offsets = offsets;
  }

  static async open(fs: StorageFs, dir: string, logger: StorageLogger): Promise<StateSnapshots> {
    const offsets = (await fs.readdir(dir))
      .map((name) => parseSegmentFileName(name, STATE_SNAPSHOT_SUFFIX))
      .filter((o): o is number => o !== undefined)
      .sort((a, b) => a - b);
    return new StateSnapshots(fs, dir, logger, offsets);
  }

  /** Offsets of the snapshot files, ascending. */
  list(): readonly number[] {
    return this.offsets;
  }

  /** The offset of the newest snapshot, or -1. */
  newest(): number {
    return this.offsets.at(-1) ?? -1;
  }

  private path(offset: number): string {
    return join(this.dir, segmentFileStem(offset) + STATE_SNAPSHOT_SUFFIX);
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(fn);
    return this.queue;
  }

  /**
   * Saves `body` as the state at `offset` and drops all but the newest few. Never rejects: a snapshot that
   * cannot be written (disk full) costs a longer scan on the next open, so it is logged, not raised.
   */
  write(offset: number, body: Uint8Array): Promise<void> {
    return this.enqueue(async () => {
      try {
        await this.fs.writeFileAtomic(this.path(offset), encodeStateSnapshot(offset, body));
      } catch (err) {
        if (!this.failing) {
          this.logger.warn({ dir: this.dir, offset, error: String(err) }, 'could not write a state snapshot');
        }
        this.failing = true;
        return;
      }
      this.failing = false;
      this.offsets = [...this.offsets.filter((o) => o !== offset), offset].sort((a, b) => a - b);
      const kept = new Set(this.offsets.slice(-STATE_SNAPSHOTS_KEPT));
      await this.removeNow((o) => !kept.has(o));
    });
  }

  /** Deletes the snapshots `which` selects, after writes queued before. */
  remove(which: (offset: number) => boolean): Promise<void> {
    return this.enqueue(() => this.removeNow(which));
  }

  private async removeNow(which: (offset: number) => boolean): Promise<void> {
    const gone = this.offsets.filter(which);
    if (gone.length === 0) return;
    this.offsets = this.offsets.filter((o) => !which(o));
    try {
      for (const offset of gone) await this.fs.unlink(this.path(offset));
      // Durably gone: one deleted as past the log end must not come back after a crash, when new batches
      // may sit at the offsets it covered.
      await this.fs.syncDir(this.dir);
    } catch (err) {
      // Left behind, it is deleted again on the next open (below the log start) or replaced in time.
      this.logger.warn({ dir: this.dir, error: String(err) }, 'could not delete a state snapshot');
    }
  }

  /** Reads the snapshot at `offset`: its body, or null when it is unreadable (and then deleted). */
  async read(offset: number): Promise<Uint8Array | null> {
    const file = await this.fs.readFile(this.path(offset));
    const decoded = file === null ? { problem: 'missing' } : decodeStateSnapshot(file, offset);
    if ('body' in decoded) return decoded.body;
    this.unreadable(offset, decoded.problem);
    return null;
  }

  /** Warns that the snapshot at `offset` cannot be used, and deletes it. */
  unreadable(offset: number, problem: string): void {
    this.logger.warn(
      { file: this.path(offset), problem },
      'ignoring an unreadable state snapshot: the state is rebuilt from the log',
    );
    void this.remove((o) => o === offset);
  }

  /** Settles once the writes and deletes queued so far are done. */
  idle(): Promise<void> {
    return this.queue;
  }
}

/**
 * The state as of the log end of `segments`: from the newest usable snapshot, then the batch headers after
 * it. Snapshots past the log end or below the log start are deleted first.
 */
export async function loadLogState(
  kind: LogStateKind,
  snapshots: StateSnapshots,
  segments: readonly Segment[],
  logger: StorageLogger,
): Promise<LogState> {
  const logStart = segments[0]!.baseOffset;
  const logEnd = segments[segments.length - 1]!.nextOffset;
  await snapshots.remove((o) => o > logEnd || o < logStart);
  for (const offset of [...snapshots.list()].reverse()) {
    const body = await snapshots.read(offset);
    if (body === null) continue;
    let state: LogState;
    try {
      state = kind.decode(body);
    } catch (err) {
      snapshots.unreadable(offset, `cannot decode: ${String(err)}`);
      continue;
    }
    if (await applyFrom(segments, offset, state)) {
      if (offset < logEnd)
        logger.info({ snapshotOffset: offset, logEnd }, 'state rebuilt from a snapshot and the log');
      return state;
    }
    snapshots.unreadable(offset, 'its offset is not at a batch boundary of the log');
  }
  const state = kind.empty();
  if (logEnd > logStart)
    logger.info({ logStart, logEnd }, 'no state snapshot: state rebuilt from the whole log');
  await applyFrom(segments, logStart, state);
  return state;
}

/** Applies every batch from `offset` to the log end; false when no batch starts at `offset`. */
async function applyFrom(segments: readonly Segment[], offset: number, state: LogState): Promise<boolean> {
  let i = segments.length - 1;
  while (i > 0 && segments[i]!.baseOffset > offset) i--;
  const first = segments[i]!;
  let position = 0;
  if (offset === first.nextOffset) position = first.sizeBytes;
  else if (offset > first.baseOffset) {
    const batch = await first.withReader(() => locateBatch(first, offset, first.sizeBytes));
    if (batch === undefined || batch.baseOffset !== offset) return false;
    position = batch.position;
  }
  for (; i < segments.length; i++) {
    const segment = segments[i]!;
    const result = await segment.withReader(() =>
      scanBatches(segment.file, position, segment.sizeBytes, false, (_b, bytes, at) => {
        state.apply(bytes, at);
        return true;
      }),
    );
    // Recovery checked this data when it opened the log: bad bytes here are corruption, as they are there.
    if (result.invalid !== undefined)
      throw corrupt(segment.logPath, result.invalid.position, result.invalid.reason);
    position = 0;
  }
  return true;
}

/**
 * The state a log derives from its batches together with its snapshot files: what a PartitionLog opened
 * with a LogStateKind keeps, and every step it takes on them.
 */
export class DerivedLogState {
  /** The offset of the last snapshot taken (-1 for none): close does not write the same one again. */
  private snapshotOffset: number;

  private constructor(
    private readonly kind: LogStateKind,
    /** As of every batch written so far; replaced when truncation cuts batches it had applied. */
    public state: LogState,
    private readonly snapshots: StateSnapshots,
  ) {
    this.snapshotOffset = snapshots.newest();
  }

  /** The state as of the end of `segments`, from the snapshots in `dir` and the batches after them. */
  static async open(
    kind: LogStateKind,
    fs: StorageFs,
    dir: string,
    segments: readonly Segment[],
    logger: StorageLogger,
  ): Promise<DerivedLogState> {
    const snapshots = await StateSnapshots.open(fs, dir, logger);
    return new DerivedLogState(kind, await loadLogState(kind, snapshots, segments, logger), snapshots);
  }

  /**
   * Snapshots the state as of `offset`, the log end (between groups, so the state covers exactly the
   * batches below it). The file is written apart from the log's mutex; the promise settles when it is.
   */
  snapshotAt(offset: number): Promise<void> {
    if (this.snapshotOffset === offset) return Promise.resolve();
    this.snapshotOffset = offset;
    return this.snapshots.write(offset, this.state.encode());
  }

  /** Retention moved the log start: snapshots below it could only be loaded by scanning batches now gone. */
  dropBelow(logStart: number): Promise<void> {
    return this.snapshots.remove((o) => o < logStart);
  }

  /**
   * Before a truncation to `offset`: snapshots covering batches about to go are deleted first, so a crash
   * part-way cannot leave one behind for batches written later at the same offsets.
   */
  dropAbove(offset: number): Promise<void> {
    return this.snapshots.remove((o) => o > offset);
  }

  /** After a truncation: the state as of the log end again. */
  async reload(segments: readonly Segment[], logger: StorageLogger): Promise<void> {
    await this.snapshots.idle();
    this.state = await loadLogState(this.kind, this.snapshots, segments, logger);
    this.snapshotOffset = this.snapshots.newest();
  }

  /** Settles once the snapshot writes and deletes queued so far are done. */
  idle(): Promise<void> {
    return this.snapshots.idle();
  }
}
