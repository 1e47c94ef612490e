import { StreamBusError } from '../../errors/index.js';
import type {
  AlterBrokerRequest,
  AlterBrokerResponse,
  AlterPartitionAssignmentsRequest,
  AlterPartitionAssignmentsResponse,
  AlterQuorumRequest,
  AlterQuorumResponse,
  DescribeClusterResponse,
} from '../../protocol/messages.js';
import { singleNodeClusterInfo } from '../cluster-info.js';
import type { HandlerContext, RequestSource } from './context.js';
import { toWireError } from './wire-error.js';

/** DescribeCluster: answered from this broker's local view (no forwarding to the metadata leader). */
export function handleDescribeCluster(ctx: HandlerContext): DescribeClusterResponse {
  return (ctx.clusterInfo ?? singleNodeClusterInfo)(ctx);
}

/** AlterBroker: drain, undrain or decommission through the metadata store (cluster mode only). */
export async function handleAlterBroker(
  ctx: HandlerContext,
  request: AlterBrokerRequest,
  source: RequestSource,
): Promise<AlterBrokerResponse> {
  try {
    if (ctx.alterBroker === undefined) {
      throw new StreamBusError('INVALID_REQUEST', {
        operation: 'alter_broker',
        message: `${request.action} needs cluster mode (cluster.enabled); this broker runs alone`,
      });
    }
    return { error: null, state: await ctx.alterBroker(request.brokerId, request.action, source.deadline) };
  } catch (err) {
    return { error: toWireError(err, 'alter_broker'), state: null };
  }
}

/** AlterQuorum: a metadata voter added or removed by the metadata leader (cluster mode only). */
export async function handleAlterQuorum(
  ctx: HandlerContext,
  request: AlterQuorumRequest,
  source: RequestSource,
): Promise<AlterQuorumResponse> {
  try {
    if (ctx.alterQuorum === undefined) {
      throw new StreamBusError('INVALID_REQUEST', {
        operation: 'alter_quorum',
        message: `${request.action} needs cluster mode (cluster.enabled); this broker runs alone`,
      });
    }
    const m = await ctx.alterQuorum(request.brokerId, request.action, source.deadline);
    return { error: null, voters: m.voters, learners: m.learners };
  } catch (err) {
    return { error: toWireError(err, 'alter_quorum'), voters: [], learners: [] };
  }
}

/** AlterPartitionAssignments: an operator's reassignment or unpin of partitions (cluster mode only). */
export async function handleAlterPartitionAssignments(
  ctx: HandlerContext,
  request: AlterPartitionAssignmentsRequest,
  source: RequestSource,
): Promise<AlterPartitionAssignmentsResponse> {
  try {
    if (ctx.alterPartitionAssignments === undefined) {
      throw new StreamBusError('INVALID_REQUEST', {
        operation: 'alter_partition_assignments',
        message:
          'reassigning or unpinning partitions needs cluster mode (cluster.enabled); a single broker holds every replica',
      });
    }
    await ctx.alterPartitionAssignments(request, source.deadline);
    return { error: null };
  } catch (err) {
    return { error: toWireError(err, 'alter_partition_assignments') };
  }
}
