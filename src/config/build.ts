import type { PlacementStrategy } from '../cluster/types.js';
import type { CleanupPolicy } from '../storage/config.js';
import type { ConfigValue } from './schema.js';
import type { BrokerConfig, FlushPolicy, LogFormat, LogLevel, TracingExporter } from './types.js';
import { parseVoters } from './voters.js';

/** Reads validated values by schema key. Typed accessors keep `BrokerConfig` checked by the compiler. */
export interface ValueReader {
  num(key: string): number;
  numOrNull(key: string): number | null;
  str<T extends string = string>(key: string): T;
  strOrNull(key: string): string | null;
  bool(key: string): boolean;
}

/** Validated flat values (schema key -> value) as a typed reader that records which keys were read. */
export function readerOf(values: ReadonlyMap<string, ConfigValue>, read?: Set<string>): ValueReader {
  const get = (key: string): ConfigValue => {
    if (!values.has(key)) throw new Error(`config key ${key} missing from the schema`);
    read?.add(key);
    return values.get(key) as ConfigValue;
  };
  const typed = <T>(key: string, type: string, nullable: boolean): T => {
    const value = get(key);
    if ((value === null && !nullable) || (value !== null && typeof value !== type)) {
      throw new Error(`config key ${key}: schema type does not match BrokerConfig`);
    }
    return value as T;
  };
  return {
    num: (key) => typed<number>(key, 'number', false),
    numOrNull: (key) => typed<number | null>(key, 'number', true),
    str: <T extends string>(key: string) => typed<T>(key, 'string', false),
    strOrNull: (key) => typed<string | null>(key, 'string', true),
    bool: (key) => typed<boolean>(key, 'boolean', false),
  };
}

/** The one place schema keys meet camelCase fields. */
export function buildBrokerConfig(r: ValueReader): BrokerConfig {
  return deepFreeze({
    configVersion: r.num('config_version'),
    broker: {
      id: r.num('broker.id'),
      listen: r.str('broker.listen'),
      advertisedListen: r.strOrNull('broker.advertised_listen'),
      dataDir: r.str('broker.data_dir'),
      rack: r.strOrNull('broker.rack'),
      tls: {
        enabled: r.bool('broker.tls.enabled'),
        certFile: r.strOrNull('broker.tls.cert_file'),
        keyFile: r.strOrNull('broker.tls.key_file'),
        caFile: r.strOrNull('broker.tls.ca_file'),
        clientAuth: r.str<'none' | 'required'>('broker.tls.client_auth'),
        reloadIntervalMs: r.num('broker.tls.reload_interval'),
      },
    },
    limits: {
      frameBytesMax: r.num('limits.frame_bytes_max'),
      batchBytesMax: r.num('limits.batch_bytes_max'),
      fetchBytesMax: r.num('limits.fetch_bytes_max'),
      inFlightRequestsPerConnectionMax: r.num('limits.in_flight_requests_per_connection_max'),
      connectionsMax: r.num('limits.connections_max'),
      fetchWaitMaxMs: r.num('limits.fetch_wait_max_ms'),
      requestTimeoutMs: r.num('limits.request_timeout_ms'),
      connectionIdleTimeoutMs: r.num('limits.connection_idle_timeout_ms'),
    },
    quotas: {
      producerByteRate: r.num('quotas.producer_byte_rate'),
      consumerByteRate: r.num('quotas.consumer_byte_rate'),
      requestPercentage: r.num('quotas.request_percentage'),
    },
    storage: {
      segmentBytes: r.num('storage.segment_bytes'),
      segmentMs: r.num('storage.segment_ms'),
      indexIntervalBytes: r.num('storage.index_interval_bytes'),
      retentionMs: r.num('storage.retention_ms'),
      retentionBytes: r.num('storage.retention_bytes'),
      flushPolicy: r.str<FlushPolicy>('storage.flush_policy'),
      flushIntervalMs: r.num('storage.flush_interval_ms'),
      preallocateBytes: r.num('storage.preallocate_bytes'),
      followerDirectWrites: r.bool('storage.follower_direct_writes'),
      readBufferPoolBytes: r.num('storage.read_buffer_pool_bytes'),
      retentionCheckIntervalMs: r.num('storage.retention_check_interval_ms'),
      cleanupPolicy: r.str<CleanupPolicy>('storage.cleanup_policy'),
      deleteRetentionMs: r.num('storage.delete_retention_ms'),
      minCleanableDirtyRatio: r.num('storage.min_cleanable_dirty_ratio'),
      minCompactionLagMs: r.num('storage.min_compaction_lag_ms'),
      cleanerIntervalMs: r.num('storage.cleaner_interval'),
      cleanerKeysMax: r.num('storage.cleaner_keys_max'),
      cleanerIoBytesPerSec: r.num('storage.cleaner_io_bytes_per_sec'),
    },
    shutdown: { timeoutMs: r.num('shutdown.timeout_ms') },
    resilience: {
      circuitBreaker: {
        failureThreshold: r.num('resilience.circuit_breaker.failure_threshold'),
        successThreshold: r.num('resilience.circuit_breaker.success_threshold'),
        timeoutMs: r.num('resilience.circuit_breaker.timeout'),
        maxRequestsHalfOpen: r.num('resilience.circuit_breaker.max_requests_half_open'),
      },
      retry: {
        retriesMax: r.num('resilience.retry.retries_max'),
        baseDelayMs: r.num('resilience.retry.base_delay'),
        maxDelayMs: r.num('resilience.retry.max_delay'),
      },
      timeouts: {
        proposalMs: r.num('resilience.timeouts.proposal'),
        healthCheckMs: r.num('resilience.timeouts.health_check'),
        rebalanceMs: r.num('resilience.timeouts.rebalance'),
        heartbeatIntervalMs: r.num('resilience.timeouts.heartbeat_interval'),
        heartbeatTimeoutMs: r.num('resilience.timeouts.heartbeat_timeout'),
        leaderElectionMs: r.num('resilience.timeouts.leader_election'),
        snapshotMs: r.num('resilience.timeouts.snapshot'),
        connectMs: r.num('resilience.timeouts.connect'),
      },
    },
    cluster: {
      enabled: r.bool('cluster.enabled'),
      peerListen: r.str('cluster.peer_listen'),
      peerTls: r.bool('cluster.peer_tls'),
      advertisedPeerListen: r.strOrNull('cluster.advertised_peer_listen'),
      voters: votersOf(r.strOrNull('cluster.voters'), r.num('broker.id')),
      rebalanceIntervalMs: r.num('cluster.rebalance_interval'),
      probeIntervalMs: r.num('cluster.probe_interval'),
      failedGraceMs: r.num('cluster.failed_grace'),
      concurrentMovesMax: r.num('cluster.concurrent_moves_max'),
      featureLevelMax: r.num('cluster.feature_level_max'),
      imbalanceScoreMax: r.num('cluster.imbalance_score_max'),
      placementStrategy: r.str<PlacementStrategy>('cluster.placement_strategy'),
    },
    groups: {
      offsetsPartitions: r.num('groups.offsets_partitions'),
      offsetsReplicationFactor: r.num('groups.offsets_replication_factor'),
      offsetsRetentionMs: r.num('groups.offsets_retention'),
      sessionTimeoutMinMs: r.num('groups.session_timeout_min'),
      sessionTimeoutMaxMs: r.num('groups.session_timeout_max'),
      initialRebalanceDelayMs: r.num('groups.initial_rebalance_delay'),
      maxSize: r.num('groups.max_size'),
    },
    health: {
      checkIntervalMs: r.num('health.check_interval'),
      diskFreeBytesMin: r.num('health.disk_free_bytes_min'),
      eventLoopBlockWarnMs: r.num('health.event_loop_block_warn'),
      slowFsyncWarnMs: r.num('health.slow_fsync_warn'),
      http: {
        enabled: r.bool('health.http.enabled'),
        port: r.num('health.http.port'),
        bindAddress: r.str('health.http.bind_address'),
      },
    },
    metrics: {
      enabled: r.bool('metrics.enabled'),
      port: r.numOrNull('metrics.port'),
      path: r.str('metrics.path'),
    },
    logging: {
      level: r.str<LogLevel>('logging.level'),
      format: r.str<LogFormat>('logging.format'),
      output: r.str('logging.output'),
    },
    tracing: {
      enabled: r.bool('tracing.enabled'),
      exporter: r.str<TracingExporter>('tracing.exporter'),
      endpoint: r.str('tracing.endpoint'),
      otlpHeaders: r.strOrNull('tracing.otlp_headers'),
      samplingRatio: r.num('tracing.sampling_ratio'),
    },
  });
}

/** Cross-checks already refused a malformed list; one that still fails here is a bug in them. */
function votersOf(text: string | null, selfId: number): { id: number; host: string; port: number }[] | null {
  if (text === null) return null;
  const parsed = parseVoters(text, selfId);
  if (!parsed.ok) throw new Error(`cluster.voters: ${parsed.problem}`);
  return parsed.voters.map((v) => ({ ...v }));
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
