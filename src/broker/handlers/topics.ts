import type {
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeTopicsRequest,
  DescribeTopicsResponse,
  ListTopicsResponse,
  MetadataRequest,
  MetadataResponse,
  PartitionDescription,
  TopicMetadata,
} from '../../protocol/messages.js';
import type { HandlerContext } from './context.js';
import { toWireError, wireError } from './wire-error.js';

/** Topics are created one by one so one bad spec does not fail the rest of the request. */
export async function handleCreateTopics(
  ctx: HandlerContext,
  request: CreateTopicsRequest,
): Promise<CreateTopicsResponse> {
  const topics = [];
  for (const spec of request.topics) {
    try {
      if (request.validateOnly) ctx.catalog.validateTopic(spec);
      else await ctx.catalog.createTopic(spec);
      topics.push({ name: spec.name, error: null });
    } catch (err) {
      topics.push({ name: spec.name, error: toWireError(err, 'create_topics') });
    }
  }
  return { topics };
}

export async function handleDeleteTopics(
  ctx: HandlerContext,
  request: DeleteTopicsRequest,
): Promise<DeleteTopicsResponse> {
  const topics = [];
  for (const name of request.topics) {
    try {
      await ctx.catalog.deleteTopic(name);
      topics.push({ name, error: null });
    } catch (err) {
      topics.push({ name, error: toWireError(err, 'delete_topics') });
    }
  }
  return { topics };
}

export function handleListTopics(ctx: HandlerContext): ListTopicsResponse {
  return {
    topics: ctx.catalog
      .listTopics()
      .map((t) => ({ name: t.name, partitions: t.partitions, internal: t.internal }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export function handleDescribeTopics(
  ctx: HandlerContext,
  request: DescribeTopicsRequest,
): DescribeTopicsResponse {
  const names = request.topics.length > 0 ? request.topics : ctx.catalog.listTopics().map((t) => t.name);
  return {
    topics: names.map((name) => {
      const info = ctx.catalog.topic(name);
      if (info === undefined) {
        return {
          name,
          error: wireError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic ${name}`),
          partitions: [],
          configs: {},
        };
      }
      const partitions: PartitionDescription[] = [];
      for (let p = 0; p < info.partitions; p++) {
        const served = ctx.catalog.partition(name, p);
        partitions.push({
          partition: p,
          leaderId: ctx.self.id,
          replicas: [ctx.self.id],
          isr: [ctx.self.id],
          logStartOffset: served.logStartOffset(),
          highWatermark: served.highWatermark(),
          sizeBytes: served.sizeBytes(),
        });
      }
      return { name, error: null, partitions, configs: info.configs };
    }),
  };
}

/** Metadata: the brokers and, per topic, each partition's leader and replicas. This broker leads all. */
export function handleMetadata(ctx: HandlerContext, request: MetadataRequest): MetadataResponse {
  const names = request.topics ?? ctx.catalog.listTopics().map((t) => t.name);
  const topics: TopicMetadata[] = names.map((name) => {
    const info = ctx.catalog.topic(name);
    if (info === undefined) {
      return {
        name,
        error: wireError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic ${name}`),
        internal: false,
        partitions: [],
      };
    }
    return {
      name,
      error: null,
      internal: info.internal,
      partitions: Array.from({ length: info.partitions }, (_, partition) => ({
        partition,
        leaderId: ctx.self.id,
        leaderEpoch: 0,
        replicas: [ctx.self.id],
        isr: [ctx.self.id],
        error: null,
      })),
    };
  });
  return { clusterId: ctx.clusterId, controllerId: ctx.self.id, brokers: [ctx.self], topics };
}
