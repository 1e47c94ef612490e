/** Validation and config helpers of the metadata state transition (pure). */
import type { MetadataView } from './state.js';
import { type BrokerId, NO_LEADER, type PartitionRecord, type TopicRecord } from './types.js';

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validTopicName(name: string): boolean {
  return TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}

/** Cluster defaults overlaid with the topic's overrides. */
export function effectiveTopicConfig(view: MetadataView, topic: TopicRecord): Record<string, string> {
  return { ...view.clusterConfig, ...topic.configs };
}

export function freshPartition(
  partition: number,
  replicas: readonly BrokerId[],
  pinned: boolean,
): PartitionRecord {
  return {
    partition,
    replicas: [...replicas],
    leader: replicas[0] ?? NO_LEADER,
    leaderEpoch: 0,
    isr: [...replicas],
    ...(pinned ? { pinned: true } : {}),
  };
}

/** isr must be distinct members of replicas; the leader a replica (or none). A string says what is wrong. */
export function checkMembers(
  isr: readonly BrokerId[],
  replicas: readonly BrokerId[],
  leader: BrokerId,
): string | undefined {
  if (new Set(isr).size !== isr.length) return `in-sync set has duplicates: ${isr}`;
  const outside = isr.filter((id) => !replicas.includes(id));
  if (outside.length > 0) return `in-sync brokers ${outside} are not replicas`;
  if (leader !== NO_LEADER && !replicas.includes(leader)) return `leader ${leader} is not a replica`;
  return undefined;
}

export function checkConfigKeys(keys: readonly string[]): string | undefined {
  const bad = keys.find((k) => k.length === 0 || k.length > 255);
  return bad === undefined ? undefined : `invalid config key '${bad}'`;
}

export function mergeConfig(
  base: Readonly<Record<string, string>>,
  set: Readonly<Record<string, string>>,
  del: readonly string[],
): Record<string, string> {
  const next: Record<string, string> = { ...base, ...set };
  for (const k of del) delete next[k];
  return sortedRecord(next);
}

/** Key order is part of the state (it shows in snapshots); sorting makes it independent of history. */
export function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k] as string;
  return out;
}
