/**
 * Follows this broker's own record in metadata for the two facts its decommissioning turns on: once the
 * decommission applies here, its membership loop stops for good (heartbeating on would register it again
 * after the coordinator unregisters it); once it is then unregistered, it has left the cluster, and health
 * says so (retired: not ready, yet live, so an orchestrator does not restart it into the cluster).
 *
 * Only a decommission of this process's own registration counts (`registered`): at start the broker
 * replays its metadata log, whose history may hold its earlier incarnation's decommission and
 * unregistration, and a restarted broker registers anew (as operations.md promises) instead of stopping
 * on them again.
 */
import type { MetadataStateMachine } from '../metadata/index.js';
import type { MetadataChange } from '../metadata/state-machine.js';
import type { HealthRegistry, Logger } from '../observability/index.js';

type RetiredHealth = Pick<HealthRegistry, 'setRetired'>;

export class DecommissionWatch {
  private decommissionedHere = false;
  private left = false;
  /** The metadata version of this process's registration; null until it registered. */
  private registration: number | null = null;
  private health: RetiredHealth | null = null;

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

  /**
   * This process registered the broker, at metadata `version` (membership.ts). Checked at once: an operator
   * may have decommissioned it between the registration and this call.
   */
  registered(version: number): void {
    this.registration = version;
    this.check();
  }

  /** Follows metadata changes until the returned function is called; `health` is told when this broker leaves. */
  follow(health: RetiredHealth): () => void {
    this.health = health;
    return this.stateMachine.subscribe((change) => {
      if (this.concernsSelf(change)) this.check();
    });
  }

  private concernsSelf(change: MetadataChange): boolean {
    if (change.kind === 'restored') return true;
    const c = change.command;
    return (c.type === 'updateBroker' || c.type === 'unregisterBroker') && c.brokerId === this.brokerId;
  }

  private check(): void {
    if (this.registration === null) return;
    const record = this.stateMachine.view().brokers.get(this.brokerId);
    if (record?.state === 'decommissioned' && record.registeredVersion === this.registration) {
      this.decommissionedHere = true;
    }
    // Only a broker decommissioned while it ran leaves: one that starts unregistered registers anew.
    if (record === undefined && this.decommissionedHere) this.leave();
  }

  private leave(): void {
    if (this.left) return;
    this.left = true;
    this.health?.setRetired('decommissioned: left the cluster; stop this broker');
    this.logger.warn(
      { operation: 'membership', broker_id: this.brokerId },
      'this broker was decommissioned and has left the cluster: it serves nothing; stop it (a restart registers it anew)',
    );
  }
}
