/**
 * Cluster feature levels (Kafka's metadata.version, CockroachDB's cluster version): what a broker may do that
 * brokers of an older build would misread. Each broker records in the metadata image the highest level its
 * build supports (registerBroker, and every heartbeat); the cluster's level is finalized by a metadata command
 * once every registered broker supports it, and a feature is used only from its level on. So a rolling upgrade
 * runs mixed builds safely: new brokers hold the new behaviour back until the last old one is gone.
 *
 * A level is never lowered. A broker whose build supports less than the finalized level is refused
 * registration (UNSUPPORTED_VERSION): rolling back below the finalized level is not possible, which is why an
 * operator may hold the level (broker config `cluster.feature_level_max`, on every broker) until an upgrade
 * has proved itself.
 *
 * Adding a level: append it to FEATURE_LEVELS with what it turns on, gate the behaviour on
 * `featureLevel >= n`, and keep the older path working for as long as the level may be unfinalized.
 */
import { StreamBusError } from '../errors/index.js';

export interface FeatureLevel {
  readonly level: number;
  readonly name: string;
  /** What turns on at this level (for the docs and `cluster status`). */
  readonly enables: string;
}

export const FEATURE_LEVELS: readonly FeatureLevel[] = [
  {
    level: 1,
    name: 'baseline',
    enables: 'everything a build before feature levels could do',
  },
  {
    level: 2,
    name: 'in-sync-set-batches-and-quiescence',
    enables:
      'in-sync set changes as one updateInSyncSets metadata write per broker; idle partition Raft groups go quiet',
  },
  {
    level: 3,
    name: 'cluster-id',
    enables:
      'one cluster id for every broker, recorded in metadata (setClusterId); before it each broker answered its own',
  },
  {
    level: 4,
    name: 'pinned-assignments',
    enables:
      "an operator's replica assignment is pinned: the rebalancer never moves its replicas for balance, nor off a failed broker; before it such partitions are balanced like any other",
  },
  {
    level: 5,
    name: 'partition-reassignment',
    enables:
      'an operator reassigns a partition to a replica list of its choosing, or unpins it (alterPartitionAssignments: topic reassign, topic unpin); before it both are refused',
  },
  {
    level: 6,
    name: 'client-quotas',
    enables:
      'byte-rate quota overrides per client id and for every client id, set at runtime (alterClientQuotas: config alter --client, --client-default); before it they are refused',
  },
  {
    level: 7,
    name: 'client-quota-extensions',
    enables:
      'a quota override of -1 (unlimited, where deleting falls back) and request_percentage overrides (request-time quota); before it both are refused',
  },
  {
    level: 8,
    name: 'reassignment-replication-factor',
    enables:
      "a reassignment may change a partition's replica count (topic reassign with more or fewer brokers: moves that only add or only remove a replica); before it such a list is refused",
  },
  {
    level: 9,
    name: 'delete-records',
    enables:
      "an operator or application advances a partition's log start, deleting the records below it (advanceLogStart: DeleteRecords, topic delete-records); before it DeleteRecords is refused",
  },
];

/** The level a cluster runs at until it finalizes one (every build before feature levels is level 1). */
export const BASELINE_FEATURE_LEVEL = 1;

/** The highest level this build supports. */
export const SUPPORTED_FEATURE_LEVEL =
  FEATURE_LEVELS[FEATURE_LEVELS.length - 1]?.level ?? BASELINE_FEATURE_LEVEL;

/** The level each gated feature needs. */
export const FEATURE = {
  /** The updateInSyncSets metadata command: older replicas cannot decode it and skip it (their images diverge). */
  inSyncSetBatches: 2,
  /** Quiet partition groups: an older follower ignores the quiesce flag and elects when heartbeats stop. */
  partitionQuiescence: 2,
  /** The setClusterId metadata command: an older replica cannot decode it. */
  clusterId: 3,
  /**
   * The `pinned` flag of createTopic / addPartitions (a partition placed by an operator's assignment): an
   * older replica drops the field and an older coordinator would move the replicas, so it is recorded
   * only from this level on.
   */
  pinnedAssignments: 4,
  /**
   * The alterPartitionAssignments metadata command (an operator's reassignment or unpin) and the partition
   * record's `targetReplicas`: an older replica cannot decode the command, so brokers refuse the request
   * (FEATURE_NOT_FINALIZED) and apply refuses the command below this level.
   */
  partitionReassignment: 5,
  /**
   * The alterClientQuotas metadata command (per-client-id quota overrides): an older replica cannot decode
   * it, so brokers refuse the request (FEATURE_NOT_FINALIZED) and apply refuses the command below this level.
   */
  clientQuotas: 6,
  /**
   * alterClientQuotas setting an override to -1 (unlimited) or setting request_percentage: a level-6 replica
   * refuses both values when it applies the command while a newer one accepts them (their images would
   * diverge), so brokers refuse such a request (FEATURE_NOT_FINALIZED) and apply refuses it below this level.
   */
  clientQuotaExtensions: 7,
  /**
   * An alterPartitionAssignments list of another length than the partition's replicas, and the moves that
   * only add or only remove a replica (NO_BROKER in recordMove / completeMove and snapshots). A replica of an
   * older build refuses such a list (INVALID_REPLICATION_FACTOR) and cannot decode such a move, so brokers
   * refuse the request (FEATURE_NOT_FINALIZED) and apply refuses the list below this level, exactly as an
   * older build does.
   */
  reassignmentReplicationFactor: 8,
  /**
   * The advanceLogStart metadata command and the partition record's `logStartFloor` (DeleteRecords): an older
   * replica cannot decode the command, and an older build's replicas would not hide the deleted records, so
   * brokers refuse the request (FEATURE_NOT_FINALIZED) and apply refuses the command below this level.
   */
  deleteRecords: 9,
} as const;

/**
 * The level the coordinator may finalize now: the lowest level any registered broker supports (a
 * decommissioned one too, until it is unregistered: it still runs Raft replicas), capped by this build and the operator's hold; `undefined` when that
 * is not above the current level.
 */
export function finalizableLevel(
  current: number,
  brokerLevels: readonly number[],
  hold: number | undefined,
): number | undefined {
  if (brokerLevels.length === 0) return undefined;
  let level = Math.min(SUPPORTED_FEATURE_LEVEL, ...brokerLevels);
  if (hold !== undefined) level = Math.min(level, hold);
  return level > current ? level : undefined;
}

/**
 * Why a broker of this build must not run in a cluster at `clusterLevel` (above what the build supports);
 * undefined when it may.
 */
export function unsupportedClusterLevel(
  clusterLevel: number,
  supported: number = SUPPORTED_FEATURE_LEVEL,
): string | undefined {
  if (clusterLevel <= supported) return undefined;
  return `the cluster has finalized feature level ${clusterLevel}, and this build supports levels up to ${supported}: it stops rather than run its replicas (start it on a build that supports level ${clusterLevel}; feature levels are never lowered)`;
}

/**
 * FEATURE_NOT_FINALIZED, for a request that needs level `needed` while the cluster runs below it: names the
 * brokers whose build holds it back, or says the coordinator finalizes it shortly when none does.
 */
export function featureNotFinalized(
  view: {
    readonly featureLevel: number;
    readonly brokers: ReadonlyMap<number, { readonly featureLevel: number }>;
  },
  needed: number,
  /** What needs it, with the verb: 'client quota overrides need'. */
  needs: string,
  operation: string,
): StreamBusError {
  const behind = [...view.brokers.entries()]
    .filter(([, b]) => b.featureLevel < needed)
    .map(([id]) => id)
    .sort((a, b) => a - b);
  const why =
    behind.length > 0
      ? `broker(s) ${behind.join(', ')} run a build without it: upgrade them first`
      : 'every broker supports it, and the coordinator finalizes the level shortly (unless cluster.feature_level_max holds it)';
  return new StreamBusError('FEATURE_NOT_FINALIZED', {
    operation,
    message: `${needs} cluster feature level ${needed} and the cluster is at ${view.featureLevel}: ${why}`,
  });
}
