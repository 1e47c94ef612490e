/**
 * One broker process: wires storage, the client listener, the request router, and the operating surface
 * (health, metrics, logs) together, and owns the start and shutdown order.
 *
 * Start: open the data dir (recovering every partition) -> (cluster.enabled: the metadata Raft group, see
 * cluster-node.ts) -> listen for clients -> serve health and metrics -> start periodic work (retention,
 * health checks) -> log "broker started".
 *
 * Shutdown (SIGTERM/SIGINT): a drain bounded by shutdown.timeout_ms, in the order broker-shutdown.ts gives.
 */
import { advertisedListen } from '../config/cli.js';
import type { BrokerConfig } from '../config/types.js';
import { parseHostPort } from '../config/validate.js';
import { StreamBusError } from '../errors/index.js';
import { SUPPORTED_FEATURE_LEVEL } from '../metadata/feature-levels.js';
import { judgePartitions, judgeReplicas } from '../observability/cluster-checks.js';
import {
  type HealthRegistry,
  type Logger,
  type MetricsRegistry,
  type OpsStack,
  type OpsStackOptions,
  startOpsStack,
  type TracingHandle,
} from '../observability/index.js';
import { decompressedRecordsBytesMax } from '../protocol/limits.js';
import { logConfigOf } from '../storage/config.js';
import { LogManager } from '../storage/log-manager.js';
import { ReadBufferPool } from '../storage/read-buffers.js';
import { BROKER_VERSION } from '../version.js';
import { drainAndClose, type ShutdownOutcome } from './broker-shutdown.js';
import { loadBrokerTls } from './broker-tls.js';
import { scheduleCleaner } from './cleaner-schedule.js';
import { ClientQuotaLimits } from './client-quota-limits.js';
import { FileClientQuotaStore, MetadataClientQuotaStore } from './client-quota-store.js';
import { ClientQuotas } from './client-quotas.js';
import { APPLY_WAIT_MS, ClusterTopicCatalog } from './cluster-catalog.js';
import { quorumClusterInfo, singleNodeClusterInfo } from './cluster-info.js';
import { ClusterNode } from './cluster-node.js';
import { GroupCoordinator } from './groups/group-coordinator.js';
import { LocalTopicCatalog } from './local-catalog.js';
import { bindLogSizeMetrics, brokerObservers, type SizedPartitionLog } from './observability.js';
import { FileProducerIdBlocks, metadataProducerIdBlocks } from './producer-id-blocks.js';
import { ProducerIdAllocator } from './producer-ids.js';
import { PRODUCER_STATE } from './producer-state.js';
import { ReplicaManager } from './replica/replica-manager.js';
import { replicaStores } from './replica/replica-stores.js';
import { scheduleRetention } from './retention-schedule.js';
import { RequestRouter } from './router.js';
import { BrokerTcpServer } from './tcp-server.js';
import { watchBrokerTls } from './tls-reload.js';
import { topicConfigs } from './topic-configs.js';

export interface BrokerAddresses {
  host: string;
  port: number;
  /** The health (and, unless configured apart, metrics) listener; null when disabled. */
  httpHost: string | null;
  httpPort: number | null;
}

export interface Clock {
  nowMs(): number;
}

export interface BrokerDeps {
  logger: Logger;
  clock?: Clock;
  /** Replaces the configured span exporter when tracing.enabled (tests, embedding). */
  spanExporter?: OpsStackOptions['spanExporter'];
  /**
   * Called once the broker has stopped itself because it must not go on (cluster mode: its build is older
   * than the cluster's feature level, see ClusterNode.onFatal). The CLI exits 1.
   */
  onFatal?: (reason: string) => void;
}

/** How often the `replicas` health check runs (the Raft checks' pace, see cluster-health.ts). */
const REPLICAS_CHECK_INTERVAL_MS = 250;

export class Broker {
  private stopping: Promise<ShutdownOutcome> | null = null;
  private stopRetention: (() => void) | null = null;
  private stopCleaner: (() => void) | null = null;
  private stopTlsReload: (() => void) | null = null;
  /** Cluster mode: the partition replicas hosted here; closed before the metadata group stops. */
  private replicas: ReplicaManager | null = null;
  /** Consumer groups whose `__consumer_offsets` partition this broker leads. */
  private groups: GroupCoordinator | null = null;

  private constructor(
    readonly config: BrokerConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly logs: LogManager,
    private readonly server: BrokerTcpServer,
    private readonly ops: OpsStack,
    private readonly shutdownController: AbortController,
    readonly addresses: BrokerAddresses,
    /** The metadata Raft group and store; null for a single-node broker (cluster.enabled false). */
    readonly cluster: ClusterNode | null,
  ) {}

  static async start(config: BrokerConfig, deps: BrokerDeps): Promise<Broker> {
    const clock = deps.clock ?? { nowMs: () => Date.now() };
    const logger = deps.logger.child({ component: 'broker' });
    const startedAt = clock.nowMs();
    // Before anything starts: certificates that do not load stop the start, naming the file.
    const tls = loadBrokerTls(config);
    // Reloaded while the broker runs (tls-reload.ts): the probes read the current one.
    let listenerTls = tls.listener;
    // The ops server comes up first: liveness answers during a long recovery, readiness stays 503 until
    // every partition is loaded.
    const ops = await startOpsStack(config, {
      logger: deps.logger,
      clock,
      ...(deps.spanExporter === undefined ? {} : { spanExporter: deps.spanExporter }),
    });
    // metrics.enabled false records nothing on the data path (the overhead benchmark's baseline).
    const metrics = config.metrics.enabled ? ops.metrics : null;
    const fsyncObserver = ops.onFsync === undefined ? {} : { onFsync: ops.onFsync };
    // Single-node topics and cluster replicas share the data dir and the log defaults (storage.*).
    const storage = {
      ...config.storage,
      dataDir: config.broker.dataDir,
      batchBytesMax: config.limits.batchBytesMax,
      decompressedBytesMax: decompressedRecordsBytesMax(config.limits.frameBytesMax),
    };
    let logs: LogManager;
    try {
      logs = await LogManager.open(storage, {
        clock,
        logger: deps.logger.child({ component: 'storage' }),
        producerState: PRODUCER_STATE,
        ...fsyncObserver,
      });
    } catch (err) {
      await ops.close();
      throw err;
    }
    // Cluster mode: partitions are replicas, hosted by the replica manager made below once metadata is up.
    let hosted: ReplicaManager | null = null;
    ops.health.register({
      name: 'partitions',
      critical: true,
      check: async () =>
        judgePartitions(
          config.cluster.enabled
            ? { mode: 'cluster', replicaTopics: (hosted?.replicas() ?? []).map((r) => r.topic) }
            : { mode: 'single', topics: logs.listTopics().length },
        ),
    });
    // Single node: its client quota overrides live in the data dir (cluster mode: in the metadata).
    let singleNodeQuotas: FileClientQuotaStore | null = null;
    if (!config.cluster.enabled) {
      try {
        singleNodeQuotas = await FileClientQuotaStore.open(
          config.broker.dataDir,
          undefined,
          deps.logger.child({ component: 'storage' }),
        );
      } catch (err) {
        await logs.close();
        await ops.close();
        throw err;
      }
    }
    let cluster: ClusterNode | null = null;
    ops.metrics.featureLevelSupported.set(SUPPORTED_FEATURE_LEVEL);
    // A single node is its whole cluster: it uses everything its build supports (cluster mode: the metadata).
    if (!config.cluster.enabled) ops.metrics.clusterFeatureLevel.set(SUPPORTED_FEATURE_LEVEL);
    if (config.cluster.enabled) {
      try {
        cluster = await ClusterNode.start(config, {
          logger: deps.logger,
          ops,
          nowMs: () => clock.nowMs(),
          clusterId: logs.clusterId,
          ...(listenerTls === null ? {} : { probeTls: () => listenerTls!.probe }),
          ...(tls.peer === null ? {} : { peerTls: tls.peer }),
        });
      } catch (err) {
        await logs.close();
        await ops.close();
        throw err;
      }
      // Known already when the metadata snapshot on disk says so: stop before any replica opens.
      const fatal = cluster.fatal;
      if (fatal !== undefined) {
        await cluster.stop();
        await logs.close();
        await ops.close();
        throw new StreamBusError('UNSUPPORTED_VERSION', { operation: 'cluster.start', message: fatal });
      }
    }
    // Checks that ran while the data dir was still being created (disk space) must not hold readiness back.
    await ops.health.refresh();

    const observers = brokerObservers(metrics, logger, clock, ops.onTimeout);
    const shutdownController = new AbortController();
    const self = advertisedListen(config);
    // The single-node catalog reports this broker's address; its port is known once the listener is bound.
    let advertised = { id: config.broker.id, host: self.host, port: self.port, rack: config.broker.rack };
    const replicas =
      cluster === null
        ? null
        : new ReplicaManager({
            brokerId: config.broker.id,
            dataDir: config.broker.dataDir,
            host: cluster.host,
            metadata: cluster.store,
            ...replicaStores(storage, {
              clock,
              logger: deps.logger.child({ component: 'storage' }),
              ...fsyncObserver,
              topicConfigs: (topic) => topicConfigs(cluster.store.snapshotView(), topic),
            }),
            logger: deps.logger,
            nowMs: () => clock.nowMs(),
            batchBytesMax: config.limits.batchBytesMax,
            decompressedBytesMax: storage.decompressedBytesMax,
            proposalTimeoutMs: config.resilience.timeouts.proposalMs,
            ...(metrics === null ? {} : { metrics }),
            onTimeout: ops.onTimeout,
            snapshotTimeoutMs: config.resilience.timeouts.snapshotMs,
            peerAnswering: (brokerId) => cluster.peerAnswering(brokerId),
          });
    hosted = replicas;
    if (replicas !== null) {
      ops.health.register({
        name: 'replicas',
        critical: true,
        // As often as the Raft checks: it holds readiness until the replicas are open, and the default
        // health.check_interval (5 s) would add up to that much to every start. A pass is one look per replica.
        intervalMs: REPLICAS_CHECK_INTERVAL_MS,
        check: async () => {
          const hosted = replicas.replicas();
          return judgeReplicas({
            loaded: replicas.loaded(),
            open: hosted.length,
            led: hosted.filter((r) => r.isLeader()).length,
            underReplicated: replicas.underReplicatedCount(),
          });
        },
      });
    }
    const readBuffers =
      config.storage.readBufferPoolBytes > 0
        ? new ReadBufferPool(config.storage.readBufferPoolBytes)
        : undefined;
    if (readBuffers !== undefined) {
      ops.metrics.addCollectHook(() => ops.metrics.readBufferPoolIdleBytes.set(readBuffers.idleByteCount));
    }
    bindLogSizeMetrics(ops.metrics, function* (): Iterable<SizedPartitionLog> {
      // Single-node topics live in the log manager, replicated ones in the replica manager.
      for (const t of logs.listTopics()) {
        for (const log of logs.partitions(t.name)) yield { topic: t.name, sizeBytes: () => log.sizeBytes() };
      }
      if (replicas !== null) yield* replicas.replicas();
    });
    const clusterCatalog =
      cluster === null || replicas === null
        ? null
        : new ClusterTopicCatalog({
            store: cluster.store,
            replicas,
            brokerId: config.broker.id,
            logger: deps.logger,
            raftLeaderId: () => cluster.status().leaderId,
            heartbeatTimeoutMs: config.resilience.timeouts.heartbeatTimeoutMs,
            logDefaults: logConfigOf(storage),
            peerAnswering: (brokerId) => cluster.peerAnswering(brokerId),
            placementStrategy: config.cluster.placementStrategy,
          });
    const catalog = clusterCatalog ?? new LocalTopicCatalog(logs, () => advertised);
    const clientQuotaStore =
      cluster === null ? singleNodeQuotas! : new MetadataClientQuotaStore(cluster.store, APPLY_WAIT_MS);
    const quotaLimits = new ClientQuotaLimits(config.quotas, () => clientQuotaStore.current());
    const groups = new GroupCoordinator({
      catalog,
      brokerId: config.broker.id,
      config: config.groups,
      clustered: cluster !== null,
      nowMs: () => clock.nowMs(),
      logger: deps.logger,
      ...(metrics === null ? {} : { metrics }),
      // In cluster mode the append is a replica proposal, bounded by resilience.timeouts.proposal.
      onAppendTimeout: () => ops.onTimeout('group.append', config.resilience.timeouts.proposalMs),
    });
    ops.health.register({
      name: 'groups',
      critical: false,
      check: async () => {
        const st = groups.status();
        const message =
          `coordinating ${st.groups} consumer groups on ${st.loaded} __consumer_offsets partitions` +
          (st.loading > 0 ? `, ${st.loading} loading` : '') +
          (st.lastLoadError === null ? '' : `; last load failed: ${st.lastLoadError}`);
        return { status: st.lastLoadError === null ? 'healthy' : 'degraded', message };
      },
    });
    const router = new RequestRouter(
      {
        clock,
        catalog,
        limits: {
          fetchWaitMaxMs: config.limits.fetchWaitMaxMs,
          fetchBytesMax: config.limits.fetchBytesMax,
          decompressedBytesMax: storage.decompressedBytesMax,
          groupSyncWaitMaxMs: config.groups.sessionTimeoutMaxMs,
        },
        readBuffers,
        self: { id: config.broker.id, host: self.host, port: self.port, rack: config.broker.rack },
        // In a cluster, the id recorded in metadata once its feature level allows (setClusterId, proposed by
        // the coordinator); until then, and on a single node, the one this broker's data dir was made with.
        clusterId: () => cluster?.store.snapshotView().clusterId ?? logs.clusterId,
        brokerVersion: BROKER_VERSION,
        observer: observers.dataPlane,
        shutdownSignal: shutdownController.signal,
        clusterInfo:
          cluster === null
            ? singleNodeClusterInfo
            : quorumClusterInfo(cluster, config.resilience.timeouts.heartbeatTimeoutMs),
        ...(cluster === null
          ? {}
          : {
              alterBroker: (brokerId, action, deadline) => cluster.alterBroker(brokerId, action, deadline),
              alterQuorum: (brokerId, action, deadline) => cluster.alterQuorum(brokerId, action, deadline),
              alterPartitionAssignments: (request, deadline) =>
                cluster.alterPartitionAssignments(request, deadline),
            }),
        producerIds: new ProducerIdAllocator(
          cluster === null
            ? new FileProducerIdBlocks(config.broker.dataDir)
            : metadataProducerIdBlocks(cluster.store),
        ),
        groups,
        clientQuotas: { limits: quotaLimits, store: clientQuotaStore },
      },
      observers.requests,
      config.limits.requestTimeoutMs,
      ops.tracing.enabled,
      new ClientQuotas(quotaLimits),
    );
    // Validated at load: a broker.listen that does not parse never gets this far.
    const listen = parseHostPort(config.broker.listen)!;
    const server = new BrokerTcpServer({
      host: listen.host,
      port: listen.port,
      connectionsMax: config.limits.connectionsMax,
      limits: {
        frameBytesMax: config.limits.frameBytesMax,
        inFlightRequestsMax: config.limits.inFlightRequestsPerConnectionMax,
        idleTimeoutMs: config.limits.connectionIdleTimeoutMs,
      },
      router,
      ...(tls.listener === null ? {} : { tls: tls.listener.server }),
      observer: observers.connections,
    });
    let bound: { host: string; port: number };
    try {
      bound = await server.listen();
    } catch (err) {
      await cluster?.stop();
      await logs.close();
      await ops.close();
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'broker.listen',
        cause: err,
        message: `broker.listen ${config.broker.listen}: ${(err as Error).message}`,
      });
    }
    if (self.port === 0) {
      router.setAdvertisedPort(bound.port);
      advertised = { ...advertised, port: bound.port };
    }
    cluster?.startMembership({ host: self.host, port: self.port === 0 ? bound.port : self.port });
    const http = ops.server?.address ?? null;
    const broker = new Broker(
      config,
      clock,
      logger,
      logs,
      server,
      ops,
      shutdownController,
      {
        host: bound.host,
        port: bound.port,
        httpHost: http?.host ?? null,
        httpPort: http?.port ?? null,
      },
      cluster,
    );
    broker.replicas = replicas;
    replicas?.start();
    broker.groups = groups;
    groups.start();
    if (tls.listener !== null || tls.peer !== null) {
      broker.stopTlsReload = watchBrokerTls(
        config,
        (next) => {
          if (next.listener !== null) {
            listenerTls = next.listener;
            server.setTls(next.listener.server);
          }
          if (next.peer !== null) cluster?.setPeerTls(next.peer);
        },
        logger,
      );
    }
    broker.stopRetention = scheduleRetention({
      logs,
      replicas,
      nowMs: () => clock.nowMs(),
      logger,
      intervalMs: config.storage.retentionCheckIntervalMs,
    });
    broker.stopCleaner = scheduleCleaner({
      logs: () => [...logs.cleanableLogs(), ...(replicas?.cleanableLogs() ?? [])],
      nowMs: () => clock.nowMs(),
      keysMax: config.storage.cleanerKeysMax,
      ioBytesPerSec: config.storage.cleanerIoBytesPerSec,
      intervalMs: config.storage.cleanerIntervalMs,
      logger: logger.child({ component: 'log-cleaner' }),
      metrics,
    });
    cluster?.onFatal((reason) => {
      void broker.shutdown('fatal').then(() => deps.onFatal?.(reason));
    });
    logger.info(
      {
        operation: 'start',
        host: bound.host,
        port: bound.port,
        http_port: http?.port ?? null,
        data_dir: config.broker.dataDir,
        topics: logs.listTopics().length,
        ...(cluster === null ? {} : { peer_port: cluster.peerAddress.port }),
        duration_ms: clock.nowMs() - startedAt,
      },
      'broker started',
    );
    return broker;
  }

  get isShuttingDown(): boolean {
    return this.stopping !== null;
  }

  /** The component health registry (checks, cached results): for the broker's parts and for tests. */
  get health(): HealthRegistry {
    return this.ops.health;
  }

  /** Metrics of this broker (the registry /metrics serves). */
  get metrics(): MetricsRegistry {
    return this.ops.metrics;
  }

  get tracing(): TracingHandle {
    return this.ops.tracing;
  }

  isReady(): boolean {
    return this.stopping === null && this.ops.isReady();
  }

  /**
   * Graceful drain (broker-shutdown.ts): the whole shutdown is bounded by shutdown.timeout_ms plus
   * SHUTDOWN_FORCE_GRACE_MS for the close steps once it has run out. Resolves once stopped; never rejects.
   */
  shutdown(reason = 'shutdown'): Promise<ShutdownOutcome> {
    this.stopping ??= drainAndClose(
      {
        timeoutMs: this.config.shutdown.timeoutMs,
        clock: this.clock,
        logger: this.logger,
        ops: this.ops,
        stopPeriodicWork: () => {
          this.stopRetention?.();
          this.stopCleaner?.();
          this.stopTlsReload?.();
        },
        server: this.server,
        shutdownController: this.shutdownController,
        groups: this.groups,
        replicas: this.replicas,
        cluster: this.cluster,
        logs: this.logs,
      },
      reason,
    );
    return this.stopping;
  }
}
