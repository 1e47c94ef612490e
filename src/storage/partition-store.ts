/**
 * A replicated partition's log (DESIGN.md section 3): one store that is both the Raft log of the
 * partition's group and the Kafka log clients fetch from. Replication never re-encodes a batch: a Raft
 * entry's data is the record batch exactly as stored.
 *
 * Entries and batches, one to one:
 * - A `normal` entry with data is a RecordBatch v2 the leader has already stamped with its base offset.
 *   The store writes it verbatim, except that it sets the batch's partitionLeaderEpoch field (outside the
 *   CRC) to the entry's Raft term, which is how the term survives a restart.
 * - Every other entry (a leader's empty no-op, a membership change) is a "Raft control batch": a RecordBatch
 *   v2 header with the control attribute bit set, zero records, `lastOffsetDelta` -1, base offset = the log
 *   end offset at that point, partitionLeaderEpoch = term, producer id -1, and as payload one byte of entry
 *   type (`RAFT_CONTROL_NORMAL` / `RAFT_CONTROL_CONF_CHANGE`) followed by the entry's data. It consumes no
 *   offset. Fetch returns it among the data batches; consumers skip batches without records.
 *
 * Offsets are stamped by the store: `save` stamps every data batch in place with the end offset of the
 * entry before it. Every replica computes the same offset from the same log prefix, so the leader's stamp
 * (written before the driver sends the entry: a Ready is persisted before its messages go out) is what
 * followers receive and recompute; offsets follow the log exactly, with no counter to drift and no offset
 * burned by a proposal that never reached the log.
 *
 * Kafka offsets only ever increase along Raft indexes, so the offset range of entry i is known once the
 * entry is stored; the high watermark is the end offset of the entry at the commit index (the replica
 * layer tracks it as entries apply).
 */

import type { RaftStorage } from '../raft/storage/types.js';
import type { LogConfig } from './config.js';
import type { ReadBufferSource } from './read-buffers.js';

export const RAFT_CONTROL_NORMAL = 0;
export const RAFT_CONTROL_CONF_CHANGE = 1;

export interface PartitionStoreRetention {
  /** Raft indexes at or below this may be deleted (latest snapshot index, and what every replica has). */
  readonly floorIndex: number;
  readonly nowMs: number;
}

export interface PartitionStoreRetentionResult {
  readonly deletedSegments: number;
  readonly deletedBytes: number;
  readonly logStartOffset: number;
}

export interface PartitionStore extends RaftStorage {
  /** First Kafka offset readers may read: the first one held, or the floor advanceLogStart raised it to. */
  logStartOffset(): number;
  /**
   * Raises the log start to `offset` (DeleteRecords; never lowered), at once for readers; retention deletes
   * the segments wholly below it. Returns the new log start. On a replica whose log has not reached `offset`
   * yet it is above the log end until the log catches up.
   */
  advanceLogStart(offset: number): number;
  /** The offset the next data batch gets: end of the last data batch stored (committed or not). */
  logEndOffset(): number;
  sizeBytes(): number;
  /**
   * Whole batches (data and Raft control) from the one holding `fetchOffset`, up to `maxBytes` but at least
   * one data batch if any ends at or below `endOffset`; never a batch whose last offset is >= `endOffset`
   * (the high watermark: uncommitted data is never read). OFFSET_OUT_OF_RANGE outside [logStart, endOffset].
   */
  read(fetchOffset: number, maxBytes: number, endOffset: number, buffers?: ReadBufferSource): Promise<Buffer>;
  /** The first data batch below `endOffset` whose max timestamp >= `timestampMs`; null if none. */
  offsetForTimestamp(
    timestampMs: number,
    endOffset: number,
  ): Promise<{ offset: number; timestamp: number } | null>;
  /**
   * The applied index moved: cached entries at or below it may be evicted (beyond the cache budget). Entries
   * above it always stay readable synchronously, as the RaftLogStorage contract requires.
   */
  setAppliedIndex(index: number): void;
  /** Deletes whole closed segments per the topic's retention, never an entry above `floorIndex`. */
  applyRetention(options: PartitionStoreRetention): Promise<PartitionStoreRetentionResult>;
  /** Waits for writes in flight and fsyncs what is not durable yet. */
  flush(): Promise<void>;
  /** A topic config change: the settings the open log can take up at once (ReplicatedLog.reconfigure). */
  reconfigure(config: LogConfig): void;
  /** Leading (consumers read these writes: keep them in the page cache) or following (ReplicatedLog). */
  cacheWrites?(cached: boolean): void;
}

/**
 * A partition snapshot's data: the Kafka offset that follows the snapshot's index (a follower restoring it
 * starts an empty log there), then the replica state machine's own bytes (producer state, ...).
 *
 *   [nextOffset: int64 big-endian][stateMachine: bytes]
 */
export function encodePartitionSnapshot(nextOffset: number, stateMachine: Uint8Array): Uint8Array {
  const out = Buffer.alloc(8 + stateMachine.byteLength);
  out.writeBigInt64BE(BigInt(nextOffset), 0);
  out.set(stateMachine, 8);
  return out;
}

export function decodePartitionSnapshot(data: Uint8Array): { nextOffset: number; stateMachine: Uint8Array } {
  if (data.byteLength === 0) return { nextOffset: 0, stateMachine: new Uint8Array(0) };
  if (data.byteLength < 8)
    throw new RangeError(`partition snapshot of ${data.byteLength} bytes is too short`);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { nextOffset: Number(buf.readBigInt64BE(0)), stateMachine: data.subarray(8) };
}
