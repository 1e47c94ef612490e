/**
 * Consumer-group metrics: rebalances, removals and commit latency as they happen (GroupObserver), group
 * states, member counts and lag sampled by `sampleGroupGauges`.
 */
import type { MetricsRegistry } from '../../observability/index.js';
import type { TopicCatalog } from '../catalog.js';
import type { GroupObserver, GroupShard } from './group-shard.js';

export function groupObserver(metrics: MetricsRegistry): GroupObserver {
  return {
    onRebalance(groupId, _generation, _members, durationMs) {
      metrics.consumerGroupRebalancesTotal.inc({ group: groupId });
      metrics.consumerGroupRebalanceDurationSeconds.observe(durationMs / 1000);
    },
    onMemberRemoved() {},
    onCommit(_groupId, _partitions, durationMs) {
      metrics.offsetCommitDurationSeconds.observe(durationMs / 1000);
    },
  };
}

/** What the gauges read from a loaded shard of the offsets topic (GroupShard). */
export type GaugedShard = Pick<GroupShard, 'groupIds' | 'describe' | 'committed'>;

const PHASES = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable'] as const;

/**
 * Group states and members of the groups coordinated here, and each group's lag (high watermark minus
 * committed offset) for the partitions this broker holds a copy of, leader or follower (with replication
 * factor = brokers, all of them); the CLI's `group describe` reports lag for every partition.
 */
export async function sampleGroupGauges(
  groups: { loadedShards(): Promise<readonly GaugedShard[]> },
  catalog: Pick<TopicCatalog, 'highWatermarkHere'>,
  metrics: MetricsRegistry,
): Promise<void> {
  const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
  metrics.consumerGroupMembers.reset();
  metrics.consumerGroupLag.reset();
  for (const shard of await groups.loadedShards()) {
    for (const groupId of shard.groupIds()) {
      const d = shard.describe(groupId);
      if (d === undefined) continue;
      counts.set(d.phase, (counts.get(d.phase) ?? 0) + 1);
      metrics.consumerGroupMembers.set({ group: groupId }, d.members.length);
      for (const c of shard.committed(groupId, null)) {
        const highWatermark = catalog.highWatermarkHere(c.topic, c.partition);
        if (highWatermark === undefined) continue; // no copy here: its high watermark is not known
        metrics.consumerGroupLag.set(
          { group: groupId, topic: c.topic, partition: String(c.partition) },
          Math.max(0, highWatermark - c.offset),
        );
      }
    }
  }
  for (const [state, n] of counts) metrics.consumerGroups.set({ state }, n);
}
