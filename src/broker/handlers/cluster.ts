import type { DescribeClusterResponse } from '../../protocol/messages.js';
import { singleNodeClusterInfo } from '../cluster-info.js';
import type { HandlerContext } from './context.js';

/** DescribeCluster: answered from this broker's local view (no forwarding to the metadata leader). */
export function handleDescribeCluster(ctx: HandlerContext): DescribeClusterResponse {
  return (ctx.clusterInfo ?? singleNodeClusterInfo)(ctx);
}
