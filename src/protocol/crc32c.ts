import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC-32C (Castagnoli), the checksum Kafka's RecordBatch v2 uses. Native (SSE4.2) through @node-rs/crc32. */
export function crc32c(data: Uint8Array): number {
  return (
    nativeCrc32c(
      Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    ) >>> 0
  );
}
