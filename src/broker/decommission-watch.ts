/**
 * Follows this broker's own record in metadata for the two facts its decommissioning turns on: once the
 * decommission applies here, its membership loop stops for good (heartbeating on would register it again
 * after the coordinator unregisters it); once it is then unregistered, it has left the cluster, and health
 * says so (retired: not ready, yet live, so an orchestrator does not restart it into the cluster).
 */
import type { MetadataStateMachine } from '../metadata/index.js';
import type { MetadataChange } from '../metadata/state-machine.js';
import type { HealthRegistry, Logger } from '../observability/index.js';

type RetiredHealth = Pick<HealthRegistry, 'setRetired'>;

export class DecommissionWatch {
  private decommissionedHere = false;
  private left = false;

  constructor(
    private readonly brokerId: number,
    private readonly stateMachine: Pick<MetadataStateMachine, 'subscribe' | 'view'>,
    private readonly logger: Logger,
  ) {}

  /** Latched when this broker's decommissioning applies here. */
  get decommissioned(): boolean {
    return this.decommissionedHere;
  }

  /** Latched when, decommissioned, it is then unregistered. */
  get leftCluster(): boolean {
    return this.left;
  }

  /** Follows metadata changes until the returned function is called; `health` is told when this broker leaves. */
  follow(health: RetiredHealth): () => void {
    return this.stateMachine.subscribe((change) => this.onChange(change, health));
  }

  private onChange(change: MetadataChange, health: RetiredHealth): void {
    const self = this.brokerId;
    if (change.kind === 'restored') {
      const state = this.stateMachine.view().brokers.get(self)?.state;
      if (state === undefined) this.leave(health);
      if (state === 'decommissioned') this.decommissionedHere = true;
      return;
    }
    const c = change.command;
    if (
      c.type === 'updateBroker' &&
      c.brokerId === self &&
      c.state === 'decommissioned' &&
      change.result.ok
    ) {
      this.decommissionedHere = true;
    }
    if (c.type === 'unregisterBroker' && c.brokerId === self && change.result.ok) this.leave(health);
  }

  // Only a broker decommissioned while it ran leaves: one that starts unregistered registers anew.
  private leave(health: RetiredHealth): void {
    if (!this.decommissionedHere || this.left) return;
    this.left = true;
    health.setRetired('decommissioned: left the cluster; stop this broker');
    this.logger.warn(
      { operation: 'membership', broker_id: this.brokerId },
      'this broker was decommissioned and has left the cluster: it serves nothing; stop it (a restart registers it anew)',
    );
  }
}
