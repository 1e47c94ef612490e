/**
 * The `streambus.rebalance` span of one plan the coordinator executes (replica moves or leader changes from
 * the rebalancer and leader planner): the broker running it, how many moves were planned, how many
 * partitions they touch, why, and the outcome (`success` or the error's catalogue code). Used only while
 * tracing is on (CoordinatorDeps.spans).
 */
import type { LeaderChange, Move } from '../cluster/types.js';
import { toStreamBusError } from '../errors/index.js';
import type { SpanRunner } from '../observability/tracing.js';

export function traceRebalance(
  spans: SpanRunner,
  brokerId: number,
  kind: 'replicas' | 'leaders',
  planned: readonly (Move | LeaderChange)[],
  run: () => Promise<void>,
): Promise<void> {
  const partitions = new Set(planned.map((m) => `${m.topic}/${m.partition}`));
  const reasons = [...new Set(planned.map((m) => m.reason))].sort().join(',');
  return spans(
    'streambus.rebalance',
    {
      'streambus.broker_id': brokerId,
      'streambus.rebalance.kind': kind,
      'streambus.rebalance.moves_planned': planned.length,
      'streambus.rebalance.partitions_affected': partitions.size,
      'streambus.rebalance.reasons': reasons,
    },
    async (span) => {
      try {
        await run();
        span.setAttribute('streambus.outcome', 'success');
      } catch (err) {
        span.setAttribute('streambus.outcome', toStreamBusError(err).code);
        throw err;
      }
    },
  );
}
