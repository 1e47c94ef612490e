/**
 * Raft entries <-> stored record batches (the layout is documented in partition-store.ts).
 *
 * A data entry is stored verbatim: the store only stamps its base offset and partitionLeaderEpoch (= term)
 * in place, both outside the CRC. Every other entry becomes a Raft control batch:
 *
 *   61-byte RecordBatch v2 header: baseOffset = log end offset, partitionLeaderEpoch = term, magic 2,
 *   attributes = control bit, lastOffsetDelta -1, timestamps -1, producer id/epoch/sequence -1,
 *   recordCount 0; then the payload [entry kind: u8][entry data].
 *
 * Timestamps are -1 so every replica stores byte-identical control batches and time lookups skip them.
 */

import { invariant } from '../errors/index.js';
import { asBuffer } from '../protocol/bytes.js';
import { crc32c } from '../protocol/crc32c.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  OFF_ATTRIBUTES,
  OFF_CRC,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_ID,
  OFF_RECORD_COUNT,
  RECORD_BATCH_MAGIC,
  readInt64,
  stampBatch,
} from '../protocol/record-batch.js';
import type { Entry } from '../raft/core/types.js';
import { RAFT_CONTROL_CONF_CHANGE, RAFT_CONTROL_NORMAL } from './partition-store.js';

const CONTROL_ATTRIBUTE = 0x20;
const EPOCH_MAX = 0x7fffffff;

/** Whether `buf` is exactly one plausible RecordBatch v2 (header checks only: no CRC on the hot path). */
function isWholeBatch(buf: Buffer): boolean {
  return (
    buf.length >= BATCH_HEADER_BYTES &&
    buf.readInt32BE(8) + BATCH_LENGTH_PREFIX_BYTES === buf.length &&
    buf[OFF_MAGIC] === RECORD_BATCH_MAGIC
  );
}

/** The stored batch at buf[0..] is a Raft control batch (never a Kafka data or control batch with records). */
export function isRaftControlBatch(buf: Buffer, at = 0): boolean {
  return (
    (buf.readInt16BE(at + OFF_ATTRIBUTES) & CONTROL_ATTRIBUTE) !== 0 &&
    buf.readInt32BE(at + OFF_RECORD_COUNT) === 0 &&
    buf.readInt32BE(at + OFF_LAST_OFFSET_DELTA) === -1 &&
    buf.readInt32BE(at + OFF_PRODUCER_ID) === -1 &&
    buf.readInt32BE(at + OFF_PRODUCER_ID + 4) === -1
  );
}

export function encodeControlBatch(kind: number, data: Uint8Array, baseOffset: number, term: number): Buffer {
  const size = BATCH_HEADER_BYTES + 1 + data.byteLength;
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(size - BATCH_LENGTH_PREFIX_BYTES, 8);
  buf[OFF_MAGIC] = RECORD_BATCH_MAGIC;
  buf.writeInt16BE(CONTROL_ATTRIBUTE, OFF_ATTRIBUTES);
  buf.writeInt32BE(-1, OFF_LAST_OFFSET_DELTA);
  // baseTimestamp, maxTimestamp, producerId: -1 as int64 (all bits set).
  buf.fill(0xff, 27, 51);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(-1, 53);
  buf.writeInt32BE(0, OFF_RECORD_COUNT);
  buf[BATCH_HEADER_BYTES] = kind;
  buf.set(data, BATCH_HEADER_BYTES + 1);
  buf.writeUInt32BE(crc32c(buf.subarray(OFF_ATTRIBUTES)), OFF_CRC);
  stampBatch(buf, baseOffset, term);
  return buf;
}

export interface StoredEntry {
  /** The bytes to write. */
  readonly batch: Buffer;
  /** Offsets the batch consumes (0 for a control batch). */
  readonly offsetCount: number;
  /** Largest timestamp in the batch; -1 for a control batch. */
  readonly maxTimestamp: number;
}

/**
 * The batch that stores `entry` at Kafka offset `nextOffset`. A data batch is stamped in place (base offset
 * and epoch): every replica computes the same offset from the same log prefix, so a leader that pre-stamped
 * correctly sees no change, and a stale pre-stamp cannot make replicas disagree.
 */
export function batchForEntry(entry: Entry, nextOffset: number): StoredEntry {
  invariant(entry.term >= 0 && entry.term <= EPOCH_MAX, () => `term ${entry.term} does not fit an epoch`);
  if (entry.type === 'normal' && entry.data.byteLength > 0) {
    const buf = asBuffer(entry.data);
    if (isWholeBatch(buf) && !isRaftControlBatch(buf)) {
      stampBatch(buf, nextOffset, entry.term);
      const lastOffsetDelta = buf.readInt32BE(OFF_LAST_OFFSET_DELTA);
      invariant(lastOffsetDelta >= 0, () => `entry ${entry.index}: lastOffsetDelta ${lastOffsetDelta}`);
      return {
        batch: buf,
        offsetCount: lastOffsetDelta + 1,
        maxTimestamp: readInt64(buf, OFF_MAX_TIMESTAMP),
      };
    }
  }
  const kind = entry.type === 'conf-change' ? RAFT_CONTROL_CONF_CHANGE : RAFT_CONTROL_NORMAL;
  return {
    batch: encodeControlBatch(kind, entry.data, nextOffset, entry.term),
    offsetCount: 0,
    maxTimestamp: -1,
  };
}

/** The Raft entry a stored batch holds (`batch` is exactly one whole batch; data is a view, not a copy). */
export function entryFromBatch(batch: Buffer, index: number): Entry {
  const term = batch.readInt32BE(OFF_LEADER_EPOCH);
  if (!isRaftControlBatch(batch)) return { term, index, type: 'normal', data: batch };
  const kind = batch[BATCH_HEADER_BYTES];
  const data = batch.subarray(BATCH_HEADER_BYTES + 1);
  return { term, index, type: kind === RAFT_CONTROL_CONF_CHANGE ? 'conf-change' : 'normal', data };
}

export function batchTerm(batch: Buffer, at = 0): number {
  return batch.readInt32BE(at + OFF_LEADER_EPOCH);
}
