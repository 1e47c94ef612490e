/**
 * The seeded fault plan: which nemesis starts when, for how long, against which node. Pure: the same seed
 * and options always give the same plan, so a failing run is replayed by its seed.
 */

/** mulberry32 (the Raft core's seeded generator): small, fast, and enough for scheduling. */
import { mulberry32 as seededRandom } from '../../src/raft/core/rand.js';

export { seededRandom };

export type PartitionMode = 'isolate' | 'majority-minority' | 'one-way';

export interface FaultStep {
  /** From the start of the run. */
  atMs: number;
  nemesis: string;
  durationMs: number;
  /** Node index the fault targets (partition: the node isolated or on the minority side). */
  target: number;
  /** Partition layout; unused by other nemeses. */
  partitionMode: PartitionMode;
  /**
   * Cluster runs: aim at whichever broker leads this topic partition when the fault starts (resolved from
   * metadata then; `target` is the fallback when no leader is known). Absent: `target` as drawn.
   */
  leaderOf?: number;
}

export interface PlanOptions {
  seed: number;
  durationMs: number;
  nemeses: readonly string[];
  nodes: number;
  /** Fault durations are drawn from [min, max]. */
  faultMsMin?: number;
  faultMsMax?: number;
  /** Quiet time before each fault. */
  quietMsMin?: number;
  quietMsMax?: number;
  /** Quiet time kept at the end so the system heals before the drain. */
  tailMs?: number;
}

const MODES: readonly PartitionMode[] = ['isolate', 'majority-minority', 'one-way'];

export function generatePlan(o: PlanOptions): FaultStep[] {
  const random = seededRandom(o.seed);
  const between = (min: number, max: number): number => Math.round(min + random() * (max - min));
  const faultMsMin = o.faultMsMin ?? 3000;
  const faultMsMax = o.faultMsMax ?? 8000;
  const quietMsMin = o.quietMsMin ?? 2000;
  const quietMsMax = o.quietMsMax ?? 5000;
  const tailMs = o.tailMs ?? 3000;
  const steps: FaultStep[] = [];
  if (o.nemeses.length === 0 || o.nodes < 1) return steps;
  let t = 0;
  for (;;) {
    const quiet = between(quietMsMin, quietMsMax);
    const duration = between(faultMsMin, faultMsMax);
    const nemesis = o.nemeses[Math.floor(random() * o.nemeses.length)]!;
    const target = Math.floor(random() * o.nodes);
    const partitionMode = MODES[Math.floor(random() * MODES.length)]!;
    if (t + quiet + duration + tailMs > o.durationMs) break;
    steps.push({ atMs: t + quiet, nemesis, durationMs: duration, target, partitionMode });
    t += quiet + duration;
  }
  return steps;
}

/** `leaderOf` value meaning "the partition with the most acknowledged writes so far" (resolved at the fault). */
export const BUSIEST_PARTITION = -1;

/**
 * The replicated-partitions acceptance plan: every `everyMs`, kill -9 the leader of the busiest partition
 * and restart it after `downMs`; nothing else. Deterministic (no seed needed).
 */
export function leaderKillPlan(o: {
  durationMs: number;
  everyMs?: number;
  downMs?: number;
  tailMs?: number;
}): FaultStep[] {
  const everyMs = o.everyMs ?? 10_000;
  const downMs = o.downMs ?? 1_000;
  const tailMs = o.tailMs ?? 3000;
  const steps: FaultStep[] = [];
  for (let at = everyMs; at + downMs + tailMs <= o.durationMs; at += everyMs) {
    steps.push({
      atMs: at,
      nemesis: 'kill',
      durationMs: downMs,
      target: 0,
      partitionMode: 'isolate',
      leaderOf: BUSIEST_PARTITION,
    });
  }
  return steps;
}

/**
 * Turns some steps of a plan into leader-targeted ones (the interesting victim in a replicated cluster: its
 * loss forces an election and tests what the old leader had acknowledged). Draws from its own seeded stream,
 * so the base plan of a seed stays what it was. Pure.
 */
export function targetLeaders(
  steps: readonly FaultStep[],
  o: { seed: number; partitions: number; leaderShare?: number },
): FaultStep[] {
  const random = seededRandom(o.seed ^ 0x1eade5);
  const share = o.leaderShare ?? 0.6;
  return steps.map((s) => {
    const aimAtLeader = random() < share;
    const partition = Math.floor(random() * Math.max(1, o.partitions));
    return aimAtLeader ? { ...s, leaderOf: partition } : { ...s };
  });
}

export function formatPlan(steps: readonly FaultStep[]): string {
  return steps
    .map(
      (s) =>
        `  ${(s.atMs / 1000).toFixed(1).padStart(7)} s  ${s.nemesis.padEnd(10)} ${s.leaderOf === undefined ? `node ${s.target}` : `leader of partition ${s.leaderOf}`} for ${(s.durationMs / 1000).toFixed(1)} s` +
        (s.nemesis === 'partition' ? ` (${s.partitionMode})` : ''),
    )
    .join('\n');
}
