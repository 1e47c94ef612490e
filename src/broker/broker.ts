/**
 * One broker process: wires storage, the client listener, the request router, and the operating surface
 * (health, metrics, logs) together, and owns the start and shutdown order.
 *
 * Start: open the data dir (recovering every partition) -> (cluster.enabled: the metadata Raft group, see
 * cluster-node.ts) -> listen for clients -> serve health and metrics -> start periodic work (retention,
 * health checks) -> log "broker started".
 *
 * Shutdown (SIGTERM/SIGINT): every step shares one deadline, shutdown.timeout_ms from the signal:
 *   1. readiness turns 503 (draining) so load balancers stop sending new clients;
 *   2. stop accepting connections;
 *   3. wake long-polling fetches, answer every request already received, close connections;
 *   4. (cluster.enabled) hand each partition's leadership to an in-sync replica and close the replicas, hand
 *      metadata leadership to another voter, stop Raft, close the peer listener;
 *   5. flush and fsync every partition, close the logs (releases the data-dir lock);
 *   6. stop the health and metrics server.
 * When the deadline passes, the step still waiting is named in a warning and the rest is forced: remaining
 * connections are destroyed, leadership handovers are skipped (each group elects), and the close steps
 * (Raft, replicas, logs, ops server) get SHUTDOWN_FORCE_GRACE_MS between them. `shutdown()` then resolves
 * with `forced: true`; the process still exits 0 (see cmd/commands/broker.ts).
 */
import { advertisedListen } from '../config/cli.js';
import type { BrokerConfig } from '../config/types.js';
import { parseHostPort } from '../config/validate.js';
import { StreamBusError } from '../errors/index.js';
import { SUPPORTED_FEATURE_LEVEL } from '../metadata/feature-levels.js';
import { judgeReplicas } from '../observability/cluster-checks.js';
import {
  type HealthRegistry,
  type Logger,
  type MetricsRegistry,
  type OpsStack,
  type OpsStackOptions,
  startOpsStack,
  type TracingHandle,
} from '../observability/index.js';
import { logConfigOf } from '../storage/config.js';
import { LogManager } from '../storage/log-manager.js';
import { ReadBufferPool } from '../storage/read-buffers.js';
import { BROKER_VERSION } from '../version.js';
import { ClusterTopicCatalog } from './cluster-catalog.js';
import { quorumClusterInfo, singleNodeClusterInfo } from './cluster-info.js';
import { ClusterNode, LEADERSHIP_TRANSFER_TIMEOUT_MS } from './cluster-node.js';
import { GroupCoordinator } from './groups/group-coordinator.js';
import { LocalTopicCatalog } from './local-catalog.js';
import { bindLogSizeMetrics, brokerObservers, type SizedPartitionLog } from './observability.js';
import { FileProducerIdBlocks, metadataProducerIdBlocks } from './producer-id-blocks.js';
import { ProducerIdAllocator } from './producer-ids.js';
import { PRODUCER_STATE } from './producer-state.js';
import { LEADERSHIP_HANDOVER_TIMEOUT_MS, ReplicaManager } from './replica/replica-manager.js';
import { replicaStores } from './replica/replica-stores.js';
import { RequestRouter } from './router.js';
import { ShutdownBudget } from './shutdown-budget.js';
import { BrokerTcpServer } from './tcp-server.js';
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

/**
 * After shutdown.timeout_ms has run out, the close steps that are left (replicas, Raft, logs, ops server)
 * get this long between them before the shutdown stops waiting for them.
 */
export const SHUTDOWN_FORCE_GRACE_MS = 1_000;

/** How often the `replicas` health check runs (the Raft checks' pace, see cluster-health.ts). */
const REPLICAS_CHECK_INTERVAL_MS = 250;

/** How a shutdown ended. */
export interface ShutdownOutcome {
  /** shutdown.timeout_ms ran out: the rest was forced. */
  readonly forced: boolean;
  /** The step that was still waiting when the time ran out; null for a full drain. */
  readonly forcedStep: string | null;
  readonly durationMs: number;
}

export class Broker {
  private stopping: Promise<ShutdownOutcome> | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
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
    ops.health.register({
      name: 'partitions',
      critical: true,
      check: async () => ({ status: 'healthy', message: `${logs.listTopics().length} topics loaded` }),
    });
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
            proposalTimeoutMs: config.resilience.timeouts.proposalMs,
            ...(metrics === null ? {} : { metrics }),
            onTimeout: ops.onTimeout,
            snapshotTimeoutMs: config.resilience.timeouts.snapshotMs,
            peerAnswering: (brokerId) => cluster.peerAnswering(brokerId),
          });
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
            }),
        producerIds: new ProducerIdAllocator(
          cluster === null
            ? new FileProducerIdBlocks(config.broker.dataDir)
            : metadataProducerIdBlocks(cluster.store),
        ),
        groups,
      },
      observers.requests,
      config.limits.requestTimeoutMs,
      ops.tracing.enabled,
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
    broker.scheduleRetention();
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

  private scheduleRetention(): void {
    const run = (): void => {
      this.replicas?.applyRetention(this.clock.nowMs()).then(
        (deleted) => {
          if (deleted.length > 0)
            this.logger.info({ operation: 'retention', deleted }, 'retention deleted replica segments');
        },
        (err: unknown) =>
          this.logger.error({ operation: 'retention', error: String(err) }, 'replica retention failed'),
      );
      this.logs.applyRetention(this.clock.nowMs()).then(
        (deleted) => {
          if (deleted.length > 0)
            this.logger.info({ operation: 'retention', deleted }, 'retention deleted segments');
        },
        (err: unknown) =>
          this.logger.error({ operation: 'retention', error: String(err) }, 'retention failed'),
      );
    };
    this.retentionTimer = setInterval(run, this.config.storage.retentionCheckIntervalMs);
    this.retentionTimer.unref();
  }

  /**
   * Graceful drain (see the file comment): the whole shutdown is bounded by shutdown.timeout_ms plus
   * SHUTDOWN_FORCE_GRACE_MS for the close steps once it has run out. Resolves once stopped; never rejects.
   */
  shutdown(reason = 'shutdown'): Promise<ShutdownOutcome> {
    this.stopping ??= this.drainAndClose(reason);
    return this.stopping;
  }

  private async drainAndClose(reason: string): Promise<ShutdownOutcome> {
    const startedAt = this.clock.nowMs();
    const timeoutMs = this.config.shutdown.timeoutMs;
    const budget = new ShutdownBudget(startedAt + timeoutMs, this.clock, SHUTDOWN_FORCE_GRACE_MS);
    const step = async (name: string, work: () => Promise<unknown>): Promise<boolean> => {
      const wasForced = budget.forced;
      const result = await budget.run(name, work(), (err) =>
        this.logger.error(
          { operation: 'shutdown', step: name, error: String(err) },
          `shutdown step ${name} failed; going on`,
        ),
      );
      if (result !== 'timeout') return true;
      if (!wasForced) {
        this.logger.warn(
          { operation: 'shutdown', step: name, timeout_ms: timeoutMs },
          `shutdown.timeout_ms ran out during ${name}; forcing the rest`,
        );
      } else {
        this.logger.error(
          { operation: 'shutdown', step: name, grace_ms: SHUTDOWN_FORCE_GRACE_MS },
          `shutdown step ${name} did not finish in the forced-shutdown grace; not waiting for it`,
        );
      }
      return false;
    };

    this.logger.info({ operation: 'shutdown', reason, timeout_ms: timeoutMs }, 'broker draining');
    this.ops.health.setDraining(true);
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    const stopAccepting = this.server.stopAccepting();
    this.shutdownController.abort();
    // Members waiting in a join or sync are told NOT_COORDINATOR now, so their requests do not hold the drain.
    this.groups?.stop();
    // server.close() (stopAccepting) also waits for a client that never closes its end after ours.
    const drained = await step('connections', () => this.server.drainConnections().then(() => stopAccepting));
    if (!drained) {
      this.server.destroyConnections();
      await step('connections', () => stopAccepting);
    }
    // Replicas hand partition leadership to in-sync replicas (while time is left), then leave the shared
    // Raft host before the metadata group stops it.
    if (this.replicas !== null) {
      const replicas = this.replicas;
      const handoverMs = Math.min(LEADERSHIP_HANDOVER_TIMEOUT_MS, budget.remainingMs());
      await step('replicas', () => replicas.stop(handoverMs));
    }
    if (this.cluster !== null) {
      const cluster = this.cluster;
      const transferMs = Math.min(LEADERSHIP_TRANSFER_TIMEOUT_MS, budget.remainingMs());
      await step('metadata-raft', () => cluster.stop(transferMs));
    }
    await step('logs', () => this.logs.close());
    await step('ops', () => this.ops.close());
    const outcome: ShutdownOutcome = {
      forced: budget.forced,
      forcedStep: budget.forcedStep,
      durationMs: this.clock.nowMs() - startedAt,
    };
    this.logger.info(
      {
        operation: 'shutdown',
        duration_ms: outcome.durationMs,
        forced: outcome.forced,
        ...(outcome.forcedStep === null ? {} : { forced_step: outcome.forcedStep }),
      },
      'broker stopped',
    );
    return outcome;
  }
}
