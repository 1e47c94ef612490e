/**
 * The records of one batch as raw pieces, for the few broker paths that must look inside a batch: the keys
 * a compacted topic requires on produce, and the log cleaner, which rewrites batches keeping some records.
 * A record's key, value and headers stay the bytes they were (`tail`); only the fields before them are read.
 */
import { codecOfAttributes, decompressRecords } from './compression.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  OFF_ATTRIBUTES,
  OFF_BATCH_LENGTH,
  OFF_RECORD_COUNT,
} from './record-batch.js';
import { RecordReader } from './record-reader.js';

export interface RawRecord {
  /** The record's attributes byte (unused by Kafka v2, kept as it was). */
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  /** A null value: in a compacted topic, a tombstone deleting its key. */
  nullValue: boolean;
  /** The record's bytes from its key length on (key, value, headers), to copy as they are. */
  tail: Buffer;
}

/**
 * The batch's records region, decompressed (at most `outputBytesMax` bytes). Throws UNSUPPORTED_COMPRESSION,
 * INVALID_BATCH, BATCH_TOO_LARGE.
 */
export function recordsRegion(batch: Buffer, operation: string, outputBytesMax?: number): Buffer {
  const codec = codecOfAttributes(batch.readInt16BE(OFF_ATTRIBUTES), operation);
  const region = batch.subarray(
    BATCH_HEADER_BYTES,
    batch.readInt32BE(OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES,
  );
  return codec.code === 0 ? region : decompressRecords(codec, region, operation, outputBytesMax);
}

/** Each record of `region` (recordsRegion of a batch of `recordCount` records). Throws RangeError on bad bytes. */
export function* walkRecords(region: Buffer, recordCount: number): Generator<RawRecord> {
  const reader = new RecordReader(region);
  for (let i = 0; i < recordCount; i++) {
    const length = reader.smallVarint();
    const end = reader.pos + length;
    if (length < 0 || end > region.length) throw new RangeError('record overruns the batch');
    const attributes = region[reader.pos++]!;
    const timestampDelta = reader.varint();
    const offsetDelta = reader.smallVarint();
    const tailStart = reader.pos;
    const key = reader.bytes();
    const nullValue = reader.smallVarint() < 0;
    yield { attributes, timestampDelta, offsetDelta, key, nullValue, tail: region.subarray(tailStart, end) };
    reader.pos = end;
  }
}

/** The records of a whole batch (recordsRegion, then walkRecords). */
export function batchRecords(
  batch: Buffer,
  operation: string,
  outputBytesMax?: number,
): Generator<RawRecord> {
  return walkRecords(recordsRegion(batch, operation, outputBytesMax), batch.readInt32BE(OFF_RECORD_COUNT));
}
