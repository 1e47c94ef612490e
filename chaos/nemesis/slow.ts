/**
 * Slow network without netem: the node's TcpProxy delays every chunk, stalls some as if a segment were lost
 * and retransmitted, and resets a few connections. Today the proxy sits between clients and the broker;
 * with replication, proxies between brokers take the same faults.
 */
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
  private target: number | null = null;
  private heal: (() => void) | null = null;

  constructor(private readonly faults: ProxyFaults = SLOW_FAULTS) {}

  async unavailableReason(): Promise<string | null> {
    return null;
  }

  async start(ctx: NemesisContext, step: FaultStep): Promise<string> {
    const node = ctx.cluster.node(step.target % ctx.cluster.nodes.length);
    this.target = node.id;
    node.proxy.setFaults(this.faults);
    this.heal = () => node.proxy.setFaults(null);
    const f = this.faults;
    return `proxy of broker ${node.id}: +${f.delayMs}±${f.jitterMs} ms, ${f.lossRate * 100}% stalls of ${f.retransmitMs} ms, ${f.resetRate * 100}% resets`;
  }

  async stop(): Promise<void> {
    this.heal?.();
    this.heal = null;
    this.target = null;
  }

  async cleanup(): Promise<void> {
    await this.stop();
  }
}
