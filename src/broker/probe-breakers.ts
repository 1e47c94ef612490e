/**
 * The health checker's probes, each through a circuit breaker of the probed broker (`probe-broker-<id>`).
 *
 * Why not the Raft peer breaker of the same broker: the probe exists to catch a broker whose process runs
 * (it heartbeats, its Raft link is fine) while its client listener does not answer. The two are different
 * dependencies; one breaker for both would open on a healthy Raft link, or stay closed on a stuck listener.
 *
 * While a probe breaker is open, the probe is not sent (no fresh connection every probe interval to a
 * broker that is not answering) and counts as missed, as it would have been. Its open timeout is short,
 * probeFailuresMax probe intervals (3 s by default), not the generic 30 s: a broker that recovers is probed
 * again within a few rounds, well inside cluster.failed_grace, so the breaker never costs it its replicas.
 * Only brokers that still heartbeat are probed (one probe per broker in flight), so these breakers only
 * ever see stuck brokers.
 */
import { StreamBusError } from '../errors/index.js';
import type { BrokerRecord } from '../metadata/types.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import { abortError } from '../resilience/clock.js';

export type Ping = (broker: BrokerRecord, timeoutMs: number, signal: AbortSignal) => Promise<boolean>;

export interface ProbeBreakersOptions {
  /** Thresholds for each breaker (resilience.circuit_breaker.*, open timeout as above). */
  readonly breaker: Omit<CircuitBreakerOptions, 'name'>;
  readonly ping: Ping;
  /** Told of each breaker as it is created (to export its state); what it returns runs when it is dropped. */
  readonly onBreaker?: (breaker: CircuitBreaker) => (() => void) | undefined;
}

export function probeBreakerName(brokerId: number): string {
  return `probe-broker-${brokerId}`;
}

export class ProbeBreakers {
  private readonly breakers = new Map<number, { breaker: CircuitBreaker; dropped?: () => void }>();

  constructor(private readonly options: ProbeBreakersOptions) {}

  /** True when the broker answered; false when it did not, or its breaker is open. Never throws. */
  async probe(broker: BrokerRecord, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    try {
      return await this.breaker(broker.id).call(signal, async (s) => {
        const ok = await this.options.ping(broker, timeoutMs, s ?? signal);
        // An aborted probe (leadership lost) says nothing about the broker: not counted.
        if (signal.aborted) throw abortError(signal, 'cluster.probe');
        if (!ok) {
          throw new StreamBusError('BROKER_NOT_AVAILABLE', {
            operation: 'cluster.probe',
            message: `broker ${broker.id} did not answer its health probe`,
          });
        }
        return true;
      });
    } catch {
      return false;
    }
  }

  /**
   * Drops the breakers of brokers no longer registered (decommissioned), with what their creation set up
   * (their gauge series): otherwise each broker ever removed would keep one for the life of the process.
   */
  keepOnly(brokerIds: ReadonlySet<number>): void {
    for (const [id, entry] of this.breakers) {
      if (brokerIds.has(id)) continue;
      this.breakers.delete(id);
      entry.dropped?.();
    }
  }

  private breaker(brokerId: number): CircuitBreaker {
    const known = this.breakers.get(brokerId);
    if (known !== undefined) return known.breaker;
    const breaker = new CircuitBreaker({ ...this.options.breaker, name: probeBreakerName(brokerId) });
    const dropped = this.options.onBreaker?.(breaker);
    this.breakers.set(brokerId, dropped === undefined ? { breaker } : { breaker, dropped });
    return breaker;
  }
}
