/**
 * The checker: a pure function from a history to a report. Safety anomalies (a lost acknowledged write, one
 * offset holding two values, acknowledged writes of one producer out of order within a partition, a
 * committed offset going backwards) fail the run; the rest is reported. Duplicates are reported, not fatal,
 * when the run's producers were not idempotent (the run event says so): a retried batch whose first attempt
 * committed is then written twice. A run that declares idempotent producers fails on any duplicate.
 *
 * A broker answer that only a broker bug explains (BROKER_FAULT_CODES: its data corrupt, or an internal
 * failure) to a live consumer's poll or a producer's send is a safety anomaly too: nothing need be lost for
 * a consumer to be told its partition is corrupt, and retrying hides it.
 *
 * Liveness: a circuit breaker left open after the final heal (see breakers.ts) fails the scenarios that
 * enforce it; it is counted apart from the safety anomalies.
 */
import { type HistoryEvent, seqValue } from '../harness/history.js';
import { type BreakersReport, checkBreakers } from './breakers.js';

/**
 * Error codes no fault the nemeses inject explains: a broker answers them only when its own data or code is
 * wrong (a kill, pause, partition, slow link or full disk yields timeouts, NOT_LEADER, DISK_FULL and the like).
 */
export const BROKER_FAULT_CODES: ReadonlySet<string> = new Set([
  'CORRUPT_LOG',
  'CORRUPT_BATCH',
  'UNKNOWN_SERVER_ERROR',
]);

export interface CheckOptions {
  /** Width of the availability windows. */
  windowMs?: number;
  /** Examples kept per anomaly kind. */
  examplesMax?: number;
}

export interface Recovery {
  name: string;
  target: string;
  healedAtMs: number;
  /** From heal to the first acknowledged write after it; null if none came before the next fault. */
  recoveryMs: number | null;
  /**
   * From heal until every partition that was ever acknowledged has an acknowledgement again (in a cluster
   * the other partitions keep acknowledging while one elects a leader, so `recoveryMs` alone hides that).
   * null if some partition had none before the next fault.
   */
  allPartitionsRecoveryMs: number | null;
}

export interface CheckReport {
  counts: {
    sends: number;
    acks: number;
    fails: number;
    liveReads: number;
    drainReads: number;
    faults: number;
    /** Broker processes that ended without the harness asking: crashes, or signals from outside. */
    unexpectedBrokerExits: number;
    /** Committed offsets read back from the consumer group's coordinator (what the regression check saw). */
    commitSamples: number;
    /** Failed polls of live consumers, by error code. */
    pollErrors: Record<string, number>;
  };
  safety: {
    lostWrites: number;
    inconsistentOffsets: number;
    reorders: number;
    committedOffsetRegressions: number;
    /** Duplicates counted as anomalies: only when the producers were idempotent, else 0. */
    idempotentDuplicates: number;
    /** Polls and sends answered with a BROKER_FAULT_CODES error. */
    brokerFaultErrors: number;
  };
  info: {
    /** Same producer:seq at two offsets; retries of a non-idempotent producer. */
    duplicatesRetries: number;
    /** Failed (never acknowledged) writes that were read: a timed-out write may still have committed. */
    readsOfFailedWrites: number;
    /** Acknowledged writes in the final drain that live consumers never read. */
    unseenAfterHealing: number;
    /** The run declared idempotent producers (duplicates are then safety anomalies). */
    idempotentProducers: boolean;
  };
  availability: {
    windowMs: number;
    windows: number;
    availableWindows: number;
    fraction: number;
    /** Longest stretch without an acknowledged write while the workload ran. */
    maxUnavailableMs: number;
    /**
     * The longest harness stall overlapping that stretch (ms; 0 if none): the harness's own event loop
     * was blocked then, and with it every ack and proxied byte (harness/stall-monitor.ts).
     */
    maxUnavailableHarnessStallMs: number;
    /** Longest stretch one partition went without an acknowledged write (the worst partition). */
    maxPartitionUnavailableMs: number;
  };
  /** Stalls of the harness's own event loop (>= 200 ms): how many and the longest. */
  harnessStalls: { count: number; maxMs: number };
  recoveries: Recovery[];
  p99RecoveryMs: number | null;
  p99AllPartitionsRecoveryMs: number | null;
  /** Heals followed by the next fault (or the end) before any acknowledgement. */
  unrecoveredFaults: number;
  examples: Record<string, string[]>;
  safetyAnomalies: number;
  /** Circuit breakers seen during the run and whether they closed again after the heal. */
  breakers: BreakersReport;
  /** Liveness failures that fail the run (breakers left open, in the scenarios that enforce it). */
  livenessFailures: number;
  ok: boolean;
}

const pkey = (partition: number, offset: number): string => `${partition}@${offset}`;

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions = {}): CheckReport {
  const windowMs = options.windowMs ?? 1000;
  const examplesMax = options.examplesMax ?? 5;
  const examples: Record<string, string[]> = {};
  const example = (kind: string, text: string): void => {
    const list = examples[kind] ?? [];
    if (list.length < examplesMax) list.push(text);
    examples[kind] = list;
  };

  const acked = new Map<string, { partition: number; offset: number; producer: string; seq: number }>();
  const failed = new Set<string>();
  const ackTimes: number[] = [];
  const ackTimesByPartition = new Map<number, number[]>();
  /** partition@offset -> values seen there (acks and reads). */
  const atOffset = new Map<string, Set<string>>();
  const drainValues = new Map<string, Set<string>>();
  const liveValues = new Set<string>();
  const commits = new Map<string, number>();
  const heals: { name: string; target: string; t: number }[] = [];
  const stalls: { t: number; ms: number }[] = [];
  const faultStarts: number[] = [];
  let sends = 0;
  let fails = 0;
  let liveReads = 0;
  let drainReads = 0;
  let faults = 0;
  let unexpectedBrokerExits = 0;
  let commitRegressions = 0;
  let commitSamples = 0;
  let brokerFaultErrors = 0;
  const pollErrors: Record<string, number> = {};
  const brokerFault = (code: string, what: string, t: number): void => {
    if (!BROKER_FAULT_CODES.has(code)) return;
    brokerFaultErrors++;
    example('brokerFaultErrors', `${what} answered ${code} at ${Math.round(t)} ms`);
  };
  let firstSendMs: number | null = null;
  let workloadStopMs: number | null = null;
  let idempotent = false;

  const observe = (partition: number, offset: number, value: string): void => {
    const k = pkey(partition, offset);
    const set = atOffset.get(k) ?? new Set<string>();
    set.add(value);
    atOffset.set(k, set);
  };

  for (const e of events) {
    switch (e.type) {
      case 'send':
        sends++;
        firstSendMs ??= e.t;
        break;
      case 'harness-stall':
        stalls.push({ t: e.t, ms: e.ms });
        break;
      case 'ack': {
        const v = seqValue(e.producer, e.seq);
        acked.set(v, { partition: e.partition, offset: e.offset, producer: e.producer, seq: e.seq });
        ackTimes.push(e.t);
        const list = ackTimesByPartition.get(e.partition) ?? [];
        list.push(e.t);
        ackTimesByPartition.set(e.partition, list);
        observe(e.partition, e.offset, v);
        break;
      }
      case 'fail':
        fails++;
        failed.add(seqValue(e.producer, e.seq));
        brokerFault(e.code, `${e.producer} send of seq ${e.seq}`, e.t);
        break;
      case 'poll-error':
        pollErrors[e.code] = (pollErrors[e.code] ?? 0) + 1;
        brokerFault(e.code, `${e.consumer} poll`, e.t);
        break;
      case 'read':
        observe(e.partition, e.offset, e.value);
        if (e.phase === 'live') {
          liveReads++;
          liveValues.add(e.value);
        } else {
          drainReads++;
          const offs = drainValues.get(e.value) ?? new Set<string>();
          offs.add(pkey(e.partition, e.offset));
          drainValues.set(e.value, offs);
        }
        break;
      case 'commit': {
        commitSamples++;
        const k = `${e.group}/${e.partition}`;
        const prev = commits.get(k);
        if (prev !== undefined && e.offset < prev) {
          commitRegressions++;
          example('committedOffsetRegressions', `${k}: ${prev} -> ${e.offset} at ${e.t} ms`);
        }
        commits.set(k, Math.max(prev ?? e.offset, e.offset));
        break;
      }
      case 'nemesis':
        if (e.action === 'start') {
          faults++;
          faultStarts.push(e.t);
        } else heals.push({ name: e.name, target: e.target, t: e.t });
        break;
      case 'broker':
        if (e.action === 'exited') unexpectedBrokerExits++;
        break;
      case 'run':
        if (e.action === 'start') idempotent = e.idempotent === true;
        break;
      case 'phase':
        if (e.name === 'workload-stop') workloadStopMs ??= e.t;
        break;
      default:
        break;
    }
  }

  let lostWrites = 0;
  let unseenAfterHealing = 0;
  for (const [v, a] of acked) {
    const offs = drainValues.get(v);
    if (offs === undefined) {
      lostWrites++;
      example(
        'lostWrites',
        `${v} acknowledged at ${pkey(a.partition, a.offset)}, absent from the final drain`,
      );
    } else if (!liveValues.has(v)) {
      unseenAfterHealing++;
    }
  }

  let inconsistentOffsets = 0;
  for (const [k, values] of atOffset) {
    if (values.size > 1) {
      inconsistentOffsets++;
      example('inconsistentOffsets', `${k} holds ${[...values].join(' and ')}`);
    }
  }

  let duplicatesRetries = 0;
  for (const [v, offs] of drainValues) {
    if (offs.size > 1) {
      duplicatesRetries += offs.size - 1;
      example('duplicatesRetries', `${v} at ${[...offs].join(', ')}`);
    }
  }

  let readsOfFailedWrites = 0;
  for (const v of failed) {
    if (!acked.has(v) && (drainValues.has(v) || liveValues.has(v))) readsOfFailedWrites++;
  }

  // Reordering: one producer's acknowledged writes to one partition, in seq order, must have rising offsets.
  const streams = new Map<string, { seq: number; offset: number }[]>();
  for (const a of acked.values()) {
    const k = `${a.producer}/${a.partition}`;
    const list = streams.get(k) ?? [];
    list.push({ seq: a.seq, offset: a.offset });
    streams.set(k, list);
  }
  let reorders = 0;
  for (const [k, list] of streams) {
    list.sort((x, y) => x.seq - y.seq);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const cur = list[i]!;
      if (cur.offset <= prev.offset) {
        reorders++;
        example('reorders', `${k}: seq ${prev.seq}@${prev.offset} before seq ${cur.seq}@${cur.offset}`);
      }
    }
  }

  // Availability over the workload's lifetime, in fixed windows.
  ackTimes.sort((a, b) => a - b);
  const startMs = firstSendMs ?? 0;
  const endMs = workloadStopMs ?? ackTimes[ackTimes.length - 1] ?? startMs;
  const windows = Math.max(0, Math.ceil((endMs - startMs) / windowMs));
  const hit = new Set<number>();
  let maxUnavailableMs = 0;
  let maxGapFrom = startMs;
  let last = startMs;
  for (const t of ackTimes) {
    if (t > endMs) break;
    hit.add(Math.floor((t - startMs) / windowMs));
    if (t - last > maxUnavailableMs) {
      maxUnavailableMs = t - last;
      maxGapFrom = last;
    }
    last = t;
  }
  if (windows > 0 && endMs - last > maxUnavailableMs) {
    maxUnavailableMs = endMs - last;
    maxGapFrom = last;
  }
  const maxUnavailableHarnessStallMs = Math.max(
    0,
    ...stalls.filter((s) => s.t < maxGapFrom + maxUnavailableMs && s.t + s.ms > maxGapFrom).map((s) => s.ms),
  );
  const availableWindows = [...hit].filter((w) => w < windows).length;
  let maxPartitionUnavailableMs = 0;
  for (const list of ackTimesByPartition.values()) {
    list.sort((a, b) => a - b);
    maxPartitionUnavailableMs = Math.max(maxPartitionUnavailableMs, longestGap(list, startMs, endMs));
  }

  faultStarts.sort((a, b) => a - b);
  const recoveries: Recovery[] = heals.map((h) => {
    const ack = firstAtOrAfter(ackTimes, h.t);
    const nextFault = firstAtOrAfter(faultStarts, h.t);
    // An ack after the next fault began measures that fault, not recovery from this one.
    const next = ack !== null && (nextFault === null || ack <= nextFault) ? ack : null;
    let allAt: number | null = h.t;
    for (const list of ackTimesByPartition.values()) {
      const first = firstAtOrAfter(list, h.t);
      if (first === null || (nextFault !== null && first > nextFault) || allAt === null) allAt = null;
      else allAt = Math.max(allAt, first);
    }
    return {
      name: h.name,
      target: h.target,
      healedAtMs: h.t,
      recoveryMs: next === null ? null : Math.round(next - h.t),
      allPartitionsRecoveryMs: allAt === null ? null : Math.round(allAt - h.t),
    };
  });
  const p99RecoveryMs = percentile(
    recoveries.flatMap((r) => (r.recoveryMs === null ? [] : [r.recoveryMs])),
    99,
  );
  const p99AllPartitionsRecoveryMs = percentile(
    recoveries.flatMap((r) => (r.allPartitionsRecoveryMs === null ? [] : [r.allPartitionsRecoveryMs])),
    99,
  );

  const idempotentDuplicates = idempotent ? duplicatesRetries : 0;
  const breakers = checkBreakers(events);
  for (const b of breakers.breakers) {
    if (breakers.checked && !b.closedAgain)
      example('breakersLeftOpen', `${b.name} on node ${b.node} (opened ${b.opened} times)`);
  }
  const safetyAnomalies =
    lostWrites +
    inconsistentOffsets +
    reorders +
    commitRegressions +
    idempotentDuplicates +
    brokerFaultErrors;
  return {
    counts: {
      sends,
      acks: acked.size,
      fails,
      liveReads,
      drainReads,
      faults,
      unexpectedBrokerExits,
      commitSamples,
      pollErrors,
    },
    safety: {
      lostWrites,
      inconsistentOffsets,
      reorders,
      committedOffsetRegressions: commitRegressions,
      idempotentDuplicates,
      brokerFaultErrors,
    },
    info: { duplicatesRetries, readsOfFailedWrites, unseenAfterHealing, idempotentProducers: idempotent },
    availability: {
      windowMs,
      windows,
      availableWindows,
      fraction: windows === 0 ? 0 : availableWindows / windows,
      maxUnavailableMs: Math.round(maxUnavailableMs),
      maxUnavailableHarnessStallMs,
      maxPartitionUnavailableMs: Math.round(maxPartitionUnavailableMs),
    },
    harnessStalls: { count: stalls.length, maxMs: Math.max(0, ...stalls.map((s) => s.ms)) },
    recoveries,
    p99RecoveryMs,
    p99AllPartitionsRecoveryMs,
    unrecoveredFaults: recoveries.filter((r) => r.recoveryMs === null).length,
    examples,
    safetyAnomalies,
    breakers,
    livenessFailures: breakers.livenessFailures,
    ok: safetyAnomalies === 0 && breakers.livenessFailures === 0,
  };
}

/** First value >= t in an ascending list (binary search), or null. */
function firstAtOrAfter(sorted: readonly number[], t: number): number | null {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length ? sorted[lo]! : null;
}

/** Longest gap in an ascending list of times within [startMs, endMs], the ends included. */
function longestGap(sorted: readonly number[], startMs: number, endMs: number): number {
  let last = startMs;
  let gap = 0;
  for (const t of sorted) {
    if (t > endMs) break;
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, endMs - last);
}
