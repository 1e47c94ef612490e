/**
 * The `streambus.metadata.propose` span of one metadata write: the command, the broker proposing, how many
 * attempts it took, whether the last one was forwarded to another broker, and the outcome (`success` or
 * the error's catalogue code). Used only while tracing is on (MetadataStoreOptions.spans).
 */
import { toStreamBusError } from '../errors/index.js';
import type { SpanRunner } from '../observability/tracing.js';
import type { NodeId } from '../raft/core/types.js';
import type { CommandType } from './commands.js';

/** Where a traced write's attempts went; the store updates it as it goes. */
export interface ProposeRoute {
  attempts: number;
  /** The last attempt was forwarded (to the leader, or to a voter a joining node tries). */
  forwarded: boolean;
}

export function traceProposal<T>(
  spans: SpanRunner,
  command: CommandType,
  brokerId: NodeId,
  run: (route: ProposeRoute) => Promise<T>,
): Promise<T> {
  return spans(
    'streambus.metadata.propose',
    { 'streambus.command': command, 'streambus.broker_id': brokerId },
    async (span) => {
      const route: ProposeRoute = { attempts: 0, forwarded: false };
      try {
        const result = await run(route);
        span.setAttribute('streambus.outcome', 'success');
        return result;
      } catch (err) {
        span.setAttribute('streambus.outcome', toStreamBusError(err).code);
        throw err;
      } finally {
        span.setAttribute('streambus.attempts', route.attempts);
        span.setAttribute('streambus.forwarded', route.forwarded);
      }
    },
  );
}
