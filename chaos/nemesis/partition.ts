/**
 * Network partitions between brokers with nftables: isolate one node, split majority / minority, or drop one
 * way only. The rule plumbing works today; the fault means nothing until brokers replicate to each other,
 * so the nemesis reports itself unavailable (and the run says so) while the broker is single-node.
 */
import type { Cleanup } from '../harness/cleanup.js';
import type { Nemesis, NemesisContext } from './nemesis.js';
import { NftTable, nftUnavailableReason, partitionRules } from './nft.js';
import type { FaultStep } from './plan.js';

/** Flip when replicated partitions land (the issue this suite builds on). */
export const BROKERS_REPLICATE = false;
export const PARTITION_NODES_MIN = 3;

export class PartitionNemesis implements Nemesis {
  readonly name = 'partition';
  private readonly table = new NftTable();
  private removeCleanup: (() => void) | null = null;

  constructor(private readonly cleanupRegistry: Cleanup) {}

  async unavailableReason(ctx: NemesisContext): Promise<string | null> {
    if (!BROKERS_REPLICATE)
      return 'needs replication (single-node broker today: nothing crosses a partition)';
    if (ctx.cluster.nodes.length < PARTITION_NODES_MIN)
      return `needs at least ${PARTITION_NODES_MIN} brokers`;
    return nftUnavailableReason();
  }

  async start(ctx: NemesisContext, step: FaultStep): Promise<string> {
    const hosts = ctx.cluster.nodes.map((n) => n.host);
    const rules = partitionRules(step.partitionMode, hosts, step.target);
    this.removeCleanup ??= this.cleanupRegistry.add({
      name: `nft table ${this.table.name}`,
      run: async () => this.table.delete(),
      runSync: () => this.table.delete(),
    });
    this.table.apply(rules);
    return `${step.partitionMode}: ${rules.map((r) => `${r.from.join(',')} -x-> ${r.to.join(',')}`).join('; ')}`;
  }

  async stop(): Promise<void> {
    this.table.delete();
  }

  async cleanup(): Promise<void> {
    this.table.delete();
    this.removeCleanup?.();
    this.removeCleanup = null;
  }
}
