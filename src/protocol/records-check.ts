/**
 * Whether a batch's records region is what its header says, checked on append without decoding a record
 * (batches are opaque bytes on the broker's hot path; this walk only reads lengths and offset deltas).
 */
import { StreamBusError } from '../errors/index.js';
import { BATCH_HEADER_BYTES, type BatchHeader, COMPRESSION_CODES } from './record-batch.js';
import { RecordReader } from './record-reader.js';

/** The smallest record body: attributes, timestampDelta, offsetDelta, key and value lengths, header count. */
const RECORD_BODY_BYTES_MIN = 6;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * Checks that a validated batch's records region matches its compression codec without decoding any record:
 * an uncompressed region must split into exactly `recordCount` length-prefixed records whose offset deltas run
 * 0, 1, 2, ...; a gzip region must start with gzip's magic bytes. The CRC only proves the producer's bytes
 * arrived intact, not that they are what the header says: a producer that labelled gzip bytes "none" had them
 * stored and every consumer read empty values. Throws INVALID_BATCH naming what is wrong.
 */
export function checkRecordsMatchCodec(batch: Buffer, header: BatchHeader, operation: string): void {
  const fail = (message: string): never => {
    throw new StreamBusError('INVALID_BATCH', { operation, message });
  };
  const codec = header.attributes & 0x07;
  if (codec === COMPRESSION_CODES.gzip) {
    if (batch[BATCH_HEADER_BYTES] !== GZIP_MAGIC[0] || batch[BATCH_HEADER_BYTES + 1] !== GZIP_MAGIC[1]) {
      fail('record batch says gzip but its records are not gzip data');
    }
    return;
  }
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
