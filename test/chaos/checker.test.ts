import { describe, expect, it } from 'vitest';
import { checkHistory, percentile } from '../../chaos/checker/check.js';
import type { HistoryEvent } from '../../chaos/harness/history.js';

/** A synthetic history builder: producer p0 writes to partition 0, reads are live then drain. */
function history(): {
  events: HistoryEvent[];
  write(seq: number, offset: number, t?: number): void;
  read(offset: number, value: string, phase?: 'live' | 'drain'): void;
} {
  const events: HistoryEvent[] = [{ t: 0, type: 'run', action: 'start', scenario: 'test', seed: 1 }];
  return {
    events,
    write(seq, offset, t = seq * 10) {
      events.push({ t, type: 'send', producer: 'p0', seq, partition: 0 });
      events.push({ t: t + 5, type: 'ack', producer: 'p0', seq, partition: 0, offset });
    },
    read(offset, value, phase = 'drain') {
      events.push({ t: 1000, type: 'read', phase, consumer: phase, partition: 0, offset, value });
    },
  };
}

function clean(): ReturnType<typeof history> {
  const h = history();
  for (let i = 0; i < 5; i++) h.write(i, i);
  for (let i = 0; i < 5; i++) h.read(i, `p0:${i}`, 'live');
  for (let i = 0; i < 5; i++) h.read(i, `p0:${i}`);
  return h;
}

describe('checker', () => {
  it('passes a clean history and counts its acknowledged writes', () => {
    const r = checkHistory(clean().events);
    expect(r.ok).toBe(true);
    expect(r.safetyAnomalies).toBe(0);
    expect(r.counts.acks).toBe(5);
    expect(r.counts.drainReads).toBe(5);
    expect(r.info.unseenAfterHealing).toBe(0);
  });

  it('reports an acknowledged write missing from the final drain as lost', () => {
    const h = history();
    for (let i = 0; i < 3; i++) h.write(i, i);
    h.read(0, 'p0:0');
    h.read(2, 'p0:2');
    const r = checkHistory(h.events);
    expect(r.safety.lostWrites).toBe(1);
    expect(r.examples.lostWrites?.[0]).toContain('p0:1');
    expect(r.ok).toBe(false);
  });

  it('fails on a poll or send answered as only a broker bug explains; fault-born errors are only counted', () => {
    const h = clean();
    h.events.push({ t: 60, type: 'poll-error', consumer: 'c0', code: 'NOT_LEADER' });
    h.events.push({ t: 61, type: 'poll-error', consumer: 'c0', code: 'REQUEST_TIMED_OUT' });
    h.events.push({ t: 62, type: 'fail', producer: 'p0', seq: 9, partition: 0, code: 'NOT_ENOUGH_REPLICAS' });
    const tolerated = checkHistory(h.events);
    expect(tolerated.ok).toBe(true);
    expect(tolerated.counts.pollErrors).toEqual({ NOT_LEADER: 1, REQUEST_TIMED_OUT: 1 });
    expect(tolerated.safety.brokerFaultErrors).toBe(0);

    h.events.push({ t: 70, type: 'poll-error', consumer: 'c1', code: 'CORRUPT_LOG' });
    h.events.push({
      t: 71,
      type: 'fail',
      producer: 'p0',
      seq: 10,
      partition: 0,
      code: 'UNKNOWN_SERVER_ERROR',
    });
    const r = checkHistory(h.events);
    expect(r.safety.brokerFaultErrors).toBe(2);
    expect(r.examples.brokerFaultErrors).toEqual([
      'c1 poll answered CORRUPT_LOG at 70 ms',
      'p0 send of seq 10 answered UNKNOWN_SERVER_ERROR at 71 ms',
    ]);
    expect(r.ok).toBe(false);
  });

  it('reports one offset read with two values as inconsistent', () => {
    const h = clean();
    h.read(3, 'p1:77', 'live');
    const r = checkHistory(h.events);
    expect(r.safety.inconsistentOffsets).toBe(1);
    expect(r.ok).toBe(false);
  });

  it('reports an acknowledgement whose offset holds another value as inconsistent', () => {
    const h = history();
    h.write(0, 0);
    h.read(0, 'p9:0');
    h.read(1, 'p0:0');
    const r = checkHistory(h.events);
    expect(r.safety.inconsistentOffsets).toBe(1);
  });

  it('reports acknowledged writes of one producer whose offsets go against their seq order', () => {
    const h = history();
    h.write(0, 0);
    h.write(1, 2);
    h.write(2, 1);
    for (let i = 0; i < 3; i++) h.read(i, `p0:${[0, 2, 1][i]}`);
    const r = checkHistory(h.events);
    expect(r.safety.reorders).toBe(1);
    expect(r.safety.lostWrites).toBe(0);
    expect(r.ok).toBe(false);
  });

  it('counts retry duplicates separately from safety anomalies', () => {
    const h = clean();
    h.read(5, 'p0:2');
    const r = checkHistory(h.events);
    expect(r.info.duplicatesRetries).toBe(1);
    expect(r.ok).toBe(true);
  });

  it('fails on a duplicate when the run declared idempotent producers', () => {
    const h = clean();
    h.events[0] = { t: 0, type: 'run', action: 'start', scenario: 'test', seed: 1, idempotent: true };
    h.read(5, 'p0:2');
    const r = checkHistory(h.events);
    expect(r.info.idempotentProducers).toBe(true);
    expect(r.safety.idempotentDuplicates).toBe(1);
    expect(r.ok).toBe(false);
  });

  it('reports failed writes that were read, as information', () => {
    const h = clean();
    h.events.push({ t: 60, type: 'send', producer: 'p0', seq: 5, partition: 0 });
    h.events.push({ t: 70, type: 'fail', producer: 'p0', seq: 5, partition: 0, code: 'REQUEST_TIMED_OUT' });
    h.read(5, 'p0:5');
    const r = checkHistory(h.events);
    expect(r.info.readsOfFailedWrites).toBe(1);
    expect(r.ok).toBe(true);
  });

  it('reports a committed offset that goes backwards', () => {
    const h = clean();
    h.events.push({ t: 100, type: 'commit', group: 'g', partition: 0, offset: 4 });
    h.events.push({ t: 200, type: 'commit', group: 'g', partition: 0, offset: 2 });
    const r = checkHistory(h.events);
    expect(r.safety.committedOffsetRegressions).toBe(1);
    expect(r.ok).toBe(false);
  });

  it('counts acknowledged writes live consumers never read as unseen after healing', () => {
    const h = history();
    h.write(0, 0);
    h.write(1, 1);
    h.read(0, 'p0:0', 'live');
    h.read(0, 'p0:0');
    h.read(1, 'p0:1');
    expect(checkHistory(h.events).info.unseenAfterHealing).toBe(1);
  });

  it('measures recovery from each heal to the next acknowledgement, and the longest gap without acks', () => {
    const events: HistoryEvent[] = [
      { t: 0, type: 'send', producer: 'p0', seq: 0, partition: 0 },
      { t: 100, type: 'ack', producer: 'p0', seq: 0, partition: 0, offset: 0 },
      { t: 200, type: 'nemesis', name: 'kill', action: 'start', target: 'node-0' },
      { t: 3000, type: 'nemesis', name: 'kill', action: 'stop', target: 'node-0' },
      { t: 3250, type: 'ack', producer: 'p0', seq: 1, partition: 0, offset: 1 },
      { t: 4000, type: 'phase', name: 'workload-stop' },
      { t: 4100, type: 'read', phase: 'drain', consumer: 'd', partition: 0, offset: 0, value: 'p0:0' },
      { t: 4100, type: 'read', phase: 'drain', consumer: 'd', partition: 0, offset: 1, value: 'p0:1' },
    ];
    const r = checkHistory(events, { windowMs: 1000 });
    expect(r.recoveries).toEqual([
      { name: 'kill', target: 'node-0', healedAtMs: 3000, recoveryMs: 250, allPartitionsRecoveryMs: 250 },
    ]);
    expect(r.p99RecoveryMs).toBe(250);
    expect(r.availability.maxUnavailableMs).toBe(3150);
    expect(r.availability.windows).toBe(4);
    expect(r.availability.availableWindows).toBe(2);
    expect(r.counts.faults).toBe(1);
  });

  it('reports harness stalls, and the longest one overlapping the longest gap without acks', () => {
    const events: HistoryEvent[] = [
      { t: 0, type: 'send', producer: 'p0', seq: 0, partition: 0 },
      { t: 100, type: 'ack', producer: 'p0', seq: 0, partition: 0, offset: 0 },
      { t: 150, type: 'harness-stall', ms: 300 }, // before the gap's last ack-free stretch began: overlaps
      { t: 1200, type: 'harness-stall', ms: 900 },
      { t: 1300, type: 'ack', producer: 'p0', seq: 1, partition: 0, offset: 1 },
      { t: 1500, type: 'ack', producer: 'p0', seq: 2, partition: 0, offset: 2 },
      { t: 2000, type: 'harness-stall', ms: 250 }, // after the longest gap: counted, not overlapping
      { t: 2600, type: 'phase', name: 'workload-stop' },
      ...[0, 1, 2].map(
        (offset): HistoryEvent => ({
          t: 2700,
          type: 'read',
          phase: 'drain',
          consumer: 'd',
          partition: 0,
          offset,
          value: `p0:${offset}`,
        }),
      ),
    ];
    const r = checkHistory(events, { windowMs: 1000 });
    expect(r.availability.maxUnavailableMs).toBe(1200);
    expect(r.availability.maxUnavailableHarnessStallMs).toBe(900);
    expect(r.harnessStalls).toEqual({ count: 3, maxMs: 900 });
    const quiet = checkHistory(
      events.filter((e) => e.type !== 'harness-stall'),
      { windowMs: 1000 },
    );
    expect(quiet.availability.maxUnavailableHarnessStallMs).toBe(0);
    expect(quiet.harnessStalls).toEqual({ count: 0, maxMs: 0 });
  });

  it('does not credit a recovery to a fault when the next fault began before any acknowledgement', () => {
    const events: HistoryEvent[] = [
      { t: 0, type: 'nemesis', name: 'kill', action: 'start', target: 'node-0' },
      { t: 1000, type: 'nemesis', name: 'kill', action: 'stop', target: 'node-0' },
      { t: 1001, type: 'nemesis', name: 'pause', action: 'start', target: 'node-0' },
      { t: 4000, type: 'nemesis', name: 'pause', action: 'stop', target: 'node-0' },
      { t: 4020, type: 'ack', producer: 'p0', seq: 0, partition: 0, offset: 0 },
      { t: 4100, type: 'read', phase: 'drain', consumer: 'd', partition: 0, offset: 0, value: 'p0:0' },
    ];
    const r = checkHistory(events);
    expect(r.recoveries.map((x) => x.recoveryMs)).toEqual([null, 20]);
    expect(r.unrecoveredFaults).toBe(1);
    expect(r.p99RecoveryMs).toBe(20);
  });

  it('measures per-partition unavailability and recovery that other partitions acknowledging would hide', () => {
    const ack = (t: number, partition: number, seq: number): HistoryEvent => ({
      t,
      type: 'ack',
      producer: `p${partition}`,
      seq,
      partition,
      offset: seq,
    });
    const events: HistoryEvent[] = [
      { t: 0, type: 'send', producer: 'p0', seq: 0, partition: 0 },
      ack(100, 0, 0),
      ack(100, 1, 0),
      { t: 500, type: 'nemesis', name: 'partition', action: 'start', target: 'node-1' },
      // Partition 0 keeps acknowledging through the fault; partition 1 (whose leader was cut off) does not.
      ack(1000, 0, 1),
      ack(2000, 0, 2),
      { t: 2500, type: 'nemesis', name: 'partition', action: 'stop', target: 'node-1' },
      ack(2600, 0, 3),
      ack(4100, 1, 1),
      { t: 5000, type: 'phase', name: 'workload-stop' },
    ];
    const r = checkHistory(events);
    expect(r.availability.maxUnavailableMs).toBe(1500);
    expect(r.availability.maxPartitionUnavailableMs).toBe(4000);
    expect(r.recoveries.map((x) => [x.recoveryMs, x.allPartitionsRecoveryMs])).toEqual([[100, 1600]]);
    expect(r.p99AllPartitionsRecoveryMs).toBe(1600);
  });

  it('takes the nearest-rank percentile', () => {
    expect(percentile([], 99)).toBeNull();
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 100], 99)).toBe(100);
  });
});
