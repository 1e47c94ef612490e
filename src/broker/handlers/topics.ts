import type {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
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
import type { PartitionPlacement, ServedPartition } from '../catalog.js';
import type { HandlerContext, RequestSource } from './context.js';
import { assertNotInternal } from './internal-topics.js';
import { toWireError, wireError } from './wire-error.js';

/** Topics are created one by one so one bad spec does not fail the rest of the request. */
export async function handleCreateTopics(
  ctx: HandlerContext,
  request: CreateTopicsRequest,
  source: RequestSource,
): Promise<CreateTopicsResponse> {
  const topics = [];
  for (const spec of request.topics) {
    try {
      assertNotInternal(spec.name, 'create_topics');
      if (request.validateOnly) ctx.catalog.validateTopic(spec);
      else await ctx.catalog.createTopic(spec, source.deadline);
      topics.push({ name: spec.name, error: null });
    } catch (err) {
      topics.push({ name: spec.name, error: toWireError(err, 'create_topics') });
    }
  }
  return { topics };
}

/** Each topic on its own, as in CreateTopics: one bad count does not fail the others. */
export async function handleCreatePartitions(
  ctx: HandlerContext,
  request: CreatePartitionsRequest,
  source: RequestSource,
): Promise<CreatePartitionsResponse> {
  const topics = [];
  for (const spec of request.topics) {
    const { name } = spec;
    try {
      assertNotInternal(name, 'create_partitions');
      await ctx.catalog.createPartitions(spec, request.validateOnly, source.deadline);
      topics.push({ name, error: null });
    } catch (err) {
      topics.push({ name, error: toWireError(err, 'create_partitions') });
    }
  }
  return { topics };
}

export async function handleDeleteTopics(
  ctx: HandlerContext,
  request: DeleteTopicsRequest,
  source: RequestSource,
): Promise<DeleteTopicsResponse> {
  const topics = [];
  for (const name of request.topics) {
    try {
      assertNotInternal(name, 'delete_topics');
      await ctx.catalog.deleteTopic(name, source.deadline);
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
        const placement = ctx.catalog.placement(name, p) ?? UNPLACED;
        partitions.push({
          partition: p,
          leaderId: placement.leaderId,
          replicas: placement.replicas,
          isr: placement.isr,
          ...partitionStats(ctx, name, p),
          pinned: placement.pinned === true,
          ...(placement.targetReplicas === undefined ? {} : { targetReplicas: placement.targetReplicas }),
        });
      }
      return { name, error: null, partitions, configs: info.configs };
    }),
  };
}

const UNPLACED: PartitionPlacement = { leaderId: -1, leaderEpoch: 0, replicas: [], isr: [] };

/**
 * Offsets and size are known only where the data is: on another broker's partition (or one whose log is not
 * open yet) they are -1, -1 and 0, the wire's "unknown" values; ask that partition's leader for them.
 */
function partitionStats(
  ctx: HandlerContext,
  topic: string,
  partition: number,
): Pick<PartitionDescription, 'logStartOffset' | 'highWatermark' | 'sizeBytes'> {
  let served: ServedPartition;
  try {
    served = ctx.catalog.partition(topic, partition);
  } catch {
    return { logStartOffset: -1, highWatermark: -1, sizeBytes: 0 };
  }
  return {
    logStartOffset: served.logStartOffset(),
    highWatermark: served.highWatermark(),
    sizeBytes: served.sizeBytes(),
  };
}

/**
 * Metadata: the brokers clients may connect to and, per topic, each partition's leader and replicas, as the
 * catalog places them. A partition whose leader is not among those brokers (none known, failed) carries
 * LEADER_NOT_AVAILABLE, so clients refresh and retry rather than connect to a broker they cannot find.
 */
export function handleMetadata(ctx: HandlerContext, request: MetadataRequest): MetadataResponse {
  const names = request.topics ?? ctx.catalog.listTopics().map((t) => t.name);
  const brokers = ctx.catalog.brokers();
  const known = new Set(brokers.map((b) => b.id));
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
      partitions: Array.from({ length: info.partitions }, (_, partition) => {
        const placement = ctx.catalog.placement(name, partition) ?? UNPLACED;
        return {
          partition,
          leaderId: placement.leaderId,
          leaderEpoch: placement.leaderEpoch,
          replicas: placement.replicas,
          isr: placement.isr,
          error: known.has(placement.leaderId)
            ? null
            : wireError('LEADER_NOT_AVAILABLE', `no available leader for ${name}/${partition}`),
        };
      }),
    };
  });
  return { clusterId: ctx.clusterId(), controllerId: ctx.catalog.controllerId(), brokers, topics };
}
