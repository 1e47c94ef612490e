/**
 * Whether a batch's records region is what its header says, checked on append without decoding a record
 * (batches are opaque bytes on the broker's hot path; this walk only reads lengths, offset deltas and a
 * compressed region's framing; gzip, which declares no size, is inflated and dropped on the thread pool).
 */
import { StreamBusError } from '../errors/index.js';
import { codecOfAttributes } from './compression.js';
import { inflateGzipRecords } from './gzip-inflation.js';
import { BATCH_HEADER_BYTES, type BatchHeader, RECORD_BODY_BYTES_MIN } from './record-batch.js';
import { RecordReader } from './record-reader.js';
import { recordsRegion, walkRecords } from './record-walk.js';

/** The smallest record: its length varint and body. */
const RECORD_BYTES_MIN = 1 + RECORD_BODY_BYTES_MIN;

/**
 * Checks that a validated batch's records region matches its compression codec without decoding any record:
 * an uncompressed region must split into exactly `recordCount` length-prefixed records whose offset deltas run
 * 0, 1, 2, ...; a compressed region must be its codec's framing (gzip's magic bytes; whole snappy, lz4 or
 * zstd frames) with room for `recordCount` records, and must not declare more than `decompressedBytesMax`
 * (a decompression bomb every consumer would refuse; gzip: checkGzipRecords). The CRC only proves the
 * producer's bytes arrived intact, not that they are what the header says: a producer that labelled gzip
 * bytes "none" had them stored and every consumer read empty values. Throws INVALID_BATCH naming what is
 * wrong, BATCH_TOO_LARGE for a bomb.
 */
export function checkRecordsMatchCodec(
  batch: Buffer,
  header: BatchHeader,
  operation: string,
  decompressedBytesMax: number,
): void {
  const fail = (message: string): never => {
    throw new StreamBusError('INVALID_BATCH', { operation, message });
  };
  const codec = codecOfAttributes(header.attributes, operation);
  const body = batch.subarray(BATCH_HEADER_BYTES);
  let boundBytes: number;
  try {
    boundBytes = codec.decompressedBytesBound(body);
  } catch (err) {
    throw new StreamBusError('INVALID_BATCH', {
      operation,
      message: `record batch says ${codec.name} but its records are not ${codec.name} data: ${(err as Error).message}`,
    });
  }
  // Offsets are consumed by the declared count without decoding records: bound it by what the bytes can
  // hold, so a tiny batch cannot burn billions of offsets.
  if (header.recordCount > Math.floor(boundBytes / RECORD_BYTES_MIN)) {
    const what = codec.code === 0 ? 'uncompressed' : codec.name;
    fail(`record batch claims ${header.recordCount} records in ${body.length} bytes of ${what} records`);
  }
  if (codec.code !== 0 && codec.boundDeclared && boundBytes > decompressedBytesMax) {
    const message = `${codec.name} records declare up to ${boundBytes} bytes decompressed, above the ${decompressedBytesMax}-byte limit`;
    throw decompressesTooLarge(operation, message, decompressedBytesMax);
  }
  if (codec.code !== 0) return;
  const reader = new RecordReader(batch);
  reader.pos = BATCH_HEADER_BYTES;
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const length = reader.smallVarint();
      const end = reader.pos + length;
      if (length < RECORD_BODY_BYTES_MIN || end > batch.length) {
        fail(
          `record ${i} of an uncompressed batch declares ${length} bytes; ${batch.length - reader.pos} remain (compressed records labelled uncompressed?)`,
        );
      }
      reader.pos++; // attributes
      reader.varint(); // timestampDelta
      const offsetDelta = reader.smallVarint();
      if (offsetDelta !== i) fail(`record ${i} of an uncompressed batch has offset delta ${offsetDelta}`);
      reader.pos = end;
    }
  } catch (err) {
    if (err instanceof StreamBusError) throw err;
    fail(`uncompressed records do not parse: ${(err as Error).message}`);
  }
  if (reader.pos !== batch.length) {
    fail(`uncompressed batch has ${batch.length - reader.pos} bytes after its ${header.recordCount} records`);
  }
}

/**
 * A gzip batch (one checkRecordsMatchCodec passed) inflated: BATCH_TOO_LARGE when it inflates past
 * `decompressedBytesMax`, as the other codecs' declared sizes are refused; INVALID_BATCH when the bytes are
 * not gzip or do not hold exactly the `recordCount` records the header declares; with `keysRequired`
 * (a compacted topic), INVALID_RECORD for a record without a key, found by the same inflation (see
 * checkRecordsHaveKeys). Other codecs: nothing to do.
 */
export async function checkGzipRecords(
  batch: Buffer,
  header: BatchHeader,
  operation: string,
  decompressedBytesMax: number,
  keysRequired = false,
): Promise<void> {
  if (codecOfAttributes(header.attributes, operation).name !== 'gzip') return;
  let inflated: Awaited<ReturnType<typeof inflateGzipRecords>>;
  try {
    inflated = await inflateGzipRecords(
      batch.subarray(BATCH_HEADER_BYTES),
      decompressedBytesMax,
      keysRequired,
    );
  } catch (err) {
    throw new StreamBusError('INVALID_BATCH', {
      operation,
      message: `gzip records do not decompress to records: ${(err as Error).message}`,
    });
  }
  if (!inflated.within) {
    const message = `gzip records inflate past the ${decompressedBytesMax}-byte limit`;
    throw decompressesTooLarge(operation, message, decompressedBytesMax);
  }
  if (inflated.records !== header.recordCount) {
    throw new StreamBusError('INVALID_BATCH', {
      operation,
      message: `record batch claims ${header.recordCount} records; its gzip records hold ${inflated.records}`,
    });
  }
  if (inflated.firstKeyless !== undefined && inflated.firstKeyless >= 0)
    throw keylessRecord(operation, inflated.firstKeyless);
}

function keylessRecord(operation: string, index: number): StreamBusError {
  return new StreamBusError('INVALID_RECORD', {
    operation,
    message: `record ${index} of the batch has no key: a compacted topic (cleanup_policy compact) needs a key on every record`,
    metadata: { recordIndex: index },
  });
}

function decompressesTooLarge(
  operation: string,
  message: string,
  decompressedBytesMax: number,
): StreamBusError {
  return new StreamBusError('BATCH_TOO_LARGE', { operation, message, metadata: { decompressedBytesMax } });
}

/**
 * Checks that every record of a batch (checked by checkRecordsMatchCodec) has a key: a compacted topic keeps
 * the latest record per key, and a record without one could never be compacted. Only compacted topics pay
 * for it: the records are decompressed and walked. A gzip batch is not looked at here: checkGzipRecords
 * finds its keyless records while it inflates it anyway, so it is inflated once. Throws INVALID_RECORD naming
 * the record, INVALID_BATCH for records that do not parse.
 */
export function checkRecordsHaveKeys(
  batch: Buffer,
  header: BatchHeader,
  operation: string,
  decompressedBytesMax: number,
): void {
  if (codecOfAttributes(header.attributes, operation).name === 'gzip') return;
  let index = 0;
  try {
    for (const record of walkRecords(
      recordsRegion(batch, operation, decompressedBytesMax),
      header.recordCount,
    )) {
      if (record.key === null) throw keylessRecord(operation, index);
      index++;
    }
  } catch (err) {
    if (err instanceof StreamBusError) throw err;
    throw new StreamBusError('INVALID_BATCH', { operation, message: `records do not parse: ${String(err)}` });
  }
}
