import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { asBuffer } from './bytes.js';

/** CRC-32C (Castagnoli), the checksum Kafka's RecordBatch v2 uses. Native (SSE4.2) through @node-rs/crc32. */
export function crc32c(data: Uint8Array): number {
  return nativeCrc32c(asBuffer(data)) >>> 0;
}
