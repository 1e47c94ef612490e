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
  'cluster-mixed': ['kill', 'pause', 'partition'],
};

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
  'cluster-mixed',
];

/** Brokers of a cluster scenario: the smallest cluster that survives one failure with a majority. */
export const CLUSTER_BROKERS = 3;

export function isClusterScenario(name: string): boolean {
  return name.startsWith('cluster-');
}

export function defaultBrokers(scenario: string): number {
  return isClusterScenario(scenario) ? CLUSTER_BROKERS : 1;
}
