/**
 * A broker's shutdown order (SIGTERM/SIGINT, or a stop on a fatal condition). Every step shares one
 * deadline, shutdown.timeout_ms from the signal:
 *   1. readiness turns 503 (draining) so load balancers stop sending new clients;
 *   2. stop accepting connections;
 *   3. wake long-polling fetches, answer every request already received, close connections;
 *   4. (cluster.enabled) hand each partition's leadership to an in-sync replica and close the replicas, hand
 *      metadata leadership to another voter, stop Raft, close the peer listener;
 *   5. flush and fsync every partition, close the logs (releases the data-dir lock);
 *   6. stop the health and metrics server.
 * When the deadline passes, the step still waiting is named in a warning and the rest is forced: remaining
 * connections are destroyed, leadership handovers are skipped (each group elects), and the close steps
 * (Raft, replicas, logs, ops server) get SHUTDOWN_FORCE_GRACE_MS between them. The outcome then says
 * `forced: true`; the process still exits 0 (see cmd/commands/broker.ts).
 */
import type { Logger, OpsStack } from '../observability/index.js';
import type { LogManager } from '../storage/log-manager.js';
import { type ClusterNode, LEADERSHIP_TRANSFER_TIMEOUT_MS } from './cluster-node.js';
import type { GroupCoordinator } from './groups/group-coordinator.js';
import { LEADERSHIP_HANDOVER_TIMEOUT_MS, type ReplicaManager } from './replica/replica-manager.js';
import { ShutdownBudget, type ShutdownClock } from './shutdown-budget.js';
import type { BrokerTcpServer } from './tcp-server.js';

/**
 * After shutdown.timeout_ms has run out, the close steps that are left (replicas, Raft, logs, ops server)
 * get this long between them before the shutdown stops waiting for them.
 */
export const SHUTDOWN_FORCE_GRACE_MS = 1_000;

/** How a shutdown ended. */
export interface ShutdownOutcome {
  /** shutdown.timeout_ms ran out: the rest was forced. */
  readonly forced: boolean;
  /** The step that was still waiting when the time ran out; null for a full drain. */
  readonly forcedStep: string | null;
  readonly durationMs: number;
}

/** The broker parts a shutdown drains and closes (in the order above), and what it times and logs with. */
export interface ShutdownParts {
  /** shutdown.timeout_ms. */
  readonly timeoutMs: number;
  readonly clock: ShutdownClock;
  readonly logger: Logger;
  readonly ops: OpsStack;
  /** Stops the broker's periodic work (retention). */
  readonly stopPeriodicWork: () => void;
  readonly server: BrokerTcpServer;
  /** Aborting it wakes long-polling fetches. */
  readonly shutdownController: AbortController;
  readonly groups: GroupCoordinator | null;
  readonly replicas: ReplicaManager | null;
  readonly cluster: ClusterNode | null;
  readonly logs: LogManager;
}

/**
 * Drains and closes `b` (the order above), bounded by shutdown.timeout_ms plus SHUTDOWN_FORCE_GRACE_MS for
 * the close steps once it has run out. Never rejects: a failed step is logged and the next one runs.
 */
export async function drainAndClose(b: ShutdownParts, reason: string): Promise<ShutdownOutcome> {
  const startedAt = b.clock.nowMs();
  const timeoutMs = b.timeoutMs;
  const budget = new ShutdownBudget(startedAt + timeoutMs, b.clock, SHUTDOWN_FORCE_GRACE_MS);
  const step = async (name: string, work: () => Promise<unknown>): Promise<boolean> => {
    const wasForced = budget.forced;
    const result = await budget.run(name, work(), (err) =>
      b.logger.error(
        { operation: 'shutdown', step: name, error: String(err) },
        `shutdown step ${name} failed; going on`,
      ),
    );
    if (result !== 'timeout') return true;
    if (!wasForced) {
      b.logger.warn(
        { operation: 'shutdown', step: name, timeout_ms: timeoutMs },
        `shutdown.timeout_ms ran out during ${name}; forcing the rest`,
      );
    } else {
      b.logger.error(
        { operation: 'shutdown', step: name, grace_ms: SHUTDOWN_FORCE_GRACE_MS },
        `shutdown step ${name} did not finish in the forced-shutdown grace; not waiting for it`,
      );
    }
    return false;
  };

  b.logger.info({ operation: 'shutdown', reason, timeout_ms: timeoutMs }, 'broker draining');
  b.ops.health.setDraining(true);
  b.stopPeriodicWork();
  const stopAccepting = b.server.stopAccepting();
  b.shutdownController.abort();
  // Members waiting in a join or sync are told NOT_COORDINATOR now, so their requests do not hold the drain.
  b.groups?.stop();
  // server.close() (stopAccepting) also waits for a client that never closes its end after ours.
  const drained = await step('connections', () => b.server.drainConnections().then(() => stopAccepting));
  if (!drained) {
    b.server.destroyConnections();
    await step('connections', () => stopAccepting);
  }
  // Replicas hand partition leadership to in-sync replicas (while time is left), then leave the shared
  // Raft host before the metadata group stops it.
  if (b.replicas !== null) {
    const replicas = b.replicas;
    const handoverMs = Math.min(LEADERSHIP_HANDOVER_TIMEOUT_MS, budget.remainingMs());
    await step('replicas', () => replicas.stop(handoverMs));
  }
  if (b.cluster !== null) {
    const cluster = b.cluster;
    const transferMs = Math.min(LEADERSHIP_TRANSFER_TIMEOUT_MS, budget.remainingMs());
    await step('metadata-raft', () => cluster.stop(transferMs));
  }
  await step('logs', () => b.logs.close());
  await step('ops', () => b.ops.close());
  const outcome: ShutdownOutcome = {
    forced: budget.forced,
    forcedStep: budget.forcedStep,
    durationMs: b.clock.nowMs() - startedAt,
  };
  b.logger.info(
    {
      operation: 'shutdown',
      duration_ms: outcome.durationMs,
      forced: outcome.forced,
      ...(outcome.forcedStep === null ? {} : { forced_step: outcome.forcedStep }),
    },
    'broker stopped',
  );
  return outcome;
}
