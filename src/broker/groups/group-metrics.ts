/**
 * Consumer-group metrics: rebalances, removals and commit latency as they happen (GroupObserver), group
 * states, member counts and lag sampled by `sampleGroupGauges`.
 */
import type { MetricsRegistry } from '../../observability/index.js';
import type { TopicCatalog } from '../catalog.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { GroupObserver } from './group-shard.js';

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

const PHASES = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable'] as const;

/**
 * Group states and members of the groups coordinated here, and each group's lag (high watermark minus
 * committed offset) for the partitions whose high watermark this broker knows (it leads them); the CLI's
 * `group describe` reports lag for every partition.
 */
export async function sampleGroupGauges(
  groups: GroupCoordinator,
  catalog: TopicCatalog,
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
        let highWatermark: number;
        try {
          highWatermark = catalog.partition(c.topic, c.partition).highWatermark();
        } catch {
          continue; // led elsewhere (or gone): its high watermark is not known here
        }
        metrics.consumerGroupLag.set(
          { group: groupId, topic: c.topic, partition: String(c.partition) },
          Math.max(0, highWatermark - c.offset),
        );
      }
    }
  }
  for (const [state, n] of counts) metrics.consumerGroups.set({ state }, n);
}
