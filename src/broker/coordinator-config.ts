/** The cluster coordinator's settings, read from the broker config. */
import { DEFAULT_COORDINATOR_CONFIG } from '../cluster/coordinator-logic.js';
import type { CoordinatorConfig } from '../cluster/coordinator-types.js';
import type { BrokerConfig } from '../config/types.js';

/** The coordinator's settings from the broker config (the failure detector's grace for starting brokers is fixed). */
export function coordinatorConfig(config: BrokerConfig): CoordinatorConfig {
  const t = config.resilience.timeouts;
  return {
    ...DEFAULT_COORDINATOR_CONFIG,
    detector: {
      ...DEFAULT_COORDINATOR_CONFIG.detector,
      heartbeatIntervalMs: t.heartbeatIntervalMs,
      heartbeatTimeoutMs: t.heartbeatTimeoutMs,
    },
    rebalanceIntervalMs: config.cluster.rebalanceIntervalMs,
    probeIntervalMs: config.cluster.probeIntervalMs,
    probeTimeoutMs: t.healthCheckMs,
    failedGraceMs: config.cluster.failedGraceMs,
    concurrentMovesMax: config.cluster.concurrentMovesMax,
    replicaScoreMax: config.cluster.imbalanceScoreMax,
    proposalTimeoutMs: t.proposalMs,
    rebalanceTimeoutMs: t.rebalanceMs,
  };
}
