/**
 * Kafka RecordBatch v2, the unit StreamBus stores, replicates and serves.
 *
 *   offset  field                  type
 *   0       baseOffset             int64   stamped by the partition leader; not covered by the CRC
 *   8       batchLength            int32   bytes after this field (total size - 12)
 *   12      partitionLeaderEpoch   int32   stamped by the leader; not covered by the CRC
 *   16      magic                  int8    always 2
 *   17      crc                    uint32  CRC-32C of bytes [21, end)
 *   21      attributes             int16   bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control
 *   23      lastOffsetDelta        int32   recordCount - 1 for batches produced by clients
 *   27      baseTimestamp          int64   ms since the epoch
 *   35      maxTimestamp           int64
 *   43      producerId             int64   -1 when not idempotent
 *   51      producerEpoch          int16
 *   53      baseSequence           int32
 *   57      recordCount            int32
 *   61      records                (compressed as a whole when compression != none)
 *
 * Each record: length varint, attributes int8, timestampDelta varlong, offsetDelta varint, keyLength varint,
 * key, valueLength varint, value, headerCount varint, headers (keyLength varint, key, valueLength varint, value).
 *
 * The broker never decodes records: it validates the header and CRC, stamps baseOffset, and stores the bytes.
 */
import { StreamBusError } from '../errors/index.js';
import {
  type Compression,
  checkCompression,
  codecNamed,
  codecOfAttributes,
  decompressRecords,
} from './compression.js';
import { crc32c } from './crc32c.js';
import { RecordReader } from './record-reader.js';
import { varintSize, writeVarint } from './varint.js';

export const BATCH_HEADER_BYTES = 61;
/** Bytes of the prefix that says how long the batch is: baseOffset + batchLength. */
export const BATCH_LENGTH_PREFIX_BYTES = 12;
export const RECORD_BATCH_MAGIC = 2;
/** The smallest record body: attributes, timestampDelta, offsetDelta, key and value lengths, header count. */
export const RECORD_BODY_BYTES_MIN = 6;

/** Field offsets of the RecordBatch v2 header (the one layout every module reads batches with). */
export const OFF_BASE_OFFSET = 0;
export const OFF_BATCH_LENGTH = 8;
export const OFF_LEADER_EPOCH = 12;
export const OFF_MAGIC = 16;
export const OFF_CRC = 17;
export const OFF_ATTRIBUTES = 21;
export const OFF_LAST_OFFSET_DELTA = 23;
export const OFF_BASE_TIMESTAMP = 27;
export const OFF_MAX_TIMESTAMP = 35;
export const OFF_PRODUCER_ID = 43;
export const OFF_PRODUCER_EPOCH = 51;
export const OFF_BASE_SEQUENCE = 53;
export const OFF_RECORD_COUNT = 57;

export interface BatchHeader {
  baseOffset: number;
  /** Total bytes of the batch including the 12-byte length prefix. */
  sizeBytes: number;
  partitionLeaderEpoch: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface ProducerRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeader[];
  /** ms since the epoch; defaults to the batch's base timestamp. */
  timestamp?: number;
}

export interface ConsumedRecord {
  /** '' and -1 unless the decoder was told (see DecodeOptions). */
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface EncodeBatchOptions {
  compression?: Compression;
  /** Base timestamp in ms; injected so encoders stay pure. */
  baseTimestamp: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

/** A big-endian int64 as a number (offsets and timestamps stay below 2^53). */
export function readInt64(buf: Buffer, offset: number): number {
  return buf.readInt32BE(offset) * 4294967296 + buf.readUInt32BE(offset + 4);
}

/** Writes a number below 2^53 as a big-endian int64. */
export function writeInt64(buf: Buffer, offset: number, value: number): void {
  const high = Math.floor(value / 4294967296);
  buf.writeInt32BE(high, offset);
  buf.writeUInt32BE(value - high * 4294967296, offset + 4);
}

/** Total size of the batch starting at `offset`, or -1 when fewer than 12 bytes are available. */
export function batchSizeAt(buf: Buffer, offset = 0): number {
  if (buf.length - offset < BATCH_LENGTH_PREFIX_BYTES) return -1;
  return buf.readInt32BE(offset + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
}

export function readBatchHeader(buf: Buffer, offset = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, offset + OFF_BASE_OFFSET),
    sizeBytes: buf.readInt32BE(offset + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES,
    partitionLeaderEpoch: buf.readInt32BE(offset + OFF_LEADER_EPOCH),
    crc: buf.readUInt32BE(offset + OFF_CRC),
    attributes: buf.readInt16BE(offset + OFF_ATTRIBUTES),
    lastOffsetDelta: buf.readInt32BE(offset + OFF_LAST_OFFSET_DELTA),
    baseTimestamp: readInt64(buf, offset + OFF_BASE_TIMESTAMP),
    maxTimestamp: readInt64(buf, offset + OFF_MAX_TIMESTAMP),
    producerId: readInt64(buf, offset + OFF_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(offset + OFF_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(offset + OFF_BASE_SEQUENCE),
    recordCount: buf.readInt32BE(offset + OFF_RECORD_COUNT),
  };
}

/**
 * Checks that `batch` is exactly one well-formed batch with a correct CRC; returns its header.
 * Throws INVALID_BATCH for a bad header or length, CORRUPT_BATCH for a CRC mismatch.
 */
export function validateBatch(batch: Buffer, operation = 'batch.validate'): BatchHeader {
  if (batch.length < BATCH_HEADER_BYTES) {
    throw new StreamBusError('INVALID_BATCH', {
      operation,
      message: `record batch is ${batch.length} bytes, shorter than its ${BATCH_HEADER_BYTES}-byte header`,
    });
  }
  const header = readBatchHeader(batch);
  if (header.sizeBytes !== batch.length) {
    throw new StreamBusError('INVALID_BATCH', {
      operation,
      message: `record batch declares ${header.sizeBytes} bytes but carries ${batch.length}`,
    });
  }
  const magic = batch.readInt8(OFF_MAGIC);
  if (magic !== RECORD_BATCH_MAGIC) {
    throw new StreamBusError('INVALID_BATCH', {
      operation,
      message: `record batch magic ${magic}, expected 2`,
    });
  }
  if (header.recordCount <= 0 || header.lastOffsetDelta !== header.recordCount - 1) {
    throw new StreamBusError('INVALID_BATCH', {
      operation,
      message: `record batch has recordCount ${header.recordCount} and lastOffsetDelta ${header.lastOffsetDelta}`,
    });
  }
  codecOfAttributes(header.attributes, operation);
  const actual = crc32c(batch.subarray(OFF_ATTRIBUTES));
  if (actual !== header.crc) {
    throw new StreamBusError('CORRUPT_BATCH', {
      operation,
      metadata: { expectedCrc: header.crc, actualCrc: actual },
    });
  }
  return header;
}

/** Whether the CRC of the batch at [offset, offset+size) is right. Used by recovery and by consumers. */
export function batchCrcMatches(buf: Buffer, offset: number, sizeBytes: number): boolean {
  if (sizeBytes < BATCH_HEADER_BYTES || offset + sizeBytes > buf.length) return false;
  return (
    crc32c(buf.subarray(offset + OFF_ATTRIBUTES, offset + sizeBytes)) === buf.readUInt32BE(offset + OFF_CRC)
  );
}

/**
 * Records in concatenated whole batches, read from headers only (no record decode): for message counters
 * on the produce and fetch paths. A trailing partial batch is not counted.
 */
export function countRecords(batches: Buffer): number {
  let records = 0;
  for (let pos = 0; ; ) {
    const size = batchSizeAt(batches, pos);
    if (size < BATCH_HEADER_BYTES || pos + size > batches.length) return records;
    records += batches.readInt32BE(pos + OFF_RECORD_COUNT);
    pos += size;
  }
}

/** Stamps the leader-assigned fields in place. Neither is covered by the CRC, so no re-checksum is needed. */
export function stampBatch(
  batch: Buffer,
  baseOffset: number,
  partitionLeaderEpoch: number,
  offset = 0,
): void {
  writeInt64(batch, offset + OFF_BASE_OFFSET, baseOffset);
  batch.writeInt32BE(partitionLeaderEpoch, offset + OFF_LEADER_EPOCH);
}

function toBuffer(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}

interface NormalizedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: Buffer; value: Buffer | null }[];
  timestampDelta: number;
}

const NO_ENCODED_HEADERS: NormalizedRecord['headers'] = [];

/** Writes the records' wire form at `offset` (exactly the sum of varint-prefixed `bodySizes`). */
function writeRecords(
  buf: Buffer,
  offset: number,
  normalized: NormalizedRecord[],
  bodySizes: number[],
): void {
  let pos = offset;
  for (let i = 0; i < normalized.length; i++) {
    const r = normalized[i]!;
    pos = writeVarint(buf, pos, bodySizes[i]!);
    buf[pos++] = 0;
    pos = writeVarint(buf, pos, r.timestampDelta);
    pos = writeVarint(buf, pos, i);
    pos = writeBytes(buf, pos, r.key);
    pos = writeBytes(buf, pos, r.value);
    pos = writeVarint(buf, pos, r.headers.length);
    for (const h of r.headers) {
      pos = writeBytes(buf, pos, h.key);
      pos = writeBytes(buf, pos, h.value);
    }
  }
}

function recordBodySize(r: NormalizedRecord, offsetDelta: number): number {
  let size = 1 + varintSize(r.timestampDelta) + varintSize(offsetDelta);
  size += r.key ? varintSize(r.key.length) + r.key.length : 1;
  size += r.value ? varintSize(r.value.length) + r.value.length : 1;
  size += varintSize(r.headers.length);
  for (const h of r.headers) {
    size += varintSize(h.key.length) + h.key.length;
    size += h.value ? varintSize(h.value.length) + h.value.length : 1;
  }
  return size;
}

function writeBytes(buf: Buffer, offset: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(buf, offset, -1);
  offset = writeVarint(buf, offset, bytes.length);
  bytes.copy(buf, offset);
  return offset + bytes.length;
}

/** Encodes records into one batch with baseOffset 0 (the leader stamps it). */
export function encodeRecordBatch(records: readonly ProducerRecord[], options: EncodeBatchOptions): Buffer {
  if (records.length === 0)
    throw new StreamBusError('INVALID_BATCH', { message: 'a batch needs at least one record' });
  const baseTimestamp = options.baseTimestamp;
  let maxTimestamp = baseTimestamp;
  const normalized: NormalizedRecord[] = records.map((r) => {
    const ts = r.timestamp ?? baseTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    return {
      key: toBuffer(r.key),
      value: toBuffer(r.value),
      headers:
        r.headers === undefined || r.headers.length === 0
          ? NO_ENCODED_HEADERS
          : r.headers.map((h) => ({ key: Buffer.from(h.key), value: h.value })),
      timestampDelta: ts - baseTimestamp,
    };
  });
  let recordsSize = 0;
  const bodySizes = normalized.map((r, i) => {
    const body = recordBodySize(r, i);
    recordsSize += varintSize(body) + body;
    return body;
  });
  const compression = options.compression ?? 'none';
  checkCompression(compression, 'batch.encode');
  const codec = codecNamed(compression);
  let batch: Buffer;
  if (codec.code === 0) {
    // Records go straight into the batch: a second megabyte-sized buffer per batch, and its copy, cost the
    // producer about a fifth of its CPU, mostly in garbage collection.
    batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + recordsSize);
    writeRecords(batch, BATCH_HEADER_BYTES, normalized, bodySizes);
  } else {
    const recordsBuf = Buffer.allocUnsafe(recordsSize);
    writeRecords(recordsBuf, 0, normalized, bodySizes);
    const compressed = codec.compress(recordsBuf);
    batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
    compressed.copy(batch, BATCH_HEADER_BYTES);
  }
  writeInt64(batch, OFF_BASE_OFFSET, 0);
  batch.writeInt32BE(batch.length - BATCH_LENGTH_PREFIX_BYTES, OFF_BATCH_LENGTH);
  batch.writeInt32BE(-1, OFF_LEADER_EPOCH);
  batch.writeInt8(RECORD_BATCH_MAGIC, OFF_MAGIC);
  batch.writeInt16BE(codec.code, OFF_ATTRIBUTES);
  batch.writeInt32BE(records.length - 1, OFF_LAST_OFFSET_DELTA);
  writeInt64(batch, OFF_BASE_TIMESTAMP, baseTimestamp);
  writeInt64(batch, OFF_MAX_TIMESTAMP, maxTimestamp);
  writeInt64(batch, OFF_PRODUCER_ID, options.producerId ?? -1);
  batch.writeInt16BE(options.producerEpoch ?? -1, OFF_PRODUCER_EPOCH);
  batch.writeInt32BE(options.baseSequence ?? -1, OFF_BASE_SEQUENCE);
  batch.writeInt32BE(records.length, OFF_RECORD_COUNT);
  batch.writeUInt32BE(crc32c(batch.subarray(OFF_ATTRIBUTES)), OFF_CRC);
  return batch;
}

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

export interface DecodeOptions {
  /** Records below this offset are skipped (a fetch may start inside a batch). */
  minOffset?: number;
  /** Stamped on every record, so consumers need not copy each one to add them. */
  topic?: string;
  partition?: number;
  /** Appends to this array instead of a new one. */
  into?: ConsumedRecord[];
  /** What the records may decompress to; default DECOMPRESSED_RECORDS_BYTES_MAX. */
  decompressedBytesMax?: number;
}

/**
 * Decodes the records of one validated batch: consumers, and the broker only for ListOffsets by time and the
 * offsets topic. Throws UNSUPPORTED_COMPRESSION, INVALID_BATCH (bytes that do not decompress or parse) or
 * BATCH_TOO_LARGE (records that would decompress past `decompressedBytesMax`).
 */
export function decodeRecords(batch: Buffer, options: DecodeOptions = {}): ConsumedRecord[] {
  const out = options.into ?? [];
  const minOffset = options.minOffset ?? 0;
  const topic = options.topic ?? '';
  const partition = options.partition ?? -1;
  const baseOffset = readInt64(batch, OFF_BASE_OFFSET);
  const baseTimestamp = readInt64(batch, OFF_BASE_TIMESTAMP);
  const recordCount = batch.readInt32BE(OFF_RECORD_COUNT);
  const attributes = batch.readInt16BE(OFF_ATTRIBUTES);
  const codec = codecOfAttributes(attributes, 'batch.decode');
  const region = batch.subarray(
    BATCH_HEADER_BYTES,
    batch.readInt32BE(OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES,
  );
  const body =
    codec.code === 0
      ? region
      : decompressRecords(codec, region, 'batch.decode', options.decompressedBytesMax);
  const reader = new RecordReader(body);
  try {
    for (let i = 0; i < recordCount; i++) {
      const length = reader.smallVarint();
      const end = reader.pos + length;
      if (end > body.length) throw new RangeError('record overruns the batch');
      reader.pos++; // attributes
      const timestampDelta = reader.varint();
      const offsetDelta = reader.smallVarint();
      const offset = baseOffset + offsetDelta;
      if (offset < minOffset) {
        reader.pos = end;
        continue;
      }
      const key = reader.bytes();
      const value = reader.bytes();
      const headerCount = reader.smallVarint();
      let headers = NO_HEADERS as RecordHeader[];
      if (headerCount > 0) {
        headers = [];
        for (let h = 0; h < headerCount; h++) {
          const hk = reader.bytes();
          headers.push({ key: hk ? hk.toString() : '', value: reader.bytes() });
        }
      }
      out.push({ topic, partition, offset, timestamp: baseTimestamp + timestampDelta, key, value, headers });
      reader.pos = end;
    }
  } catch (err) {
    throw new StreamBusError('INVALID_BATCH', {
      operation: 'batch.decode',
      cause: err,
      message: String(err),
    });
  }
  return out;
}

/**
 * Splits concatenated batches (a fetch response, a segment read) into whole batches. A partial batch at the
 * end (a fetch cut at maxBytes) is left out, as Kafka consumers do.
 */
export function* splitBatches(buf: Buffer): Generator<Buffer> {
  let offset = 0;
  for (;;) {
    const size = batchSizeAt(buf, offset);
    if (size < BATCH_HEADER_BYTES || offset + size > buf.length) return;
    yield buf.subarray(offset, offset + size);
    offset += size;
  }
}
