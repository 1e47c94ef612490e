/** Process-level faults on one broker: kill -9 then restart on the same data dir, and SIGSTOP / SIGCONT. */
import type { Nemesis, NemesisContext } from './nemesis.js';
import type { FaultStep } from './plan.js';

export class KillNemesis implements Nemesis {
  readonly name = 'kill';
  private target: number | null = null;

  async unavailableReason(): Promise<string | null> {
    return null;
  }

  async start(ctx: NemesisContext, step: FaultStep): Promise<string> {
    const node = ctx.cluster.node(step.target % ctx.cluster.nodes.length);
    this.target = node.id;
    await node.kill();
    ctx.history.append({ t: ctx.nowMs(), type: 'broker', node: node.id, action: 'killed' });
    return `kill -9 broker ${node.id} (pid gone), restart in ${(step.durationMs / 1000).toFixed(1)} s`;
  }

  /** The heal is the restart: it completes when the broker logs "broker started" again. */
  async stop(ctx: NemesisContext): Promise<void> {
    if (this.target === null) return;
    const node = ctx.cluster.node(this.target);
    this.target = null;
    await node.start();
    ctx.history.append({ t: ctx.nowMs(), type: 'broker', node: node.id, action: 'started' });
  }

  async cleanup(): Promise<void> {
    this.target = null;
  }
}

export class PauseNemesis implements Nemesis {
  readonly name = 'pause';
  private target: number | null = null;
  private resumeAll: (() => void) | null = null;

  async unavailableReason(): Promise<string | null> {
    return null;
  }

  async start(ctx: NemesisContext, step: FaultStep): Promise<string> {
    const node = ctx.cluster.node(step.target % ctx.cluster.nodes.length);
    this.target = node.id;
    this.resumeAll = () => node.resume();
    node.pause();
    ctx.history.append({ t: ctx.nowMs(), type: 'broker', node: node.id, action: 'paused' });
    return `SIGSTOP broker ${node.id} for ${(step.durationMs / 1000).toFixed(1)} s`;
  }

  async stop(ctx: NemesisContext): Promise<void> {
    if (this.target === null) return;
    ctx.cluster.node(this.target).resume();
    ctx.history.append({ t: ctx.nowMs(), type: 'broker', node: this.target, action: 'resumed' });
    this.target = null;
    this.resumeAll = null;
  }

  async cleanup(): Promise<void> {
    this.resumeAll?.();
    this.resumeAll = null;
    this.target = null;
  }
}
