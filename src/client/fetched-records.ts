/**
 * Turns the `records` bytes of one fetched partition into messages. Pure: the consumer's fetch loop calls
 * it. Batches arrive whole and may begin before the fetch offset (the broker serves from the batch that
 * contains it), so records below the offset are skipped. A batch whose CRC does not match is an error, never
 * silently skipped; a partial batch at the end (the response was cut at maxBytes) is left for the next fetch.
 */
import { StreamBusError } from '../errors/index.js';
import { DECOMPRESSED_RECORDS_BYTES_MAX } from '../protocol/limits.js';
import {
  BATCH_HEADER_BYTES,
  batchCrcMatches,
  type ConsumedRecord,
  decodeRecords,
  readBatchHeader,
  splitBatches,
} from '../protocol/record-batch.js';

/** A consumed message: where it sits (topic, partition, offset) and what it carries. */
export type ConsumerMessage = ConsumedRecord;

/** Batches of one fetched partition whose CRCs are checked, ready to decode. */
export interface ScannedFetch {
  batches: Buffer[];
  /** Where the next fetch starts: after the last whole batch, and never before `fetchOffset`. */
  nextOffset: number;
}

/**
 * The cheap half of taking a fetch: split into whole batches, check each CRC, and work out the next fetch
 * offset from batch headers alone. The consumer sends its next fetch after this and decodes meanwhile.
 */
export function scanFetch(
  topic: string,
  partition: number,
  records: Buffer,
  fetchOffset: number,
): ScannedFetch {
  const batches: Buffer[] = [];
  let nextOffset = fetchOffset;
  for (const batch of splitBatches(records)) {
    if (batch.length < BATCH_HEADER_BYTES || !batchCrcMatches(batch, 0, batch.length)) {
      throw new StreamBusError('CORRUPT_BATCH', {
        operation: 'consumer.fetch',
        message: `fetched batch of ${topic}/${partition} near offset ${nextOffset} has a bad CRC`,
        metadata: { topic, partition, offset: nextOffset },
      });
    }
    const header = readBatchHeader(batch);
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    if (lastOffset < fetchOffset) continue;
    batches.push(batch);
    nextOffset = Math.max(nextOffset, lastOffset + 1);
  }
  return { batches, nextOffset };
}

/** Decodes scanned batches into messages, skipping records before `fetchOffset` (BATCH_TOO_LARGE: a bomb). */
export function decodeFetch(
  topic: string,
  partition: number,
  scanned: ScannedFetch,
  fetchOffset: number,
  decompressedBytesMax: number = DECOMPRESSED_RECORDS_BYTES_MAX,
): ConsumerMessage[] {
  const messages: ConsumerMessage[] = [];
  for (const batch of scanned.batches) {
    decodeRecords(batch, { minOffset: fetchOffset, topic, partition, into: messages, decompressedBytesMax });
  }
  return messages;
}

export interface FetchedRecords {
  messages: ConsumerMessage[];
  nextOffset: number;
}

/** Scan and decode in one step. */
export function recordsFromFetch(
  topic: string,
  partition: number,
  records: Buffer,
  fetchOffset: number,
): FetchedRecords {
  const scanned = scanFetch(topic, partition, records, fetchOffset);
  return { messages: decodeFetch(topic, partition, scanned, fetchOffset), nextOffset: scanned.nextOffset };
}
