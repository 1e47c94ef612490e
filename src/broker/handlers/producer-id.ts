import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/messages.js';
import type { HandlerContext, RequestSource } from './context.js';
import { toWireError, wireError } from './wire-error.js';

/**
 * InitProducerId: a fresh producer id (unique across the cluster, never reused) at epoch 0. Failures of the
 * id source (metadata quorum unavailable, disk full) travel as the body's error with their category, so a
 * producer retries the retriable ones.
 */
export async function handleInitProducerId(
  ctx: HandlerContext,
  _request: InitProducerIdRequest,
  source: RequestSource,
): Promise<InitProducerIdResponse> {
  if (ctx.producerIds === undefined) {
    return {
      error: wireError('UNKNOWN_API', 'this broker does not hand out producer ids'),
      producerId: -1,
      producerEpoch: -1,
    };
  }
  try {
    const producerId = await ctx.producerIds.allocate(source.deadline);
    return { error: null, producerId, producerEpoch: 0 };
  } catch (err) {
    return { error: toWireError(err, 'init_producer_id'), producerId: -1, producerEpoch: -1 };
  }
}
