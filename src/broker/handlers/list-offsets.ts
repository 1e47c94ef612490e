import { StreamBusError } from '../../errors/index.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../protocol/messages.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../protocol/messages.js';
import { decodeRecords, splitBatches } from '../../protocol/record-batch.js';
import type { ServedPartition } from '../catalog.js';
import type { HandlerContext } from './context.js';
import { partitionWireError } from './wire-error.js';

/**
 * The time index finds the first batch whose max timestamp reaches `timestampMs`; the record is inside it.
 * This is the one place the broker decodes records: ListOffsets by time is rare and off the hot path.
 */
async function exactOffsetForTimestamp(
  served: ServedPartition,
  timestampMs: number,
  decompressedBytesMax: number | undefined,
): Promise<{ offset: number; timestamp: number } | null> {
  const batchHit = await served.offsetForTimestamp(timestampMs);
  if (batchHit === null) return null;
  const { records } = await served.read(batchHit.offset, 1);
  for (const batch of splitBatches(records)) {
    const options = {
      minOffset: batchHit.offset,
      ...(decompressedBytesMax === undefined ? {} : { decompressedBytesMax }),
    };
    for (const r of decodeRecords(batch, options)) {
      if (r.timestamp >= timestampMs) return { offset: r.offset, timestamp: r.timestamp };
    }
  }
  return batchHit;
}

/** ListOffsets: earliest (log start), latest (high watermark) or the first offset at or after a timestamp. */
export async function handleListOffsets(
  ctx: HandlerContext,
  request: ListOffsetsRequest,
): Promise<ListOffsetsResponse> {
  const partitions = await Promise.all(
    request.partitions.map(async ({ topic, partition, timestamp }) => {
      try {
        const served = ctx.catalog.partition(topic, partition);
        if (timestamp === LATEST_TIMESTAMP) {
          return { topic, partition, error: null, offset: served.highWatermark(), timestamp: -1 };
        }
        if (timestamp === EARLIEST_TIMESTAMP) {
          return { topic, partition, error: null, offset: served.logStartOffset(), timestamp: -1 };
        }
        if (timestamp < 0) {
          throw new StreamBusError('INVALID_TIMESTAMP', {
            operation: 'list_offsets',
            message: `timestamp ${timestamp}: expected -1 (latest), -2 (earliest) or ms since the epoch`,
          });
        }
        const found = await exactOffsetForTimestamp(served, timestamp, ctx.limits.decompressedBytesMax);
        return found === null
          ? { topic, partition, error: null, offset: -1, timestamp: -1 }
          : { topic, partition, error: null, offset: found.offset, timestamp: found.timestamp };
      } catch (err) {
        return {
          topic,
          partition,
          error: partitionWireError(ctx.observer, err, 'list_offsets'),
          offset: -1,
          timestamp: -1,
        };
      }
    }),
  );
  return { partitions };
}
