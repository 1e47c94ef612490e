/**
 * Deletes segments past retention (storage.retention_ms, storage.retention_bytes) every
 * storage.retention_check_interval_ms, in both places a broker keeps logs: single-node topics in the log
 * manager, replicated partitions in the replica manager. A pass that fails is logged; the next one tries
 * again.
 */
import type { Logger } from '../observability/index.js';
import type { LogManager } from '../storage/log-manager.js';
import type { ReplicaManager } from './replica/replica-manager.js';

export interface RetentionScheduleOptions {
  readonly logs: Pick<LogManager, 'applyRetention'>;
  /** Cluster mode's replicas; null on a single node. */
  readonly replicas: Pick<ReplicaManager, 'applyRetention'> | null;
  readonly nowMs: () => number;
  readonly logger: Logger;
  readonly intervalMs: number;
}

/** Starts the passes; returns what stops them. */
export function scheduleRetention(o: RetentionScheduleOptions): () => void {
  const run = (): void => {
    o.replicas?.applyRetention(o.nowMs()).then(
      (deleted) => {
        if (deleted.length > 0)
          o.logger.info({ operation: 'retention', deleted }, 'retention deleted replica segments');
      },
      (err: unknown) =>
        o.logger.error({ operation: 'retention', error: String(err) }, 'replica retention failed'),
    );
    o.logs.applyRetention(o.nowMs()).then(
      (deleted) => {
        if (deleted.length > 0)
          o.logger.info({ operation: 'retention', deleted }, 'retention deleted segments');
      },
      (err: unknown) => o.logger.error({ operation: 'retention', error: String(err) }, 'retention failed'),
    );
  };
  const timer = setInterval(run, o.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
