import { StreamBusError } from '../../errors/index.js';
import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../../protocol/messages.js';
import type { TopicCatalog } from '../catalog.js';
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
        checkDeletable(ctx.catalog, topic);
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

/**
 * As Kafka: an internal topic's records are the brokers' own state (committed offsets), and a compact-only
 * topic promises every key's latest record, so neither has records deleted by offset. (An unknown topic is
 * the catalog's to answer.)
 */
function checkDeletable(catalog: TopicCatalog, topic: string): void {
  const info = catalog.topic(topic);
  if (info === undefined) return;
  const refuse = (why: string): never => {
    throw new StreamBusError('INVALID_REQUEST', {
      operation: 'delete_records',
      message: `records of ${topic} cannot be deleted: ${why}`,
      metadata: { topic },
    });
  };
  if (info.internal) refuse("it is an internal topic (the brokers' own state)");
  const policy = catalog
    .describeConfigs({ type: 'topic', name: topic })
    .find((e) => e.key === 'cleanup_policy');
  if (policy !== undefined && !policy.value.split(',').includes('delete')) {
    refuse(
      `its cleanup_policy is ${policy.value}, which keeps every key's latest record (add delete to it first)`,
    );
  }
}
