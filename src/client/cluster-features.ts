/**
 * What a request needs of the cluster's feature level (src/metadata/feature-levels.ts), asked of the cluster
 * before sending one that a broker of an older build would misread. Such a broker cannot always say so
 * itself: a config resource type it does not know fails its whole request as INVALID_REQUEST, which reads
 * as the caller's mistake. The cluster's finalized level can: once it is at a level every broker's build
 * has what the level turns on (an older build is refused registration), and a level is never lowered, so
 * one answer at the level holds for good and is not asked again.
 */
import { StreamBusError } from '../errors/index.js';
import { BASELINE_FEATURE_LEVEL, featureNotFinalized } from '../metadata/feature-levels.js';
import type { DescribeClusterResponse } from '../protocol/index.js';

export class ClusterFeatures {
  /** The highest level the cluster was seen finalized at (levels are never lowered). */
  private seenLevel = BASELINE_FEATURE_LEVEL;

  constructor(private readonly describeCluster: () => Promise<DescribeClusterResponse>) {}

  /**
   * Resolves once the cluster is at `level`; else throws FEATURE_NOT_FINALIZED naming the brokers whose
   * build holds it back. `needs` names what needs it, with the verb ('client quota overrides need').
   */
  async require(level: number, needs: string, operation: string): Promise<void> {
    if (this.seenLevel >= level) return;
    const c = await this.describeCluster();
    if (c.featureLevel === undefined) {
      // A DescribeCluster v0 answer: the broker asked runs a build from before feature levels.
      throw new StreamBusError('FEATURE_NOT_FINALIZED', {
        operation,
        message: `${needs} cluster feature level ${level}, and broker ${c.brokerId} runs a build from before feature levels: upgrade every broker first`,
      });
    }
    if (c.featureLevel < level) {
      const brokers = new Map(
        c.brokers.map((b) => [b.id, { featureLevel: b.featureLevel ?? BASELINE_FEATURE_LEVEL }]),
      );
      throw featureNotFinalized({ featureLevel: c.featureLevel, brokers }, level, needs, operation);
    }
    this.seenLevel = c.featureLevel;
  }
}
