/**
 * Every metric StreamBus exports, with its type and labels. The raft_*, metadata_*, cluster_* and
 * circuitbreaker_* names are exactly those of spec/streambus-hardening-plan.md (raft_* describe the
 * metadata Raft group); the data plane uses the `streambus_` prefix. Tests (and the broker scrape test)
 * check a live /metrics against this table.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly help: string;
  /** Named by the hardening spec (as opposed to added for the data plane). */
  readonly spec: boolean;
}

const s = (name: string, type: MetricType, labels: readonly string[], help: string): MetricSpec => ({
  name,
  type,
  labels,
  help,
  spec: true,
});
const d = (name: string, type: MetricType, labels: readonly string[], help: string): MetricSpec => ({
  name,
  type,
  labels,
  help,
  spec: false,
});

export const METRICS = {
  // consensus (metadata Raft group)
  raftProposalsTotal: s(
    'raft_proposals_total',
    'counter',
    [],
    'Proposals submitted to the metadata Raft group',
  ),
  raftProposalDurationSeconds: s(
    'raft_proposal_duration_seconds',
    'histogram',
    [],
    'Time from proposal to commit in the metadata Raft group',
  ),
  raftLeadershipChangesTotal: s(
    'raft_leadership_changes_total',
    'counter',
    [],
    'Leader changes observed by this node in the metadata Raft group',
  ),
  raftCommitIndex: s('raft_commit_index', 'gauge', [], 'Commit index of the metadata Raft group'),
  raftAppliedIndex: s('raft_applied_index', 'gauge', [], 'Applied index of the metadata Raft group'),
  raftPeersCount: s('raft_peers_count', 'gauge', [], 'Voters in the metadata Raft group'),
  // metadata store
  metadataOperationsTotal: s(
    'metadata_operations_total',
    'counter',
    ['operation', 'status'],
    'Metadata store operations by operation and status (success, failure)',
  ),
  metadataOperationDurationSeconds: s(
    'metadata_operation_duration_seconds',
    'histogram',
    ['operation'],
    'Metadata store operation latency',
  ),
  metadataVersion: s('metadata_version', 'gauge', [], 'Version (last applied index) of the metadata image'),
  metadataBrokersCount: s('metadata_brokers_count', 'gauge', [], 'Brokers registered in the metadata store'),
  metadataPartitionsCount: s('metadata_partitions_count', 'gauge', [], 'Partitions in the metadata store'),
  // cluster coordination
  clusterBrokersActive: s('cluster_brokers_active', 'gauge', [], 'Brokers alive per the heartbeat service'),
  clusterRebalancesTotal: s('cluster_rebalances_total', 'counter', ['status'], 'Rebalances by outcome'),
  clusterRebalanceDurationSeconds: s(
    'cluster_rebalance_duration_seconds',
    'histogram',
    [],
    'Duration of a rebalance',
  ),
  clusterPartitionsTotal: s('cluster_partitions_total', 'gauge', [], 'Partitions in the cluster'),
  clusterImbalanceScore: s(
    'cluster_imbalance_score',
    'gauge',
    [],
    'Replica and leadership imbalance (0 = perfectly balanced)',
  ),
  clusterFeatureLevel: d(
    'streambus_cluster_feature_level',
    'gauge',
    [],
    "The cluster feature level finalized in this broker's metadata image: what every broker may use (docs/operations.md, Rolling upgrades)",
  ),
  featureLevelSupported: d(
    'streambus_feature_level_supported',
    'gauge',
    [],
    "The highest cluster feature level this broker's build supports",
  ),
  // circuit breakers
  circuitbreakerState: s(
    'circuitbreaker_state',
    'gauge',
    ['name'],
    'Circuit breaker state: 0=closed, 1=open, 2=half-open',
  ),
  circuitbreakerRequestsTotal: s(
    'circuitbreaker_requests_total',
    'counter',
    ['name', 'result'],
    'Calls through a breaker by result (success, failure, rejected, ignored)',
  ),
  circuitbreakerStateChangesTotal: s(
    'circuitbreaker_state_changes_total',
    'counter',
    ['name', 'from', 'to'],
    'Breaker state transitions',
  ),
  // data plane
  messagesInTotal: d('streambus_messages_in_total', 'counter', ['topic'], 'Messages appended by produce'),
  bytesInTotal: d('streambus_bytes_in_total', 'counter', ['topic'], 'Record batch bytes appended by produce'),
  messagesOutTotal: d('streambus_messages_out_total', 'counter', ['topic'], 'Messages returned by fetch'),
  bytesOutTotal: d('streambus_bytes_out_total', 'counter', ['topic'], 'Record batch bytes returned by fetch'),
  followerMessagesOutTotal: d(
    'streambus_follower_messages_out_total',
    'counter',
    ['topic'],
    'Messages this broker returned by fetch from its follower copy (consumers with a rack: fetch from followers)',
  ),
  requestDurationSeconds: d(
    'streambus_request_duration_seconds',
    'histogram',
    ['api'],
    'Request latency from frame decoded to response written, by api',
  ),
  requestsTotal: d(
    'streambus_requests_total',
    'counter',
    ['api', 'status'],
    'Requests by api and error code',
  ),
  requestsInFlight: d(
    'streambus_requests_in_flight',
    'gauge',
    [],
    'Requests received and not yet answered (queued ones included)',
  ),
  requestQueueDepth: d(
    'streambus_request_queue_depth',
    'gauge',
    [],
    'Requests answered but waiting to be written behind an earlier, unanswered request on their connection (responses go out in request order)',
  ),
  connectionsActive: d('streambus_connections_active', 'gauge', [], 'Open client connections'),
  connectionsRejectedTotal: d(
    'streambus_connections_rejected_total',
    'counter',
    [],
    'Connections refused (limit reached or draining)',
  ),
  quotaThrottledRequestsTotal: d(
    'streambus_quota_throttled_requests_total',
    'counter',
    ['kind'],
    'Requests that took their client id over a quota (quotas.*: a byte rate for kind=produce/fetch, event-loop time for kind=request); its connection then went unread',
  ),
  quotaThrottleSecondsTotal: d(
    'streambus_quota_throttle_seconds_total',
    'counter',
    [],
    'Time client connections went unread because their client id was over a quota (summed over connections)',
  ),
  produceDurationSeconds: d('streambus_produce_duration_seconds', 'histogram', [], 'Produce request latency'),
  fetchDurationSeconds: d(
    'streambus_fetch_duration_seconds',
    'histogram',
    [],
    'Fetch request latency (long-poll wait included)',
  ),
  logFsyncDurationSeconds: d(
    'streambus_log_fsync_duration_seconds',
    'histogram',
    [],
    'Time to make appended segment data durable: an fdatasync, or the O_DSYNC write (flush_policy always)',
  ),
  logCleanerRecordsRemovedTotal: d(
    'streambus_log_cleaner_records_removed_total',
    'counter',
    ['topic'],
    'Records the log cleaner removed from compacted topics (superseded by a later record of their key, or tombstones past delete_retention_ms)',
  ),
  logCleanerBytesRemovedTotal: d(
    'streambus_log_cleaner_bytes_removed_total',
    'counter',
    ['topic'],
    "Bytes by which the log cleaner shrank compacted topics' segments",
  ),
  logCleanerSegmentsCleanedTotal: d(
    'streambus_log_cleaner_segments_cleaned_total',
    'counter',
    ['topic'],
    'Segments the log cleaner replaced by a compacted copy (each segment of a merged run counts)',
  ),
  logCleanerSegmentsMergedTotal: d(
    'streambus_log_cleaner_segments_merged_total',
    'counter',
    ['topic'],
    'Segments fewer in compacted topics because the log cleaner merged adjacent small segments into one (a run of n counts n - 1)',
  ),
  logCleanerSegmentsSkippedTotal: d(
    'streambus_log_cleaner_segments_skipped_total',
    'counter',
    ['topic'],
    'Segments a cleaning pass left as they were without writing a copy: nothing in them to remove',
  ),
  logCleanerErrorsTotal: d(
    'streambus_log_cleaner_errors_total',
    'counter',
    [],
    'Cleaning passes over a partition that failed (logged; the next pass tries again)',
  ),
  logCleanerPassDurationSeconds: d(
    'streambus_log_cleaner_pass_duration_seconds',
    'histogram',
    [],
    'Time of one cleaning pass over one partition that cleaned it (reads, rewrites and swaps)',
  ),
  partitionsUnderReplicated: d(
    'streambus_partitions_under_replicated',
    'gauge',
    [],
    'Partitions led here with fewer in-sync replicas than replicas',
  ),
  partitionReplicasQuiescent: d(
    'streambus_partition_replicas_quiescent',
    'gauge',
    [],
    'Partition replicas here whose Raft group is quiet: idle and fully replicated, it sends no heartbeats until written to or a member goes silent',
  ),
  partitionLeaderElectionsTotal: d(
    'streambus_partition_leader_elections_total',
    'counter',
    [],
    'Partition Raft groups in which this broker became leader',
  ),
  partitionLeaderStepDownsTotal: d(
    'streambus_partition_leader_step_downs_total',
    'counter',
    [],
    'Partition leaderships this broker gave up because nothing committed while its own writes were durable (its links to the followers failing)',
  ),
  replicationCommitDurationSeconds: d(
    'streambus_replication_commit_duration_seconds',
    'histogram',
    [],
    'acks=all produce: from proposing a batch to its commit by a majority of its partition group',
  ),
  replicaFollowerLagEntries: d(
    'streambus_replica_follower_lag_entries',
    'gauge',
    [],
    'Largest follower lag (Raft entries behind the leader) over the partitions led here',
  ),
  consumerGroupLag: d(
    'streambus_consumer_group_lag',
    'gauge',
    ['group', 'topic', 'partition'],
    'High watermark minus committed offset, from the group coordinator, for partitions it holds a copy of',
  ),
  consumerGroups: d(
    'streambus_consumer_groups',
    'gauge',
    ['state'],
    'Consumer groups coordinated here, by state (Empty, PreparingRebalance, CompletingRebalance, Stable)',
  ),
  consumerGroupMembers: d(
    'streambus_consumer_group_members',
    'gauge',
    ['group'],
    'Members of each consumer group coordinated here',
  ),
  consumerGroupRebalancesTotal: d(
    'streambus_consumer_group_rebalances_total',
    'counter',
    ['group'],
    'Completed consumer group rebalances (generations)',
  ),
  consumerGroupRebalanceDurationSeconds: d(
    'streambus_consumer_group_rebalance_duration_seconds',
    'histogram',
    [],
    'From the start of a rebalance to the new generation',
  ),
  offsetCommitDurationSeconds: d(
    'streambus_offset_commit_duration_seconds',
    'histogram',
    [],
    'Offset commit latency (validation and the replicated write)',
  ),
  diskFreeBytes: d('streambus_disk_free_bytes', 'gauge', [], 'Free bytes on the data dir filesystem'),
  logSizeBytes: d(
    'streambus_log_size_bytes',
    'gauge',
    ['topic'],
    'Bytes of the partition logs of a topic held by this broker (replicas led or followed)',
  ),
  readBufferPoolIdleBytes: d(
    'streambus_read_buffer_pool_idle_bytes',
    'gauge',
    [],
    'Bytes of read buffers kept idle for fetch answers to borrow (storage.read_buffer_pool_bytes bounds it)',
  ),
  timeoutsTotal: d('streambus_timeouts_total', 'counter', ['operation'], 'Operations that ran out of time'),
  errorsTotal: d(
    'streambus_errors_total',
    'counter',
    ['code', 'category'],
    'Errors answered or raised, by code',
  ),
  healthCheckStatus: d(
    'streambus_health_check_status',
    'gauge',
    ['check'],
    'Last result of a health check: 0=unhealthy, 1=degraded, 2=healthy',
  ),
} as const satisfies Record<string, MetricSpec>;

export type MetricField = keyof typeof METRICS;
