/**
 * Slow network without netem: TcpProxies delay every chunk, stall some as if a segment were lost and
 * retransmitted, and reset a few connections. They act on the target node's client proxy and, in cluster
 * runs, on every broker-to-broker connection of the node, in both directions. Between two brokers there is
 * one connection, dialled by the lower id to the other's peer proxy, so the node's peer connections are
 * all those at its own peer proxy plus those it opened at its peers' proxies (matched by its source
 * address). Connections between the other brokers keep full speed.
 */
import type { BrokerCluster } from '../harness/cluster.js';
import type { ProxyFaults } from '../harness/tcp-proxy.js';
import type { Nemesis, NemesisContext } from './nemesis.js';
import type { FaultStep } from './plan.js';

export const SLOW_FAULTS: ProxyFaults = {
  delayMs: 150,
  jitterMs: 100,
  lossRate: 0.05,
  retransmitMs: 1000,
  resetRate: 0.002,
};

export class SlowNemesis implements Nemesis {
  readonly name = 'slow';
  private heal: (() => void) | null = null;

  constructor(private readonly faults: ProxyFaults = SLOW_FAULTS) {}

  async unavailableReason(): Promise<string | null> {
    return null;
  }

  async start(ctx: NemesisContext, step: FaultStep): Promise<string> {
    const index = step.target % ctx.cluster.nodes.length;
    this.heal = slowNode(ctx.cluster, index, this.faults);
    const node = ctx.cluster.node(index);
    const f = this.faults;
    const what = node.peerProxy === null ? 'client traffic' : 'client and broker-to-broker traffic';
    return `${what} of broker ${node.id}: +${f.delayMs}±${f.jitterMs} ms, ${f.lossRate * 100}% stalls of ${f.retransmitMs} ms, ${f.resetRate * 100}% resets`;
  }

  async stop(): Promise<void> {
    this.heal?.();
    this.heal = null;
  }

  async cleanup(): Promise<void> {
    await this.stop();
  }
}

/** Sets `faults` on every proxy path of node `index`; returns what undoes exactly that. */
export function slowNode(cluster: BrokerCluster, index: number, faults: ProxyFaults): () => void {
  const node = cluster.node(index);
  const undo: (() => void)[] = [];
  node.proxy.setFaults(faults);
  undo.push(() => node.proxy.setFaults(null));
  if (node.peerProxy !== null) {
    const own = node.peerProxy;
    own.setFaults(faults);
    undo.push(() => own.setFaults(null));
  }
  for (const other of cluster.nodes) {
    const theirs = other.peerProxy;
    if (other === node || theirs === null) continue;
    theirs.setFaults(faults, node.host);
    undo.push(() => theirs.setFaults(null, node.host));
  }
  return () => {
    for (const u of undo) u();
  };
}
