/**
 * Compacting one stored batch (pure): the records the cleaner drops go, the batch itself stays. Raft indexes
 * count stored batches and idempotent producer state is rebuilt from batch headers, so a batch keeps its
 * base offset, lastOffsetDelta, partitionLeaderEpoch (the Raft term), producer id, epoch and base sequence
 * and max timestamp even when no record is left (then recordCount is 0: an empty batch, as Kafka's cleaner
 * keeps one). Offsets of dropped records become gaps; consumers skip them by the batch's lastOffsetDelta.
 *
 * A record goes when a later record of its key exists (`map`); a tombstone (null value) that is its key's
 * latest stays until its delete horizon. As in Kafka (KIP-534), the first clean that keeps a batch's
 * tombstones stamps the horizon in the batch: attribute bit 6 set and baseTimestamp = now +
 * delete_retention_ms, with the records' timestamp deltas rewritten so every record keeps its timestamp.
 * Batches with the control bit (Raft control batches, which hold Raft-only entries) are never touched.
 */

import { codecOfAttributes } from '../protocol/compression.js';
import { crc32c } from '../protocol/crc32c.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  OFF_ATTRIBUTES,
  OFF_BASE_TIMESTAMP,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_RECORD_COUNT,
  readInt64,
  writeInt64,
} from '../protocol/record-batch.js';
import { type RawRecord, recordsRegion, walkRecords } from '../protocol/record-walk.js';
import { varintSize, writeVarint } from '../protocol/varint.js';
import type { KeyOffsetMap } from './key-offset-map.js';

const COMPRESSION_BITS = 0x07;
const CONTROL_ATTRIBUTE = 0x20;
/** Kafka's deleteHorizonMs flag: baseTimestamp holds the time the batch's tombstones may go. */
export const DELETE_HORIZON_ATTRIBUTE = 0x40;
/**
 * Latest delete horizon stamped (about the year 37,000): records' timestamp deltas from it must stay exact
 * numbers, whatever delete_retention_ms says.
 */
export const DELETE_HORIZON_MAX_MS = 2 ** 50;

export interface CompactionRule {
  nowMs: number;
  deleteRetentionMs: number;
  /** What a batch's records may decompress to: the log's, as its appends were checked against. */
  decompressedBytesMax: number;
}

export interface CompactedBatch {
  /** The batch to store: `batch` itself when nothing changed. */
  batch: Buffer;
  changed: boolean;
  /** Records dropped as superseded or as tombstones past their horizon. */
  removedRecords: number;
  /** The batch still holds tombstones that go at this time; -1 when it holds none. */
  tombstoneHorizonMs: number;
}

/** Compacts one stored batch (CRC already checked) against `map`. Throws on records that do not parse. */
export function compactBatch(batch: Buffer, map: KeyOffsetMap, rule: CompactionRule): CompactedBatch {
  const attributes = batch.readInt16BE(OFF_ATTRIBUTES);
  const recordCount = batch.readInt32BE(OFF_RECORD_COUNT);
  const unchanged: CompactedBatch = { batch, changed: false, removedRecords: 0, tombstoneHorizonMs: -1 };
  if ((attributes & CONTROL_ATTRIBUTE) !== 0 || recordCount === 0) return unchanged;
  const baseOffset = readInt64(batch, 0);
  const baseTimestamp = readInt64(batch, OFF_BASE_TIMESTAMP);
  const stamped = (attributes & DELETE_HORIZON_ATTRIBUTE) !== 0;
  const kept: RawRecord[] = [];
  let tombstones = 0;
  for (const r of walkRecords(recordsRegion(batch, 'log.clean', rule.decompressedBytesMax), recordCount)) {
    if (r.key !== null) {
      const latest = map.latestOffset(r.key);
      if (latest !== undefined && latest > baseOffset + r.offsetDelta) continue;
      if (r.nullValue) {
        if (stamped && rule.nowMs >= baseTimestamp) continue;
        tombstones++;
      }
    }
    kept.push(r);
  }
  const removedRecords = recordCount - kept.length;
  const horizonMs = stamped
    ? baseTimestamp
    : Math.min(rule.nowMs + rule.deleteRetentionMs, DELETE_HORIZON_MAX_MS);
  if (removedRecords === 0 && (tombstones === 0 || stamped)) {
    return { ...unchanged, tombstoneHorizonMs: tombstones > 0 ? horizonMs : -1 };
  }
  const rebuilt = rebuildBatch(batch, kept, baseTimestamp, tombstones > 0 ? horizonMs : undefined);
  return {
    batch: rebuilt,
    changed: true,
    removedRecords,
    tombstoneHorizonMs: tombstones > 0 ? horizonMs : -1,
  };
}

/**
 * `batch` with only `kept` records: the header copied, then records re-framed around their original key,
 * value and headers bytes. With `horizonMs`, the delete horizon is stamped. No record left: an empty,
 * uncompressed batch (an empty compressed region would not decompress).
 */
function rebuildBatch(
  batch: Buffer,
  kept: readonly RawRecord[],
  originalBaseTimestamp: number,
  horizonMs: number | undefined,
): Buffer {
  const attributes = batch.readInt16BE(OFF_ATTRIBUTES);
  const baseTimestamp = horizonMs ?? originalBaseTimestamp;
  const deltas = kept.map((r) => originalBaseTimestamp + r.timestampDelta - baseTimestamp);
  let size = 0;
  const bodySizes = kept.map((r, i) => {
    const body = 1 + varintSize(deltas[i]!) + varintSize(r.offsetDelta) + r.tail.length;
    size += varintSize(body) + body;
    return body;
  });
  const records = Buffer.allocUnsafe(size);
  let pos = 0;
  kept.forEach((r, i) => {
    pos = writeVarint(records, pos, bodySizes[i]!);
    records[pos++] = r.attributes;
    pos = writeVarint(records, pos, deltas[i]!);
    pos = writeVarint(records, pos, r.offsetDelta);
    pos += r.tail.copy(records, pos);
  });
  let newAttributes = attributes & ~DELETE_HORIZON_ATTRIBUTE;
  let region: Buffer = records;
  if (kept.length === 0) newAttributes &= ~COMPRESSION_BITS;
  else {
    if (horizonMs !== undefined) newAttributes |= DELETE_HORIZON_ATTRIBUTE;
    const codec = codecOfAttributes(attributes, 'log.clean');
    if (codec.code !== 0) region = codec.compress(records);
  }
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + region.length);
  batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
  region.copy(out, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - BATCH_LENGTH_PREFIX_BYTES, OFF_BATCH_LENGTH);
  out.writeInt16BE(newAttributes, OFF_ATTRIBUTES);
  writeInt64(out, OFF_BASE_TIMESTAMP, kept.length === 0 ? originalBaseTimestamp : baseTimestamp);
  out.writeInt32BE(kept.length, OFF_RECORD_COUNT);
  out.writeUInt32BE(crc32c(out.subarray(OFF_ATTRIBUTES)), OFF_CRC);
  return out;
}

/**
 * Puts the keys of one stored batch into `map`, from `fromOffset` on; returns the offset of the first record
 * whose key did not fit (the map is full), or -1 when all fitted. Control batches hold no keys.
 */
export function mapBatchKeys(
  batch: Buffer,
  map: KeyOffsetMap,
  fromOffset: number,
  decompressedBytesMax: number,
): number {
  const attributes = batch.readInt16BE(OFF_ATTRIBUTES);
  const recordCount = batch.readInt32BE(OFF_RECORD_COUNT);
  if ((attributes & CONTROL_ATTRIBUTE) !== 0 || recordCount === 0) return -1;
  const baseOffset = readInt64(batch, 0);
  for (const r of walkRecords(recordsRegion(batch, 'log.clean', decompressedBytesMax), recordCount)) {
    const offset = baseOffset + r.offsetDelta;
    if (r.key === null || offset < fromOffset) continue;
    if (!map.put(r.key, offset)) return offset;
  }
  return -1;
}
