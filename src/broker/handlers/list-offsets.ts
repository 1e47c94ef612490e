import { StreamBusError } from '../../errors/index.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../../protocol/messages.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../protocol/messages.js';
import type { HandlerContext } from './context.js';
import { toWireError } from './wire-error.js';

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
        const found = await served.offsetForTimestamp(timestamp);
        return found === null
          ? { topic, partition, error: null, offset: -1, timestamp: -1 }
          : { topic, partition, error: null, offset: found.offset, timestamp: found.timestamp };
      } catch (err) {
        return { topic, partition, error: toWireError(err, 'list_offsets'), offset: -1, timestamp: -1 };
      }
    }),
  );
  return { partitions };
}
