/**
 * The coordinator's part in cluster feature levels (metadata/feature-levels.ts): once every registered broker
 * supports a higher level than the cluster's (each says so when it registers and with every heartbeat), it
 * finalizes that level, up to the operator's hold (`cluster.feature_level_max`). The command names the
 * registry it was checked against, so a broker that registers meanwhile (perhaps on an older build) makes it
 * fail; the next look at the registry decides again.
 */
import { FEATURE, finalizableLevel } from '../metadata/feature-levels.js';
import type { MetadataStore } from '../metadata/store.js';
import type { Logger } from '../observability/index.js';

export interface FeatureLevelFinalizerDeps {
  readonly store: Pick<MetadataStore, 'snapshotView' | 'finalizeFeatureLevel' | 'setClusterId'>;
  /** The operator's hold (cluster.feature_level_max); undefined: none. */
  readonly levelMax: number | undefined;
  readonly log: Logger;
  /**
   * Recorded as the cluster's id once the level allows it (FEATURE.clusterId) and none is yet: the id the
   * coordinator's own data dir was made with, so that broker's answers do not change.
   */
  readonly clusterId?: string;
}

export class FeatureLevelFinalizer {
  private inFlight = false;
  /** The level last held back by the hold, so the line is logged once per level. */
  private heldLogged = 0;

  constructor(private readonly deps: FeatureLevelFinalizerDeps) {}

  /**
   * Looks at the local image (the metadata leader's, so current) and finalizes what it allows; one write at
   * a time. `writes` carries the coordinator's term fence and abort signal.
   */
  check(writes: { readonly signal: AbortSignal; readonly leaderTerm: number }): void {
    if (this.inFlight) return;
    const view = this.deps.store.snapshotView();
    if (
      view.featureLevel >= FEATURE.clusterId &&
      view.clusterId === null &&
      this.deps.clusterId !== undefined
    ) {
      this.recordClusterId(this.deps.clusterId, writes);
      return;
    }
    // Decommissioned brokers count until they are unregistered: until then they still run Raft replicas.
    const registered = [...view.brokers.values()];
    const levels = registered.map((b) => b.featureLevel);
    const level = finalizableLevel(view.featureLevel, levels, this.deps.levelMax);
    this.logHold(view.featureLevel, levels);
    if (level === undefined) return;
    this.inFlight = true;
    const from = view.featureLevel;
    this.deps.store
      .finalizeFeatureLevel(
        { level, brokers: registered.map((b) => ({ brokerId: b.id, epoch: b.epoch })) },
        writes,
      )
      .then(
        () =>
          this.deps.log.info(
            { operation: 'finalize-feature-level', from, to: level },
            'cluster feature level finalized: every registered broker supports it',
          ),
        (err: unknown) => {
          if (writes.signal.aborted) return;
          // Usually the registry moved under the check (METADATA_CONFLICT): the next look decides again.
          this.deps.log.info(
            { operation: 'finalize-feature-level', from, to: level, error: String(err) },
            'cluster feature level not finalized yet',
          );
        },
      )
      .finally(() => {
        this.inFlight = false;
      });
  }

  /** One write; another coordinator's id recorded first (METADATA_CONFLICT) is as good. */
  private recordClusterId(
    clusterId: string,
    writes: { readonly signal: AbortSignal; readonly leaderTerm: number },
  ): void {
    this.inFlight = true;
    this.deps.store
      .setClusterId(clusterId, writes)
      .then(
        () =>
          this.deps.log.info({ operation: 'set-cluster-id', cluster_id: clusterId }, 'cluster id recorded'),
        (err: unknown) => {
          if (writes.signal.aborted) return;
          this.deps.log.info(
            { operation: 'set-cluster-id', error: String(err) },
            'cluster id not recorded yet',
          );
        },
      )
      .finally(() => {
        this.inFlight = false;
      });
  }

  private logHold(current: number, levels: readonly number[]): void {
    const max = this.deps.levelMax;
    if (max === undefined) return;
    const unheld = finalizableLevel(current, levels, undefined);
    if (unheld === undefined || unheld <= max || this.heldLogged === unheld) return;
    this.heldLogged = unheld;
    this.deps.log.info(
      { operation: 'finalize-feature-level', current, supported: unheld, hold: max },
      'every broker supports a higher cluster feature level; held at cluster.feature_level_max',
    );
  }
}
