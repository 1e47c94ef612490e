import { StreamBusError } from '../../errors/index.js';
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from '../../protocol/messages.js';
import { alterClientQuotas } from '../client-quota-store.js';
import type { HandlerContext, RequestSource } from './context.js';
import { assertNotInternal } from './internal-topics.js';
import { toWireError } from './wire-error.js';

/** DescribeConfigs: from this broker's view (the metadata store's replica in cluster mode), per resource. */
export function handleDescribeConfigs(
  ctx: HandlerContext,
  request: DescribeConfigsRequest,
): DescribeConfigsResponse {
  return {
    resources: request.resources.map((r) => {
      try {
        const entries =
          r.type === 'client' ? clientQuotas(ctx).limits.describe(r.name) : ctx.catalog.describeConfigs(r);
        return { ...r, error: null, entries };
      } catch (err) {
        return { ...r, error: toWireError(err, 'describe_configs'), entries: [] };
      }
    }),
  };
}

/**
 * AlterConfigs: resources one by one so one bad change does not fail the rest. Internal topics keep the
 * configs the broker gave them (their retention is the group coordinator's compaction).
 */
export async function handleAlterConfigs(
  ctx: HandlerContext,
  request: AlterConfigsRequest,
  source: RequestSource,
): Promise<AlterConfigsResponse> {
  const resources = [];
  for (const r of request.resources) {
    try {
      if (r.type === 'topic') assertNotInternal(r.name, 'alter_configs');
      if (r.type === 'client') {
        await alterClientQuotas(clientQuotas(ctx).store, r, request.validateOnly, source.deadline);
      } else {
        await ctx.catalog.alterConfigs(r, request.validateOnly, source.deadline);
      }
      resources.push({ type: r.type, name: r.name, error: null });
    } catch (err) {
      resources.push({ type: r.type, name: r.name, error: toWireError(err, 'alter_configs') });
    }
  }
  return { resources };
}

function clientQuotas(ctx: HandlerContext): NonNullable<HandlerContext['clientQuotas']> {
  if (ctx.clientQuotas !== undefined) return ctx.clientQuotas;
  throw new StreamBusError('INVALID_REQUEST', {
    operation: 'config.client',
    message: 'this broker keeps no client quota overrides',
  });
}
