/**
 * The effective broker configuration: camelCase, fully typed, frozen. Durations are milliseconds and sizes
 * bytes, whatever form the file used. Built by `loadConfig` from the schema in schema.ts.
 */

import type { PlacementStrategy } from '../cluster/types.js';

import type { CleanupPolicy } from '../storage/config.js';

export type FlushPolicy = 'always' | 'interval' | 'never';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'json' | 'console';
export type TracingExporter = 'none' | 'console' | 'otlp';

/** A metadata quorum member: broker id and peer address. */
export interface ClusterVoter {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

export interface BrokerConfig {
  readonly configVersion: number;
  readonly broker: {
    readonly id: number;
    /** host:port */
    readonly listen: string;
    /** host:port, or null: derive from `listen`. */
    readonly advertisedListen: string | null;
    readonly dataDir: string;
    readonly rack: string | null;
    /** TLS on the client listener (enabled: cross-checks made sure the certificate and key are named). */
    readonly tls: ServerTlsConfig;
  };
  readonly limits: {
    readonly frameBytesMax: number;
    readonly batchBytesMax: number;
    readonly fetchBytesMax: number;
    readonly inFlightRequestsPerConnectionMax: number;
    readonly connectionsMax: number;
    readonly fetchWaitMaxMs: number;
    readonly requestTimeoutMs: number;
    readonly connectionIdleTimeoutMs: number;
  };
  /** Byte rates and request time per client id (client-quotas.ts); -1 unlimited. */
  readonly quotas: {
    readonly producerByteRate: number;
    readonly consumerByteRate: number;
    readonly requestPercentage: number;
  };
  readonly storage: {
    readonly segmentBytes: number;
    readonly segmentMs: number;
    readonly indexIntervalBytes: number;
    /** -1: keep forever */
    readonly retentionMs: number;
    /** -1: no size limit */
    readonly retentionBytes: number;
    readonly flushPolicy: FlushPolicy;
    readonly flushIntervalMs: number;
    /** Zero-filled space kept ahead of a durable segment's end; 0: none. */
    readonly preallocateBytes: number;
    /** Followers of replicated partitions write around the page cache (flush_policy always). */
    readonly followerDirectWrites: boolean;
    /** Idle bytes the fetch read-buffer pool keeps; 0: no pool. */
    readonly readBufferPoolBytes: number;
    readonly retentionCheckIntervalMs: number;
    readonly cleanupPolicy: CleanupPolicy;
    readonly deleteRetentionMs: number;
    readonly minCleanableDirtyRatio: number;
    readonly minCompactionLagMs: number;
    readonly cleanerIntervalMs: number;
    readonly cleanerKeysMax: number;
    /** -1: unthrottled. */
    readonly cleanerIoBytesPerSec: number;
  };
  readonly shutdown: { readonly timeoutMs: number };
  readonly resilience: {
    readonly circuitBreaker: {
      readonly failureThreshold: number;
      readonly successThreshold: number;
      /** How long the breaker stays open. */
      readonly timeoutMs: number;
      readonly maxRequestsHalfOpen: number;
    };
    readonly retry: {
      readonly retriesMax: number;
      readonly baseDelayMs: number;
      readonly maxDelayMs: number;
    };
    readonly timeouts: {
      readonly proposalMs: number;
      readonly healthCheckMs: number;
      readonly rebalanceMs: number;
      readonly heartbeatIntervalMs: number;
      readonly heartbeatTimeoutMs: number;
      readonly leaderElectionMs: number;
      readonly snapshotMs: number;
      readonly connectMs: number;
    };
  };
  readonly cluster: {
    readonly enabled: boolean;
    /** host:port */
    readonly peerListen: string;
    /** Mutual TLS on the peer link, with the broker.tls files. */
    readonly peerTls: boolean;
    /** host:port, or null: derive from `peerListen`. */
    readonly advertisedPeerListen: string | null;
    /** null when unset (only allowed with cluster mode off). */
    readonly voters: readonly ClusterVoter[] | null;
    readonly rebalanceIntervalMs: number;
    readonly probeIntervalMs: number;
    readonly failedGraceMs: number;
    readonly concurrentMovesMax: number;
    readonly imbalanceScoreMax: number;
    readonly placementStrategy: PlacementStrategy;
    /** 0: no hold. */
    readonly featureLevelMax: number;
  };
  readonly groups: {
    readonly offsetsPartitions: number;
    readonly offsetsReplicationFactor: number;
    readonly offsetsRetentionMs: number;
    readonly sessionTimeoutMinMs: number;
    readonly sessionTimeoutMaxMs: number;
    readonly initialRebalanceDelayMs: number;
    readonly maxSize: number;
  };
  readonly health: {
    readonly checkIntervalMs: number;
    readonly diskFreeBytesMin: number;
    /** 0: off. */
    readonly eventLoopBlockWarnMs: number;
    /** 0: off. */
    readonly slowFsyncWarnMs: number;
    readonly http: { readonly enabled: boolean; readonly port: number; readonly bindAddress: string };
  };
  readonly metrics: {
    readonly enabled: boolean;
    /** null: share the health listener. */
    readonly port: number | null;
    readonly path: string;
  };
  readonly logging: { readonly level: LogLevel; readonly format: LogFormat; readonly output: string };
  readonly tracing: {
    readonly enabled: boolean;
    readonly exporter: TracingExporter;
    readonly endpoint: string;
    /** `name=value[,name=value]` sent with every OTLP export (a secret: API keys); null when unset. */
    readonly otlpHeaders: string | null;
    readonly samplingRatio: number;
  };
}

export interface ServerTlsConfig {
  readonly enabled: boolean;
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly caFile: string | null;
  readonly clientAuth: 'none' | 'required';
  /** How often the files are checked for a change (tls-reload.ts); 0: never. */
  readonly reloadIntervalMs: number;
}
