/** Named scenarios: which nemeses a run may schedule. */
export const SCENARIOS: Readonly<Record<string, readonly string[]>> = {
  kill: ['kill'],
  pause: ['pause'],
  slow: ['slow'],
  'disk-full': ['disk-full'],
  partition: ['partition'],
  mixed: ['kill', 'pause', 'slow', 'disk-full', 'partition'],
};

/** What `--scenario all` runs, in order. */
export const ALL_SCENARIOS: readonly string[] = ['kill', 'pause', 'slow', 'disk-full', 'partition', 'mixed'];
