import { StreamBusError } from '../errors/index.js';
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchSizeAt,
  validateBatch,
} from '../protocol/record-batch.js';
import { checkGzipRecords, checkRecordsHaveKeys, checkRecordsMatchCodec } from '../protocol/records-check.js';

/** What one appended batch may be. */
export interface AppendLimits {
  /** Its bytes, header included (limits.batch_bytes_max, a topic's max.message.bytes). */
  readonly batchBytesMax: number;
  /** What its records may decompress to (decompressedRecordsBytesMax of limits.frame_bytes_max). */
  readonly decompressedBytesMax: number;
  /** Every record needs a key: a compacted topic, where the cleaner keeps records by key (Kafka refuses them too). */
  readonly keysRequired?: boolean;
}

/**
 * Splits a produce payload (one or more whole batches back to back) into batches, validating each header and
 * CRC, and each one's records against its codec: a gzip batch is inflated (off the event loop) to check its
 * size, so this is asynchronous. Throws INVALID_BATCH, CORRUPT_BATCH, UNSUPPORTED_COMPRESSION,
 * BATCH_TOO_LARGE, or INVALID_RECORD for a record without a key under `keysRequired`; the subarrays share the
 * caller's memory (no copy).
 */
export async function splitAndValidate(payload: Buffer, limits: AppendLimits): Promise<Buffer[]> {
  const operation = 'log.append';
  if (payload.length === 0)
    throw new StreamBusError('INVALID_BATCH', { operation, message: 'no record batches' });
  const batches: Buffer[] = [];
  const headers: BatchHeader[] = [];
  let pos = 0;
  while (pos < payload.length) {
    const size = batchSizeAt(payload, pos);
    if (size > limits.batchBytesMax) {
      throw new StreamBusError('BATCH_TOO_LARGE', {
        operation,
        message: `record batch of ${size} bytes exceeds the ${limits.batchBytesMax}-byte limit`,
        metadata: { sizeBytes: size, batchBytesMax: limits.batchBytesMax },
      });
    }
    if (size < BATCH_HEADER_BYTES || pos + size > payload.length) {
      throw new StreamBusError('INVALID_BATCH', {
        operation,
        message: `record batch at byte ${pos} declares ${size} bytes; ${payload.length - pos} remain`,
      });
    }
    const batch = payload.subarray(pos, pos + size);
    const header = validateBatch(batch, operation);
    checkRecordsMatchCodec(batch, header, operation, limits.decompressedBytesMax);
    batches.push(batch);
    headers.push(header);
    pos += size;
  }
  // One at a time, after every cheap check passed: a payload of many gzip batches holds one thread at most.
  // A gzip batch of a compacted topic is inflated once: its keys are checked as it inflates.
  const keysRequired = limits.keysRequired === true;
  for (let i = 0; i < batches.length; i++) {
    await checkGzipRecords(batches[i]!, headers[i]!, operation, limits.decompressedBytesMax, keysRequired);
    if (keysRequired) checkRecordsHaveKeys(batches[i]!, headers[i]!, operation, limits.decompressedBytesMax);
  }
  return batches;
}
