/**
 * Network partitions between brokers with nftables: isolate one node, split majority / minority, or drop one
 * way only. Only broker-to-broker (Raft) traffic is cut: each broker binds and dials from its own 127.0.1.N
 * address, while clients reach every broker through its proxy from 127.0.0.1, so a client can still talk to
 * a leader stranded in the minority (the case that tests acks=all). Meaningless without replication, so the
 * nemesis reports itself unavailable (and the run says so) on standalone brokers.
 */
import type { Cleanup } from '../harness/cleanup.js';
import type { Nemesis, NemesisContext } from './nemesis.js';
import { NftTable, nftUnavailableReason, partitionRules } from './nft.js';
import type { FaultStep } from './plan.js';

export const PARTITION_NODES_MIN = 3;

export class PartitionNemesis implements Nemesis {
  readonly name = 'partition';
  private readonly table = new NftTable();
  private removeCleanup: (() => void) | null = null;

  constructor(private readonly cleanupRegistry: Cleanup) {}

  async unavailableReason(ctx: NemesisContext): Promise<string | null> {
    if (!ctx.cluster.replicated)
      return 'needs a replicated cluster (standalone brokers: nothing crosses a partition; use a cluster-* scenario or --brokers 3)';
    if (ctx.cluster.nodes.length < PARTITION_NODES_MIN)
      return `needs at least ${PARTITION_NODES_MIN} brokers`;
    return nftUnavailableReason();
  }

  async start(ctx: NemesisContext, step: FaultStep): Promise<string> {
    const hosts = ctx.cluster.nodes.map((n) => n.host);
    const rules = partitionRules(step.partitionMode, hosts, step.target);
    this.removeCleanup ??= this.cleanupRegistry.add({
      name: `nft table ${this.table.name}`,
      run: () => this.table.remove(),
      runSync: () => this.table.delete(),
    });
    await this.table.apply(rules);
    return `${step.partitionMode}: ${rules.map((r) => `${r.from.join(',')} -x-> ${r.to.join(',')}`).join('; ')}`;
  }

  async stop(): Promise<void> {
    await this.table.remove();
  }

  async cleanup(): Promise<void> {
    await this.table.remove();
    this.removeCleanup?.();
    this.removeCleanup = null;
  }
}
