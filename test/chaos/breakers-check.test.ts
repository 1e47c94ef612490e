import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../chaos/checker/check.js';
import { formatReport } from '../../chaos/checker/format.js';
import { parseBreakerStates } from '../../chaos/harness/breaker-sampler.js';
import type { HistoryEvent } from '../../chaos/harness/history.js';

/** A clean cluster run (one acknowledged write, drained) plus the given breaker events. */
function run(scenario: string, breakerEvents: HistoryEvent[], settled = true): HistoryEvent[] {
  return [
    { t: 0, type: 'run', action: 'start', scenario, seed: 7, brokers: 3, idempotent: true },
    { t: 10, type: 'send', producer: 'p0', seq: 0, partition: 0 },
    { t: 15, type: 'ack', producer: 'p0', seq: 0, partition: 0, offset: 0 },
    { t: 20, type: 'read', phase: 'live', consumer: 'c', partition: 0, offset: 0, value: 'p0:0' },
    { t: 100, type: 'nemesis', name: 'kill', action: 'start', target: 'node-2' },
    ...breakerEvents,
    { t: 5_000, type: 'nemesis', name: 'kill', action: 'stop', target: 'node-2' },
    { t: 9_000, type: 'read', phase: 'drain', consumer: 'd', partition: 0, offset: 0, value: 'p0:0' },
    ...(settled ? [{ t: 9_500, type: 'breakers-settled', open: [] } as HistoryEvent] : []),
    { t: 9_600, type: 'run', action: 'end', scenario, seed: 7 },
  ];
}

const change = (t: number, node: number, name: string, from: string, to: string): HistoryEvent =>
  ({ t, type: 'breaker', node, name, from, to }) as HistoryEvent;

describe('checker: circuit breakers over a run', () => {
  it('counts each opening per breaker and passes when every one closed again after the heal', () => {
    const r = checkHistory(
      run('cluster-kill', [
        change(1_000, 1, 'raft-peer-3', 'closed', 'open'),
        change(2_000, 1, 'raft-peer-3', 'open', 'half-open'),
        change(2_500, 1, 'raft-peer-3', 'half-open', 'open'),
        change(6_000, 1, 'raft-peer-3', 'open', 'closed'),
        change(1_200, 2, 'raft-peer-3', 'closed', 'open'),
        change(6_100, 2, 'raft-peer-3', 'open', 'closed'),
      ]),
    );
    expect(r.breakers.breakers).toEqual([
      { node: 1, name: 'raft-peer-3', opened: 2, closedAgain: true },
      { node: 2, name: 'raft-peer-3', opened: 1, closedAgain: true },
    ]);
    expect(r.breakers).toMatchObject({ checked: true, opened: 3, leftOpen: 0, enforced: true });
    expect(r.livenessFailures).toBe(0);
    expect(r.ok).toBe(true);
  });

  it('fails cluster-kill on a breaker left open after the heal, as a liveness failure, not a safety one', () => {
    const r = checkHistory(
      run('cluster-kill', [
        change(1_000, 1, 'raft-peer-3', 'closed', 'open'),
        change(6_000, 1, 'raft-peer-3', 'open', 'half-open'),
      ]),
    );
    expect(r.breakers.breakers).toEqual([{ node: 1, name: 'raft-peer-3', opened: 1, closedAgain: false }]);
    expect(r.breakers.leftOpen).toBe(1);
    expect(r.livenessFailures).toBe(1);
    expect(r.safetyAnomalies).toBe(0);
    expect(r.ok).toBe(false);
    expect(r.examples.breakersLeftOpen).toEqual(['raft-peer-3 on node 1 (opened 1 times)']);
    expect(formatReport(r)).toContain('node-1 raft-peer-3');
    expect(formatReport(r)).toContain('LEFT OPEN');
  });

  it('only reports a breaker left open in a scenario that does not enforce it', () => {
    const r = checkHistory(run('cluster-partition', [change(1_000, 1, 'raft-peer-3', 'closed', 'open')]));
    expect(r.breakers).toMatchObject({ checked: true, leftOpen: 1, enforced: false, livenessFailures: 0 });
    expect(r.ok).toBe(true);
  });

  it('gives no breaker verdict for a run that never sampled after the heal', () => {
    const r = checkHistory(run('cluster-kill', [change(1_000, 1, 'raft-peer-3', 'closed', 'open')], false));
    expect(r.breakers).toMatchObject({ checked: false, leftOpen: 0, livenessFailures: 0 });
    expect(r.ok).toBe(true);
  });

  it('reads breaker states from a /metrics text, whatever other labels the samples carry', () => {
    const text = [
      '# TYPE circuitbreaker_state gauge',
      'circuitbreaker_state{name="metadata",broker_id="1"} 0',
      'circuitbreaker_state{name="raft-peer-3",broker_id="1"} 1',
      'circuitbreaker_state{broker_id="1",name="probe-broker-2"} 2',
      'circuitbreaker_requests_total{name="metadata",result="success",broker_id="1"} 4',
    ].join('\n');
    expect([...parseBreakerStates(text)]).toEqual([
      ['metadata', 'closed'],
      ['raft-peer-3', 'open'],
      ['probe-broker-2', 'half-open'],
    ]);
  });
});
