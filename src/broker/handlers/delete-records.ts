import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../../protocol/messages.js';
import type { HandlerContext, RequestSource } from './context.js';
import { partitionWireError } from './wire-error.js';

/** DeleteRecords: each partition's log start advanced by its leader here (catalog.deleteRecords), or its error. */
export async function handleDeleteRecords(
  ctx: HandlerContext,
  request: DeleteRecordsRequest,
  source: RequestSource,
): Promise<DeleteRecordsResponse> {
  const partitions = await Promise.all(
    request.partitions.map(async ({ topic, partition, offset }) => {
      try {
        const lowWatermark = await ctx.catalog.deleteRecords({ topic, partition, offset }, source.deadline);
        return { topic, partition, error: null, lowWatermark };
      } catch (err) {
        return {
          topic,
          partition,
          error: partitionWireError(ctx.observer, err, 'delete_records'),
          lowWatermark: -1,
        };
      }
    }),
  );
  return { partitions };
}
