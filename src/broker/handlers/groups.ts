/**
 * The consumer-group APIs: each finds the group's shard on this broker (NOT_COORDINATOR when another broker
 * coordinates it) and answers from it. Failures are answered in the body's `error` field, so a client
 * reads one shape whatever went wrong; only a request this broker cannot serve at all (no group
 * coordinator configured) fails as a whole.
 */
import { type ErrorCode, StreamBusError, toStreamBusError } from '../../errors/index.js';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  SyncGroupRequest,
  SyncGroupResponse,
  WireError,
} from '../../protocol/messages.js';
import type { GroupCoordinator } from '../groups/group-coordinator.js';
import type { GroupShard } from '../groups/group-shard.js';
import { partitionKey } from '../groups/offsets-state.js';
import type { HandlerContext, RequestSource } from './context.js';
import { toWireError, wireError } from './wire-error.js';

function coordinator(ctx: HandlerContext): GroupCoordinator {
  if (ctx.groups === undefined) {
    throw new StreamBusError('UNKNOWN_API', { message: 'this broker has no group coordinator' });
  }
  return ctx.groups;
}

/** The shard, or the wire error saying why not (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE). */
async function shardOrError(ctx: HandlerContext, groupId: string): Promise<GroupShard | WireError> {
  try {
    return await coordinator(ctx).shardFor(groupId);
  } catch (err) {
    return toWireError(err, 'groups.route');
  }
}

function isShard(v: GroupShard | WireError): v is GroupShard {
  return !('code' in v);
}

function codeError(code: ErrorCode | null, message?: string): WireError | null {
  return code === null ? null : wireError(code, message);
}

export function handleFindCoordinator(
  ctx: HandlerContext,
  req: FindCoordinatorRequest,
): FindCoordinatorResponse {
  try {
    const broker = coordinator(ctx).findCoordinator(req.groupId);
    return { error: null, nodeId: broker.id, host: broker.host, port: broker.port };
  } catch (err) {
    return { error: toWireError(err, 'groups.find-coordinator'), nodeId: -1, host: '', port: 0 };
  }
}

export async function handleJoinGroup(
  ctx: HandlerContext,
  req: JoinGroupRequest,
  source: RequestSource,
): Promise<JoinGroupResponse> {
  const shard = await shardOrError(ctx, req.groupId);
  if (!isShard(shard)) return joinFailure(shard, req.memberId);
  const result = await shard.join({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId,
    clientId: source.clientId,
    clientHost: source.clientHost,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols,
  });
  return {
    error: codeError(result.error, result.errorMessage),
    generation: result.generation,
    protocolType: result.protocolType,
    protocol: result.protocol,
    leaderId: result.leaderId,
    memberId: result.memberId,
    members: result.members.map((m) => ({ ...m })),
    skipAssignment: result.skipAssignment,
  };
}

function joinFailure(error: WireError, memberId: string): JoinGroupResponse {
  return {
    error,
    generation: -1,
    protocolType: '',
    protocol: null,
    leaderId: '',
    memberId,
    members: [],
    skipAssignment: false,
  };
}

export async function handleSyncGroup(
  ctx: HandlerContext,
  req: SyncGroupRequest,
): Promise<SyncGroupResponse> {
  const shard = await shardOrError(ctx, req.groupId);
  if (!isShard(shard)) return { error: shard, protocol: null, assignment: Buffer.alloc(0) };
  const result = await shard.sync(req);
  return { error: codeError(result.error), protocol: result.protocol, assignment: result.assignment };
}

export async function handleHeartbeat(
  ctx: HandlerContext,
  req: HeartbeatRequest,
): Promise<HeartbeatResponse> {
  const shard = await shardOrError(ctx, req.groupId);
  if (!isShard(shard)) return { error: shard };
  return { error: codeError(shard.heartbeat(req)) };
}

export async function handleLeaveGroup(
  ctx: HandlerContext,
  req: LeaveGroupRequest,
): Promise<LeaveGroupResponse> {
  const shard = await shardOrError(ctx, req.groupId);
  if (!isShard(shard)) return { error: shard, members: [] };
  const members = shard.leave(req).map((m) => ({ ...m, error: codeError(m.error) }));
  return { error: null, members };
}

export async function handleOffsetCommit(
  ctx: HandlerContext,
  req: OffsetCommitRequest,
  source: RequestSource,
): Promise<OffsetCommitResponse> {
  const failAll = (error: WireError): OffsetCommitResponse => ({
    error,
    partitions: req.partitions.map((p) => ({ topic: p.topic, partition: p.partition, error })),
  });
  if (req.reset && (req.generation !== -1 || req.memberId !== '')) {
    return failAll(
      wireError(
        'INVALID_REQUEST',
        'a reset commit comes from outside the group (generation -1, no member id)',
      ),
    );
  }
  const shard = await shardOrError(ctx, req.groupId);
  if (!isShard(shard)) return failAll(shard);
  // Offsets of partitions that do not exist would never be consumed: refuse them per partition.
  const known = req.partitions.filter((p) => ctx.catalog.placement(p.topic, p.partition) !== undefined);
  try {
    const result = await shard.commit(
      {
        groupId: req.groupId,
        identity: {
          memberId: req.memberId,
          groupInstanceId: req.groupInstanceId,
          generation: req.generation,
        },
        reset: req.reset,
        partitions: known,
      },
      source.deadline,
    );
    const byKey = new Map(result.partitions.map((p) => [partitionKey(p.topic, p.partition), p]));
    return {
      error: codeError(result.error),
      partitions: req.partitions.map((p) => {
        const r = byKey.get(partitionKey(p.topic, p.partition));
        const error =
          r === undefined
            ? wireError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic or partition ${p.topic}-${p.partition}`)
            : codeError(r.error, r.message);
        return { topic: p.topic, partition: p.partition, error };
      }),
    };
  } catch (err) {
    return failAll(toWireError(err, 'groups.offset-commit'));
  }
}

export async function handleOffsetFetch(
  ctx: HandlerContext,
  req: OffsetFetchRequest,
): Promise<OffsetFetchResponse> {
  const shard = await shardOrError(ctx, req.groupId);
  if (!isShard(shard)) return { error: shard, partitions: [] };
  let committed: Awaited<ReturnType<GroupShard['committedConfirmed']>>;
  try {
    committed = await shard.committedConfirmed(req.groupId, req.partitions);
  } catch (err) {
    return { error: toWireError(err, 'groups.offset-fetch'), partitions: [] };
  }
  const partitions = committed
    .map((c) => ({ ...c, error: null }))
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return { error: null, partitions };
}

export async function handleListGroups(ctx: HandlerContext): Promise<ListGroupsResponse> {
  const shards = await coordinator(ctx).loadedShards();
  const groups = shards.flatMap((s) =>
    s.groupIds().flatMap((id) => {
      const d = s.describe(id);
      return d === undefined ? [] : [{ groupId: id, protocolType: d.protocolType, state: d.phase }];
    }),
  );
  return { error: null, groups: groups.sort((a, b) => (a.groupId < b.groupId ? -1 : 1)) };
}

export async function handleDescribeGroups(
  ctx: HandlerContext,
  req: DescribeGroupsRequest,
): Promise<DescribeGroupsResponse> {
  const groups = await Promise.all(
    req.groupIds.map(async (groupId) => {
      const shard = await shardOrError(ctx, groupId);
      const d = isShard(shard) ? shard.describe(groupId) : undefined;
      if (d === undefined) {
        const error = isShard(shard)
          ? wireError('GROUP_ID_NOT_FOUND', `no group ${JSON.stringify(groupId)}`)
          : shard;
        return {
          groupId,
          error,
          state: 'Dead',
          generation: -1,
          protocolType: '',
          protocol: null,
          leaderId: null,
          members: [],
        };
      }
      return {
        groupId,
        error: null,
        state: d.phase,
        generation: d.generation,
        protocolType: d.protocolType,
        protocol: d.protocol,
        leaderId: d.leaderId,
        members: d.members.map((m) => ({ ...m })),
      };
    }),
  );
  return { groups };
}

export async function handleDeleteGroups(
  ctx: HandlerContext,
  req: DeleteGroupsRequest,
  source: RequestSource,
): Promise<DeleteGroupsResponse> {
  const groups = await Promise.all(
    req.groupIds.map(async (groupId) => {
      const shard = await shardOrError(ctx, groupId);
      if (!isShard(shard)) return { groupId, error: shard };
      try {
        const code = await shard.delete(groupId, source.deadline);
        const about =
          code === 'GROUP_ID_NOT_FOUND'
            ? `no group ${JSON.stringify(groupId)}`
            : code === 'NON_EMPTY_GROUP'
              ? `group ${JSON.stringify(groupId)} has members: stop its consumers first`
              : undefined;
        return { groupId, error: codeError(code, about) };
      } catch (err) {
        return { groupId, error: toWireError(toStreamBusError(err), 'groups.delete') };
      }
    }),
  );
  return { groups };
}

/**
 * OffsetDelete: answered per partition in the order asked. Offsets of partitions that no longer exist are
 * deleted (they linger until a topic of the same name is created, and may be deleted before); a partition
 * that neither exists nor has an offset is UNKNOWN_TOPIC_OR_PARTITION (offsets-delete.ts).
 */
export async function handleOffsetDelete(
  ctx: HandlerContext,
  req: OffsetDeleteRequest,
  source: RequestSource,
): Promise<OffsetDeleteResponse> {
  const failAll = (error: WireError): OffsetDeleteResponse => ({
    error,
    partitions: req.partitions.map((p) => ({ topic: p.topic, partition: p.partition, error })),
  });
  const shard = await shardOrError(ctx, req.groupId);
  if (!isShard(shard)) return failAll(shard);
  try {
    const result = await shard.deleteOffsets(
      req.groupId,
      req.partitions,
      (topic, partition) => ctx.catalog.placement(topic, partition) !== undefined,
      source.deadline,
    );
    return {
      error: codeError(result.error, result.message),
      partitions: result.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        error: codeError(p.error, p.message),
      })),
    };
  } catch (err) {
    return failAll(toWireError(err, 'groups.offset-delete'));
  }
}
