import { StreamBusError } from '../errors/index.js';
import { BATCH_HEADER_BYTES, batchSizeAt, validateBatch } from '../protocol/record-batch.js';
import { checkRecordsMatchCodec } from '../protocol/records-check.js';

/**
 * Splits a produce payload (one or more whole batches back to back) into batches, validating each header and
 * CRC. Throws INVALID_BATCH, CORRUPT_BATCH, UNSUPPORTED_COMPRESSION or BATCH_TOO_LARGE; the subarrays share
 * the caller's memory (no copy).
 */
export function splitAndValidate(payload: Buffer, batchBytesMax: number): Buffer[] {
  const operation = 'log.append';
  if (payload.length === 0)
    throw new StreamBusError('INVALID_BATCH', { operation, message: 'no record batches' });
  const batches: Buffer[] = [];
  let pos = 0;
  while (pos < payload.length) {
    const size = batchSizeAt(payload, pos);
    if (size > batchBytesMax) {
      throw new StreamBusError('BATCH_TOO_LARGE', {
        operation,
        message: `record batch of ${size} bytes exceeds the ${batchBytesMax}-byte limit`,
        metadata: { sizeBytes: size, batchBytesMax },
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
    checkRecordsMatchCodec(batch, header, operation);
    batches.push(batch);
    pos += size;
  }
  return batches;
}
