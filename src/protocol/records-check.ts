/**
 * Whether a batch's records region is what its header says, checked on append without decoding a record
 * (batches are opaque bytes on the broker's hot path; this walk only reads lengths, offset deltas and a
 * compressed region's framing).
 */
import { StreamBusError } from '../errors/index.js';
import { codecOfAttributes } from './compression.js';
import { DECOMPRESSED_RECORDS_BYTES_MAX } from './limits.js';
import { BATCH_HEADER_BYTES, type BatchHeader } from './record-batch.js';
import { RecordReader } from './record-reader.js';

/** The smallest record body: attributes, timestampDelta, offsetDelta, key and value lengths, header count. */
const RECORD_BODY_BYTES_MIN = 6;
/** The smallest record: its length varint and body. */
const RECORD_BYTES_MIN = 1 + RECORD_BODY_BYTES_MIN;

/**
 * Checks that a validated batch's records region matches its compression codec without decoding any record:
 * an uncompressed region must split into exactly `recordCount` length-prefixed records whose offset deltas run
 * 0, 1, 2, ...; a compressed region must be its codec's framing (gzip's magic bytes; whole snappy, lz4 or
 * zstd frames) with room for `recordCount` records, and must not declare more than
 * DECOMPRESSED_RECORDS_BYTES_MAX (a decompression bomb every consumer would refuse). The CRC only proves the
 * producer's bytes arrived intact, not that they are what the header says: a producer that labelled gzip
 * bytes "none" had them stored and every consumer read empty values. Throws INVALID_BATCH naming what is
 * wrong, BATCH_TOO_LARGE for a bomb.
 */
export function checkRecordsMatchCodec(batch: Buffer, header: BatchHeader, operation: string): void {
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
  if (codec.code !== 0 && codec.boundDeclared && boundBytes > DECOMPRESSED_RECORDS_BYTES_MAX) {
    throw new StreamBusError('BATCH_TOO_LARGE', {
      operation,
      message: `${codec.name} records declare up to ${boundBytes} bytes decompressed, above the ${DECOMPRESSED_RECORDS_BYTES_MAX}-byte limit`,
      metadata: { decompressedBytesMax: DECOMPRESSED_RECORDS_BYTES_MAX },
    });
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
