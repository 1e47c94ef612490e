/** Text tables for the console and the docs. */
import type { CheckReport } from './check.js';

export function fmtMs(ms: number | null): string {
  if (ms === null) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

export function formatReport(r: CheckReport): string {
  const c = r.counts;
  const rows: string[][] = [
    ['send attempts', String(c.sends)],
    ['acknowledged', String(c.acks)],
    ['failed sends', String(c.fails)],
    ['live reads / drain reads', `${c.liveReads} / ${c.drainReads}`],
    ['group commits read back', String(c.commitSamples)],
    ['faults injected', String(c.faults)],
    ['unexpected broker exits', String(c.unexpectedBrokerExits)],
    ['LOST acknowledged writes', String(r.safety.lostWrites)],
    ['INCONSISTENT offsets', String(r.safety.inconsistentOffsets)],
    ['REORDERED acknowledged writes', String(r.safety.reorders)],
    ['committed-offset regressions', String(r.safety.committedOffsetRegressions)],
    ['BROKER FAULT answers (corrupt, internal)', String(r.safety.brokerFaultErrors)],
    [
      'failed live polls',
      Object.keys(c.pollErrors).length === 0
        ? '0'
        : Object.entries(c.pollErrors)
            .map(([code, n]) => `${code} ${n}`)
            .join(', '),
    ],
    r.info.idempotentProducers
      ? ['DUPLICATES (idempotent producers)', String(r.safety.idempotentDuplicates)]
      : ['duplicates (retries)', `${r.info.duplicatesRetries} (not fatal: producers not idempotent)`],
    ['reads of failed writes (info)', String(r.info.readsOfFailedWrites)],
    ['unseen by live consumers after healing', String(r.info.unseenAfterHealing)],
    [
      'availability',
      `${(r.availability.fraction * 100).toFixed(1)}% of ${r.availability.windows} x ${r.availability.windowMs} ms windows`,
    ],
    [
      'max unavailability',
      fmtMs(r.availability.maxUnavailableMs) +
        (r.availability.maxUnavailableHarnessStallMs > 0
          ? ` (overlaps a ${fmtMs(r.availability.maxUnavailableHarnessStallMs)} harness stall)`
          : ''),
    ],
    ['max unavailability of one partition', fmtMs(r.availability.maxPartitionUnavailableMs)],
    ['p99 recovery after heal', fmtMs(r.p99RecoveryMs)],
    ['p99 recovery of every partition', fmtMs(r.p99AllPartitionsRecoveryMs)],
    ['heals with no ack before the next fault', String(r.unrecoveredFaults)],
    [
      'harness event-loop stalls (>= 200 ms)',
      r.harnessStalls.count === 0 ? '0' : `${r.harnessStalls.count}, longest ${fmtMs(r.harnessStalls.maxMs)}`,
    ],
    [
      'breakers opened / left open after heal',
      r.breakers.checked
        ? `${r.breakers.opened} / ${r.breakers.leftOpen}${r.breakers.enforced ? ' (liveness, enforced)' : ''}`
        : 'not sampled',
    ],
    ['safety anomalies', String(r.safetyAnomalies)],
    ['liveness failures', `${r.livenessFailures} -> ${r.ok ? 'PASS' : 'FAIL'}`],
  ];
  const lines = [table(rows)];
  if (r.breakers.breakers.length > 0) {
    lines.push('circuit breakers (node, breaker: times opened, closed again after the heal):');
    for (const b of r.breakers.breakers) {
      lines.push(
        `  node-${b.node} ${b.name.padEnd(18)} opened ${b.opened}, ${b.closedAgain ? 'closed again' : 'LEFT OPEN'}`,
      );
    }
  }
  if (r.recoveries.length > 0) {
    lines.push('recovery per fault (heal -> first ack / every partition acked again):');
    for (const rec of r.recoveries) {
      lines.push(
        `  ${fmtMs(rec.healedAtMs).padStart(8)}  ${rec.name.padEnd(10)} ${rec.target.padEnd(10)} ${fmtMs(rec.recoveryMs)} / ${fmtMs(rec.allPartitionsRecoveryMs)}`,
      );
    }
  }
  for (const [kind, list] of Object.entries(r.examples)) {
    lines.push(`${kind} (examples):`);
    for (const e of list) lines.push(`  ${e}`);
  }
  return lines.join('\n');
}

export interface ScenarioRow {
  scenario: string;
  durationS: number;
  status: string;
  report: CheckReport | null;
}

/**
 * The docs/reliability.md table: scenario, duration, ops, lost, duplicated, reordered, unavailability, p99
 * recovery, how many heals saw no ack before the next fault, and stalls of the harness's own event loop.
 */
export function formatSummaryTable(rows: readonly ScenarioRow[]): string {
  const header = [
    'scenario',
    'duration',
    'ops',
    'acked',
    'lost',
    'duplicated',
    'reordered',
    'inconsistent',
    'max unavail',
    'max unavail (1 partition)',
    'p99 recovery',
    'p99 recovery (all partitions)',
    'unrecovered',
    'harness stalls',
    'result',
  ];
  const body = rows.map((row) => {
    const r = row.report;
    if (r === null) return [row.scenario, `${row.durationS} s`, ...Array<string>(12).fill('-'), row.status];
    return [
      row.scenario,
      `${row.durationS} s`,
      String(r.counts.sends),
      String(r.counts.acks),
      String(r.safety.lostWrites),
      String(r.info.duplicatesRetries),
      String(r.safety.reorders),
      String(r.safety.inconsistentOffsets),
      fmtMs(r.availability.maxUnavailableMs),
      fmtMs(r.availability.maxPartitionUnavailableMs),
      fmtMs(r.p99RecoveryMs),
      fmtMs(r.p99AllPartitionsRecoveryMs),
      `${r.unrecoveredFaults}/${r.recoveries.length}`,
      r.harnessStalls.count === 0 ? '0' : `${r.harnessStalls.count} (max ${fmtMs(r.harnessStalls.maxMs)})`,
      r.counts.unexpectedBrokerExits > 0
        ? `${row.status} (${r.counts.unexpectedBrokerExits} unexpected broker exit)`
        : row.status,
    ];
  });
  return table([header, ...body]);
}
