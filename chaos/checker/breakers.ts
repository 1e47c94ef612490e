/**
 * Circuit breakers over a run (from the `breaker` events the sampler recorded): per breaker, how many times
 * it was seen to open and whether it was closed again once every fault was healed. A breaker still open or
 * half-open at the final check, when every broker is back and healthy, is a liveness failure (its peer
 * would stay cut off or unprobed): it fails the scenarios in BREAKER_LIVENESS_SCENARIOS and is reported
 * elsewhere. It is never a safety anomaly.
 */
import type { HistoryEvent } from '../harness/history.js';

/** Scenarios whose run fails when a breaker is left open after the heal. */
export const BREAKER_LIVENESS_SCENARIOS: ReadonlySet<string> = new Set(['cluster-kill']);

export interface BreakerSummary {
  /** The broker whose /metrics showed it. */
  node: number;
  name: string;
  opened: number;
  /** Last seen closed (only meaningful when the report's `checked` is true). */
  closedAgain: boolean;
}

export interface BreakersReport {
  /** The run sampled breakers after the final heal (cluster runs); false: nothing below is a verdict. */
  checked: boolean;
  /** Every breaker seen to open or left not closed, by node then name. */
  breakers: BreakerSummary[];
  opened: number;
  leftOpen: number;
  /** leftOpen counts as a liveness failure in this run's scenario. */
  enforced: boolean;
  livenessFailures: number;
}

export function checkBreakers(events: readonly HistoryEvent[]): BreakersReport {
  let scenario = '';
  let checked = false;
  const byKey = new Map<string, BreakerSummary & { state: string }>();
  for (const e of events) {
    if (e.type === 'run' && e.action === 'start') scenario = e.scenario;
    else if (e.type === 'breakers-settled') checked = true;
    else if (e.type === 'breaker') {
      const key = `${e.node}/${e.name}`;
      const b = byKey.get(key) ?? {
        node: e.node,
        name: e.name,
        opened: 0,
        closedAgain: true,
        state: 'closed',
      };
      if (e.to === 'open' && b.state !== 'open') b.opened++;
      b.state = e.to;
      b.closedAgain = e.to === 'closed';
      byKey.set(key, b);
    }
  }
  const breakers = [...byKey.values()]
    .filter((b) => b.opened > 0 || !b.closedAgain)
    .sort((x, y) => x.node - y.node || x.name.localeCompare(y.name))
    .map(({ state: _, ...b }) => b);
  const leftOpen = checked ? breakers.filter((b) => !b.closedAgain).length : 0;
  const enforced = checked && BREAKER_LIVENESS_SCENARIOS.has(scenario);
  return {
    checked,
    breakers,
    opened: breakers.reduce((n, b) => n + b.opened, 0),
    leftOpen,
    enforced,
    livenessFailures: enforced ? leftOpen : 0,
  };
}
