/**
 * Samples every live broker's circuit breakers (`circuitbreaker_state` on its /metrics) during a cluster run
 * and records each change it sees as a `breaker` history event, so the checker can say per breaker how
 * often it opened and whether it closed again once the faults were healed.
 *
 * Sampling sees states, not every transition: an open -> half-open -> open between two samples is one long
 * open period here. A restarted broker's breakers start closed, so a breaker open on a killed broker reads
 * as closed once its process is back (its peers' breakers for it are the ones that matter then).
 */
import type { Clock } from './clock.js';
import { sleep } from './clock.js';
import type { BreakerStateName, HistorySink } from './history.js';

/** circuitbreaker_state values, per spec. */
const STATES: Readonly<Record<string, BreakerStateName>> = { 0: 'closed', 1: 'open', 2: 'half-open' };

export interface SampledNode {
  readonly id: number;
  readonly host: string;
  readonly httpPort: number;
  readonly running: boolean;
  readonly paused: boolean;
}

/** `name -> state` from a /metrics text. */
export function parseBreakerStates(metricsText: string): Map<string, BreakerStateName> {
  const out = new Map<string, BreakerStateName>();
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('circuitbreaker_state{')) continue;
    const name = /[{,]name="([^"]*)"/.exec(line)?.[1];
    const state = STATES[line.slice(line.lastIndexOf(' ') + 1).trim()];
    if (name !== undefined && state !== undefined) out.set(name, state);
  }
  return out;
}

export class BreakerSampler {
  /** `${node}/${name}` -> last state seen. */
  private readonly last = new Map<string, BreakerStateName>();
  private readonly stopped = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly nodes: () => readonly SampledNode[],
    private readonly history: HistorySink,
    private readonly clock: Clock,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.loop ??= (async () => {
      while (!this.stopped.signal.aborted) {
        await this.sampleOnce();
        await sleep(this.intervalMs, this.stopped.signal);
      }
    })();
  }

  /** One scrape of every running, unpaused broker (a broker that does not answer is skipped this time). */
  async sampleOnce(): Promise<void> {
    await Promise.all(
      this.nodes()
        .filter((n) => n.running && !n.paused && n.httpPort > 0)
        .map(async (n) => {
          let text: string;
          try {
            const res = await fetch(`http://${n.host}:${n.httpPort}/metrics`, {
              signal: AbortSignal.timeout(1_000),
            });
            text = await res.text();
          } catch {
            return;
          }
          for (const [name, to] of parseBreakerStates(text)) {
            const key = `${n.id}/${name}`;
            const from = this.last.get(key) ?? 'closed';
            this.last.set(key, to);
            if (from !== to)
              this.history.append({ t: this.clock.nowMs(), type: 'breaker', node: n.id, name, from, to });
          }
        }),
    );
  }

  /** Breakers last seen open or half-open, as `node/name`. */
  notClosed(): string[] {
    return [...this.last].filter(([, s]) => s !== 'closed').map(([k]) => k);
  }

  /** After the final heal: samples until every breaker is closed again, or `timeoutMs` passes. */
  async settle(timeoutMs: number): Promise<string[]> {
    const deadline = this.clock.nowMs() + timeoutMs;
    for (;;) {
      await this.sampleOnce();
      const open = this.notClosed();
      if (open.length === 0 || this.clock.nowMs() >= deadline) return open;
      await sleep(this.intervalMs);
    }
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    await this.loop;
  }
}
