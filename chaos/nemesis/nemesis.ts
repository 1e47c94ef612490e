/**
 * What every nemesis looks like to the runner: a name, a check of whether it can run here (root, nftables,
 * enough brokers), and start / stop (heal). `cleanup` undoes anything left behind and must be safe to call
 * at any time, more than once, including after a crash of the harness.
 */
import type { BrokerCluster } from '../harness/cluster.js';
import type { HistorySink } from '../harness/history.js';
import type { FaultStep } from './plan.js';

export interface NemesisContext {
  cluster: BrokerCluster;
  history: HistorySink;
  nowMs(): number;
  log(message: string): void;
}

export interface Nemesis {
  readonly name: string;
  /** null if the nemesis can run in this environment and cluster, else why not (printed, then skipped). */
  unavailableReason(ctx: NemesisContext): Promise<string | null>;
  /** Injects the fault; returns a short description of what was done. */
  start(ctx: NemesisContext, step: FaultStep): Promise<string>;
  /** Heals the fault. */
  stop(ctx: NemesisContext): Promise<void>;
  /** Removes every trace (rules, files, stopped processes); idempotent. */
  cleanup(): Promise<void>;
}
