import { StreamBusError } from '../../errors/index.js';
import type {
  Acks,
  ProducePartitionResult,
  ProduceRequest,
  ProduceResponse,
} from '../../protocol/messages.js';
import { countRecords } from '../../protocol/record-batch.js';
import type { Deadline } from '../../resilience/deadline.js';
import type { HandlerContext, RequestSource } from './context.js';
import { assertNotInternal } from './internal-topics.js';
import { leaderHintOf, partitionWireError } from './wire-error.js';

async function producePartition(
  ctx: HandlerContext,
  topic: string,
  partition: number,
  records: Buffer,
  acks: Acks,
  deadline: Deadline,
): Promise<ProducePartitionResult> {
  try {
    assertNotInternal(topic, 'produce');
    const served = ctx.catalog.partition(topic, partition);
    const outcome = await served.append(records, acks, deadline);
    const count = countRecords(records);
    if (count > 0) ctx.observer.onProduced(topic, count, records.length);
    return {
      topic,
      partition,
      error: null,
      baseOffset: outcome.baseOffset,
      logAppendTimeMs: outcome.logAppendTimeMs,
      logStartOffset: served.logStartOffset(),
      leaderHint: -1,
    };
  } catch (err) {
    return {
      topic,
      partition,
      error: partitionWireError(ctx.observer, err, 'produce'),
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      leaderHint: leaderHintOf(err),
    };
  }
}

/**
 * Produce: each partition is appended independently (one bad partition does not fail the others). With a
 * single broker, acks=1 and acks=all both wait for the append to be durable per the fsync policy; acks=0
 * still appends but the router sends no response. The wait for acknowledgement ends at the request's
 * deadline (the router then answers REQUEST_TIMED_OUT); a batch already in the log stays there.
 */
export async function handleProduce(
  ctx: HandlerContext,
  request: ProduceRequest,
  source: RequestSource,
): Promise<ProduceResponse> {
  if (request.acks !== 0 && request.acks !== 1 && request.acks !== -1) {
    throw new StreamBusError('INVALID_ACKS', { operation: 'produce', metadata: { acks: request.acks } });
  }
  const results = await Promise.all(
    request.partitions.map((p) =>
      producePartition(ctx, p.topic, p.partition, p.records, request.acks, source.deadline),
    ),
  );
  return { partitions: results };
}
