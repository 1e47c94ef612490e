/** Named scenarios: which nemeses a run may schedule, and on how many brokers by default. */
export const SCENARIOS: Readonly<Record<string, readonly string[]>> = {
  kill: ['kill'],
  pause: ['pause'],
  slow: ['slow'],
  'disk-full': ['disk-full'],
  partition: ['partition'],
  mixed: ['kill', 'pause', 'slow', 'disk-full', 'partition'],
  // A 3-broker cluster with replicated partitions (replication factor 3, min_insync_replicas 2).
  'cluster-kill': ['kill'],
  'cluster-pause': ['pause'],
  'cluster-partition': ['partition'],
  // Slow acts on the target's client traffic and on its broker-to-broker (Raft) traffic.
  'cluster-slow': ['slow'],
  'cluster-mixed': ['kill', 'pause', 'slow', 'partition'],
  // Replicated partitions' acceptance run: kill -9 of the busiest partition's leader every 10 s.
  'cluster-leader-kill': ['kill'],
};

/** Scenarios with a fixed fault schedule instead of a seeded random one. */
export const FIXED_PLAN_SCENARIOS: ReadonlySet<string> = new Set(['cluster-leader-kill']);

/** What `--scenario all` runs, in order. */
export const ALL_SCENARIOS: readonly string[] = [
  'kill',
  'pause',
  'slow',
  'disk-full',
  'partition',
  'mixed',
  'cluster-kill',
  'cluster-pause',
  'cluster-partition',
  'cluster-slow',
  'cluster-mixed',
  'cluster-leader-kill',
];

/** Brokers of a cluster scenario: the smallest cluster that survives one failure with a majority. */
export const CLUSTER_BROKERS = 3;

export function isClusterScenario(name: string): boolean {
  return name.startsWith('cluster-');
}

export function defaultBrokers(scenario: string): number {
  return isClusterScenario(scenario) ? CLUSTER_BROKERS : 1;
}
