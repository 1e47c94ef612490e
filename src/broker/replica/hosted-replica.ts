/**
 * How the replica manager builds the PartitionReplica it hosts for one partition: the replica's options
 * from the manager's dependencies and the live metadata (min.insync.replicas and the recorded in-sync set
 * are read when needed, so config and metadata changes apply without reopening).
 */
import type { MetadataView } from '../../metadata/state.js';
import type { TopicRecord } from '../../metadata/types.js';
import type { Logger } from '../../observability/index.js';
import type { PartitionStore } from '../../storage/partition-store.js';
import { minInsyncFor } from '../topic-configs.js';
import { recordOf } from './leader-steering.js';
import { PartitionReplica } from './partition-replica.js';
import type { ReplicaManagerDeps } from './replica-manager.js';

/** What an append must meet, from the topic's configs (updated in place when they change). */
export interface ReplicaLimits {
  readonly batchBytesMax: number;
  /** A compacted topic: every record needs a key. */
  readonly keysRequired: boolean;
}

function replicaGroupId(topic: string, partition: number, createdVersion: number): string {
  return `p/${topic}/${partition}/${createdVersion}`;
}

/** Opens the replica of `topic`'s `partition` over `store`; `limits` is read at each append (configs change). */
export function openHostedReplica(
  deps: ReplicaManagerDeps,
  log: Logger,
  view: () => MetadataView,
  topic: TopicRecord,
  partition: number,
  store: PartitionStore,
  limits: ReplicaLimits,
): Promise<PartitionReplica> {
  return PartitionReplica.open({
    topic: topic.name,
    partition,
    groupId: replicaGroupId(topic.name, partition, topic.createdVersion),
    store,
    host: deps.host,
    logger: log,
    nowMs: deps.nowMs,
    batchBytesMax: () => limits.batchBytesMax,
    keysRequired: () => limits.keysRequired,
    ...(deps.decompressedBytesMax === undefined ? {} : { decompressedBytesMax: deps.decompressedBytesMax }),
    proposalTimeoutMs: deps.proposalTimeoutMs,
    minInsyncReplicas: () => {
      const current = view();
      const t = current.topics.get(topic.name);
      return t === undefined ? 1 : minInsyncFor(current, t, partition);
    },
    ...(deps.replicaLagTimeMaxMs === undefined ? {} : { replicaLagTimeMaxMs: deps.replicaLagTimeMaxMs }),
    recordedInSync: () =>
      recordOf({ topic: topic.name, partition, createdVersion: topic.createdVersion }, view())?.isr,
    onCommitted: (seconds: number) => deps.metrics?.replicationCommitDurationSeconds.observe(seconds),
    ...(deps.onTimeout === undefined ? {} : { onTimeout: deps.onTimeout }),
    ...(deps.snapshotTimeoutMs === undefined ? {} : { snapshotTimeoutMs: deps.snapshotTimeoutMs }),
  });
}
