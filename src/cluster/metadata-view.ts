/**
 * The one adapter from the metadata store's records to the plain ClusterView the pure control-plane logic
 * reads (placement, failure detection, rebalancer, imbalance score).
 */
import type { MetadataView } from '../metadata/state.js';
import type { BrokerView, ClusterView, Move, TopicView } from './types.js';

export interface ClusterViewOptions {
  /**
   * The store keeps no "state entered at" time; a failed broker's failure is dated to its last heartbeat
   * plus this timeout (when the detector could first have noticed), which is where the rebalancer's grace
   * period starts.
   */
  readonly heartbeatTimeoutMs: number;
  /**
   * When the coordinator first saw each failed broker failed (its own clock). Preferred over the estimate
   * above: the estimate moves with every heartbeat, so a returning broker's heartbeat would never look newer
   * than its failure.
   */
  readonly failedSinceMs?: ReadonlyMap<number, number>;
}

export function toClusterView(view: MetadataView, options: ClusterViewOptions): ClusterView {
  const brokers: BrokerView[] = [...view.brokers.values()]
    .map((b) => ({
      id: b.id,
      rack: b.rack,
      state: b.state,
      stateSinceMs:
        b.state === 'failed'
          ? (options.failedSinceMs?.get(b.id) ?? b.lastHeartbeatMs + options.heartbeatTimeoutMs)
          : b.lastHeartbeatMs,
      lastHeartbeatMs: b.lastHeartbeatMs,
      capacityWeight: b.capacityHint,
    }))
    .sort((a, b) => a.id - b.id);
  const topics: TopicView[] = [...view.topics.values()]
    .map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        replicas: p.replicas,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        isr: p.isr,
        ...(p.pinned === true ? { pinned: true } : {}),
        ...(p.targetReplicas === undefined ? {} : { targetReplicas: p.targetReplicas }),
      })),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pendingMoves: Move[] = [...view.moves.values()].map((m) => ({
    topic: m.topic,
    partition: m.partition,
    from: m.from,
    to: m.to,
    reason: 'rebalance',
  }));
  return { version: view.version, brokers, topics, pendingMoves };
}
