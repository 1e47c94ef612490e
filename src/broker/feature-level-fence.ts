/**
 * Stops a broker whose build is older than the cluster's feature level (an older build started, or rolled
 * back to, after the level was finalized). It would skip metadata commands it cannot decode and misread its
 * partition groups' Raft messages, which is what the level guards against; as Kafka's broker refuses an
 * unsupported metadata.version, it stops. Checked on the image at start and whenever the level can change
 * (a finalized level, a restored snapshot).
 */
import { unsupportedClusterLevel } from '../metadata/feature-levels.js';
import type { MetadataStateMachine } from '../metadata/index.js';
import type { HealthRegistry, Logger } from '../observability/index.js';

type FatalHealth = Pick<HealthRegistry, 'setFatal'>;

export class FeatureLevelFence {
  private reason: string | undefined;
  private listeners: ((reason: string) => void)[] = [];

  constructor(
    private readonly brokerId: number,
    private readonly stateMachine: Pick<MetadataStateMachine, 'subscribe' | 'featureLevel'>,
    private readonly logger: Logger,
  ) {}

  /** Why this broker must stop; undefined while it may run. */
  get fatal(): string | undefined {
    return this.reason;
  }

  /** Calls `listener` once this broker must stop; at once when that is known already. */
  onFatal(listener: (reason: string) => void): void {
    if (this.reason === undefined) this.listeners.push(listener);
    else listener(this.reason);
  }

  /** Checks the level now and on every change that can raise it, until the returned function is called. */
  follow(health: FatalHealth): () => void {
    this.check(health);
    return this.stateMachine.subscribe((change) => {
      if (change.kind === 'restored' || change.command.type === 'finalizeFeatureLevel') this.check(health);
    });
  }

  private check(health: FatalHealth): void {
    const reason = unsupportedClusterLevel(this.stateMachine.featureLevel);
    if (reason === undefined || this.reason !== undefined) return;
    this.reason = reason;
    // Liveness fails too: an orchestrator restarts the process, which stops again until it is upgraded.
    health.setFatal(reason);
    this.logger.fatal({ operation: 'feature-level', broker_id: this.brokerId }, reason);
    for (const listener of this.listeners.splice(0)) listener(reason);
  }
}
