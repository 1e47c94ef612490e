import { join } from 'node:path';
import type { ClientTlsOptions } from '../client/connection-tls.js';
import type { BrokerConfig } from '../config/types.js';
import { parseHostPort } from '../config/validate.js';
import { StreamBusError } from '../errors/index.js';
import { FEATURE } from '../metadata/feature-levels.js';
import { bindMetadataMetrics, MetadataStateMachine, MetadataStore } from '../metadata/index.js';
import { TransportForwarder } from '../metadata/tcp-forwarder.js';
import type { BrokerState } from '../metadata/types.js';
import {
  bindBreakerMetrics,
  dropBreakerMetrics,
  type Logger,
  type MetricsRegistry,
  type OpsStack,
} from '../observability/index.js';
import { withSpan } from '../observability/tracing.js';
import type {
  AlterPartitionAssignmentsRequest,
  BrokerAction,
  QuorumAction,
  QuorumMembership,
} from '../protocol/messages.js';
import type { NodeId } from '../raft/core/types.js';
import { RaftHost } from '../raft/host.js';
import type { RaftNode } from '../raft/node.js';
import type { RaftNodeStatus } from '../raft/node-types.js';
import { LevelRaftStorage } from '../raft/storage/level-storage.js';
import type { PeerTls } from '../raft/transport/peer-sockets.js';
import { type PeerAddress, TcpTransport } from '../raft/transport/tcp-transport.js';
import type { Deadline } from '../resilience/deadline.js';
import { METADATA_DIR } from '../storage/log-manager.js';
import { pingBroker } from './broker-probe.js';
import { alterBrokerState } from './broker-state-change.js';
import { ClusterCoordinator } from './cluster-coordinator.js';
import { registerClusterHealth } from './cluster-health.js';
import { coordinatorConfig } from './coordinator-config.js';
import { DecommissionWatch } from './decommission-watch.js';
import { FeatureLevelFence } from './feature-level-fence.js';
import { LeaderSearch } from './leader-search.js';
import { isVoterOf, latestConfState } from './log-membership.js';
import { runMembership } from './membership.js';
import { bindMetadataRaftMetrics, measuredRaft } from './metadata-raft-metrics.js';
import { alterPartitionAssignments } from './partition-reassignment.js';
import { ProbeBreakers } from './probe-breakers.js';
import { alterQuorum } from './quorum-change.js';
import { changesRegistry, followRegisteredPeers, metadataGroupMembers } from './registered-peers.js';

export const METADATA_GROUP_ID = 'metadata';
/** How long shutdown waits for another voter to take metadata leadership before stopping anyway. */
export const LEADERSHIP_TRANSFER_TIMEOUT_MS = 2_000;
/**
 * A peer broker silent on the Raft transport for longer than this is not answering: keepalives flow every
 * 250 ms on an idle connection, so four in a row were missed (a paused or cut-off broker).
 */
export const PEER_ANSWERING_MS = 1_000;

export interface ClusterNodeDeps {
  readonly logger: Logger;
  readonly ops: OpsStack;
  readonly nowMs: () => number;
  /** The id this broker's data dir was made with: recorded as the cluster's if this broker is first to. */
  readonly clusterId: string;
  /** How the health checker connects to the brokers' client listeners when they serve TLS (broker-tls.ts). */
  readonly probeTls?: () => ClientTlsOptions;
  /** Mutual TLS on the peer link (cluster.peer_tls). */
  readonly peerTls?: PeerTls;
}

/** The peer address other brokers reach this one at (advertised, else the listener with 0.0.0.0 -> 127.0.0.1). */
export function advertisedPeerListen(config: BrokerConfig): PeerAddress {
  const text = config.cluster.advertisedPeerListen ?? config.cluster.peerListen;
  const parsed = parseHostPort(text) ?? { host: '127.0.0.1', port: 9093 };
  const wildcard = isWildcard(parsed.host);
  return { host: wildcard ? '127.0.0.1' : parsed.host, port: parsed.port };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export class ClusterNode {
  private unbind: (() => void)[] = [];
  private readonly membership = new AbortController();
  private membershipLoop: Promise<void> | undefined;
  readonly coordinator: ClusterCoordinator;
  /** This broker's decommissioning: it stops the membership loop, then retires the broker. */
  private readonly decommission: DecommissionWatch;
  /** Stops this broker when its build is older than the cluster's feature level. */
  private readonly featureLevelFence: FeatureLevelFence;
  /** Set when the metadata Raft node stopped on a fatal error (the raft and metadata checks report it). */
  private raftFatal: string | undefined;

  private constructor(
    /** Runs the metadata group and the partition replicas' groups (replica/). */
    readonly host: RaftHost,
    readonly raft: RaftNode,
    readonly store: MetadataStore,
    readonly stateMachine: MetadataStateMachine,
    private readonly storage: LevelRaftStorage,
    private readonly transport: TcpTransport,
    private readonly forwarder: TransportForwarder,
    readonly peerAddress: PeerAddress,
    private readonly logger: Logger,
    private readonly config: BrokerConfig,
    private readonly nowMs: () => number,
    metrics: MetricsRegistry,
    /** The broker's logger (the fields above log as component raft). */
    brokerLogger: Logger,
    onTimeout: (operation: string, timeoutMs: number) => void,
    /** Spans for rebalances (tracing.enabled). */
    tracing: boolean,
    clusterId: string,
    probeTls: (() => ClientTlsOptions) | undefined,
  ) {
    this.decommission = new DecommissionWatch(config.broker.id, stateMachine, logger);
    this.featureLevelFence = new FeatureLevelFence(config.broker.id, stateMachine, logger);
    const coordinatorSettings = coordinatorConfig(config);
    const cb = config.resilience.circuitBreaker;
    const probes = new ProbeBreakers({
      breaker: {
        failureThreshold: cb.failureThreshold,
        successThreshold: cb.successThreshold,
        maxRequestsHalfOpen: cb.maxRequestsHalfOpen,
        // See probe-breakers.ts: short, so a recovered broker is seen again well inside failed_grace.
        openTimeoutMs: coordinatorSettings.detector.probeFailuresMax * coordinatorSettings.probeIntervalMs,
      },
      ping: (broker, timeoutMs, signal) => pingBroker(broker.clientAddress, timeoutMs, signal, probeTls?.()),
      onBreaker: (breaker) => {
        const unbind = bindBreakerMetrics(breaker, metrics, brokerLogger);
        return () => {
          unbind();
          dropBreakerMetrics(breaker, metrics);
        };
      },
    });
    this.unbind.push(() => probes.keepOnly(new Set()));
    this.unbind.push(
      stateMachine.subscribe((change) => {
        if (changesRegistry(change)) probes.keepOnly(new Set(stateMachine.view().brokers.keys()));
      }),
    );
    this.coordinator = new ClusterCoordinator({
      raft,
      store,
      subscribe: (listener) => stateMachine.subscribe(listener),
      probe: (broker, timeoutMs, signal) => probes.probe(broker, timeoutMs, signal),
      silentForMs: (brokerId) => transport.silentForMs(brokerId),
      config: coordinatorSettings,
      nowMs,
      logger: brokerLogger,
      metrics,
      onTimeout,
      ...(tracing ? { spans: withSpan } : {}),
      ...(config.cluster.featureLevelMax > 0 ? { featureLevelMax: config.cluster.featureLevelMax } : {}),
      clusterId,
    });
  }

  /** Opens the metadata log (bootstrapped with the voters on first start), listens for peers, starts Raft. */
  static async start(config: BrokerConfig, deps: ClusterNodeDeps): Promise<ClusterNode> {
    const voters = config.cluster.voters;
    if (voters === null) {
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'cluster.start',
        message: 'cluster.voters is required when cluster.enabled is true',
      });
    }
    const logger = deps.logger.child({ component: 'raft' });
    const id = config.broker.id;
    const founding = voters.some((v) => v.id === id);
    // Only the founding voters bootstrap the log; a joining broker receives it from the leader.
    const storage = await LevelRaftStorage.open(
      join(config.broker.dataDir, METADATA_DIR),
      founding ? voters.map((v) => v.id) : undefined,
    );
    // A broker outside cluster.voters joins through the voters it lists; so does a founding voter whose own
    // log says it no longer votes (log-membership.ts): the others may no longer dial it. One whose log says
    // it votes does so too once it has heard no leader for a while: it may have been removed while it was
    // down (leader-search.ts).
    const joining = !founding || !isVoterOf(latestConfState(storage), id);
    const contacts = voters.filter((v) => v.id !== id);
    const listen = parseHostPort(config.cluster.peerListen) ?? { host: '0.0.0.0', port: 9093 };
    const peers = new Map<NodeId, PeerAddress>(contacts.map((v) => [v.id, { host: v.host, port: v.port }]));
    const transport = new TcpTransport({
      nodeId: id,
      host: listen.host,
      port: listen.port,
      peers,
      connectTimeoutMs: config.resilience.timeouts.connectMs,
      // Per-peer breakers (raft-peer-<id>); their open timeout is the redial backoff's cap, see raft/transport/peer.ts.
      breakerFailureThreshold: config.resilience.circuitBreaker.failureThreshold,
      logger,
      dialsAllPeers: joining,
      acceptsUnknownPeers: founding,
      tls: deps.peerTls ?? null,
      ...(isWildcard(listen.host) ? {} : { localAddress: listen.host }),
    });
    let bound: PeerAddress;
    try {
      bound = await transport.listen();
    } catch (err) {
      await transport.close();
      await storage.close();
      throw new StreamBusError('INVALID_CONFIG', {
        operation: 'cluster.listen',
        cause: err,
        message: `cluster.peer_listen ${config.cluster.peerListen}: ${(err as Error).message}`,
      });
    }
    const search = new LeaderSearch({
      transport,
      contacts: contacts.map((v) => v.id),
      searching: joining,
      searchAfterMs: config.resilience.timeouts.leaderElectionMs,
      logger,
    });
    const stateMachine = new MetadataStateMachine(deps.logger.child({ component: 'metadata' }));
    const forwarder = new TransportForwarder({
      nodeId: id,
      transport,
      handleTimeoutMs: config.resilience.timeouts.proposalMs,
      logger,
      // The registry has every broker's advertised address; cluster.voters the founders' before it does.
      peerAddressOf: (peer) =>
        stateMachine.view().brokers.get(peer)?.peerAddress ?? voters.find((v) => v.id === peer),
      // A joiner may list only followers: it dials the leader they name (tcp-forwarder.ts).
      join: search,
    });
    // One host ticks the metadata group and every partition group on this broker, over one transport.
    const host = new RaftHost({
      nodeId: id,
      transport: forwarder.raftTransport,
      // Until every broker's build knows quiet groups (feature-levels.ts), partition leaders keep heartbeating.
      mayQuiesce: () => stateMachine.featureLevel >= FEATURE.partitionQuiescence,
    });
    const raft = host.createGroup(METADATA_GROUP_ID, {
      storage,
      stateMachine,
      proposalTimeoutMs: config.resilience.timeouts.proposalMs,
      snapshotTimeoutMs: config.resilience.timeouts.snapshotMs,
      onTimeout: deps.ops.onTimeout,
      logger,
      now: deps.nowMs,
    });
    const metrics = deps.ops.metrics;
    const store = new MetadataStore({
      raft: measuredRaft(raft, metrics, deps.nowMs),
      stateMachine,
      forwarder,
      retry: {
        retriesMax: config.resilience.retry.retriesMax,
        baseDelayMs: config.resilience.retry.baseDelayMs,
        maxDelayMs: config.resilience.retry.maxDelayMs,
      },
      attemptTimeoutMs: config.resilience.timeouts.proposalMs,
      leaderWaitMaxMs: config.resilience.timeouts.leaderElectionMs,
      onTimeout: deps.ops.onTimeout,
      breaker: {
        failureThreshold: config.resilience.circuitBreaker.failureThreshold,
        successThreshold: config.resilience.circuitBreaker.successThreshold,
        openTimeoutMs: config.resilience.circuitBreaker.timeoutMs,
        maxRequestsHalfOpen: config.resilience.circuitBreaker.maxRequestsHalfOpen,
      },
      join: search,
      ...(deps.ops.tracing.enabled ? { spans: withSpan } : {}),
    });
    forwarder.setTarget(store);
    const node = new ClusterNode(
      host,
      raft,
      store,
      stateMachine,
      storage,
      transport,
      forwarder,
      // What this broker registers as its peer address: the advertised one when set (a proxy or a NAT in
      // front of the listener), else the address it really bound.
      config.cluster.advertisedPeerListen === null ? bound : advertisedPeerListen(config),
      logger,
      config,
      deps.nowMs,
      metrics,
      deps.logger,
      deps.ops.onTimeout,
      deps.ops.tracing.enabled,
      deps.clusterId,
      deps.probeTls,
    );
    node.observe(deps.ops, deps.logger.child({ component: 'metadata' }));
    try {
      await raft.start();
    } catch (err) {
      await node.closeResources();
      throw err;
    }
    node.unbind.push(search.watch(raft));
    node.coordinator.start();
    logger.info(
      {
        operation: 'start',
        group: METADATA_GROUP_ID,
        peer_host: bound.host,
        peer_port: bound.port,
        advertised_peer: `${node.peerAddress.host}:${node.peerAddress.port}`,
        voters: voters.map((v) => `${v.id}@${v.host}:${v.port}`),
        voter: founding,
        joining,
      },
      'metadata raft started',
    );
    return node;
  }

  /** Why this broker must stop (see onFatal); undefined while it may run. */
  get fatal(): string | undefined {
    return this.featureLevelFence.fatal;
  }

  /**
   * Calls `listener` once this broker must stop: its metadata image shows a cluster feature level above
   * what its build supports (feature-level-fence.ts). Called at once when that is known already.
   */
  onFatal(listener: (reason: string) => void): void {
    this.featureLevelFence.onFatal(listener);
  }

  /**
   * Registers this broker (then marks it alive) and heartbeats until stopped, in the background: the store
   * retries through elections and forwards from followers; a failed round is logged and tried again.
   */
  startMembership(clientAddress: PeerAddress): void {
    if (this.membershipLoop !== undefined) return;
    this.membershipLoop = runMembership({
      store: this.store,
      brokerId: this.config.broker.id,
      clientAddress,
      peerAddress: this.peerAddress,
      rack: this.config.broker.rack,
      intervalMs: this.config.resilience.timeouts.heartbeatIntervalMs,
      nowMs: this.nowMs,
      signal: this.membership.signal,
      logger: this.logger,
      decommissioned: () => this.decommission.decommissioned,
      onRegistered: (version) => this.decommission.registered(version),
    });
  }

  /**
   * An operator's drain, undrain or decommission of a broker (broker-state-change.ts); the coordinator then
   * moves replicas and leadership (and unregisters a decommissioned broker once empty).
   */
  alterBroker(brokerId: number, action: BrokerAction, deadline?: Deadline): Promise<BrokerState> {
    const metadataVoters = (): readonly number[] => {
      const s = this.raft.status();
      return [...s.voters, ...s.votersOutgoing];
    };
    return alterBrokerState(
      { store: this.store, logger: this.logger, metadataVoters },
      brokerId,
      action,
      deadline,
    );
  }

  /** An operator's reassignment or unpin of partitions (partition-reassignment.ts); the coordinator moves them. */
  alterPartitionAssignments(request: AlterPartitionAssignmentsRequest, deadline?: Deadline): Promise<void> {
    return alterPartitionAssignments({ store: this.store, logger: this.logger }, request, deadline);
  }

  status(): RaftNodeStatus {
    return this.raft.status();
  }

  /** An operator's metadata voter change (quorum-change.ts); only the metadata leader makes it. */
  async alterQuorum(brokerId: number, action: QuorumAction, deadline?: Deadline): Promise<QuorumMembership> {
    const membership = await alterQuorum(
      {
        raft: this.raft,
        brokerState: (id) => this.store.snapshotView().brokers.get(id)?.state,
        answering: (id) => this.peerAnswering(id),
      },
      brokerId,
      action,
      deadline,
    );
    this.logger.info(
      { operation: `quorum.${action}`, broker_id: brokerId, voters: membership.voters },
      'metadata quorum changed',
    );
    return membership;
  }

  /** Whether `brokerId`'s Raft traffic arrived within PEER_ANSWERING_MS (metadata and partition groups share it). */
  peerAnswering(brokerId: number): boolean {
    const silentMs = this.peerSilentForMs(brokerId);
    return silentMs !== undefined && silentMs <= PEER_ANSWERING_MS;
  }

  /** Renewed peer-link certificate files (cluster.peer_tls; tls-reload.ts): for new peer connections. */
  setPeerTls(tls: PeerTls): void {
    this.transport.setTls(tls);
  }

  /** Milliseconds since `brokerId`'s Raft traffic last arrived (any group); undefined if it never did. */
  peerSilentForMs(brokerId: number): number | undefined {
    return this.transport.silentForMs(brokerId);
  }

  /**
   * Hands metadata leadership to another voter if this broker leads (bounded by `transferTimeoutMs`: a slow
   * or failed transfer only costs the others one election; 0 skips it, as a shutdown out of time does),
   * then stops Raft and closes the peer listener and the log.
   */
  async stop(transferTimeoutMs = LEADERSHIP_TRANSFER_TIMEOUT_MS): Promise<void> {
    this.membership.abort();
    await this.membershipLoop;
    this.coordinator.stop();
    if (transferTimeoutMs > 0) await this.transferLeadershipAway(transferTimeoutMs);
    this.forwarder.close();
    for (const off of this.unbind) off();
    this.unbind = [];
    await this.closeResources();
    this.logger.info({ operation: 'stop', group: METADATA_GROUP_ID }, 'metadata raft stopped');
  }

  private async transferLeadershipAway(timeoutMs: number): Promise<void> {
    const s = this.raft.status();
    if (s.role !== 'leader') return;
    // The voters now (an operator may have changed them since cluster.voters bootstrapped the group).
    const to = s.voters.find((id) => id !== s.id && this.transport.isConnected(id));
    if (to === undefined) return;
    try {
      await this.raft.transferLeadership(to, { timeoutMs });
      this.logger.info({ operation: 'transfer-leadership', to }, 'metadata leadership handed over');
    } catch (err) {
      this.logger.warn(
        { operation: 'transfer-leadership', to, error: String(err) },
        'metadata leadership transfer failed; stopping anyway',
      );
    }
  }

  private async closeResources(): Promise<void> {
    await this.host.stop();
    await this.transport.close();
    await this.storage.close();
  }

  /**
   * Health checks, /health/raft, raft_*, metadata_*, the circuitbreaker_* metrics of the metadata breaker
   * and the per-peer transport breakers, role-change and breaker state-change logs (`metadataLogger` logs as component metadata).
   */
  private observe(ops: OpsStack, metadataLogger: Logger): void {
    const metrics = ops.metrics;
    this.raft.on('fatal', (err) => {
      this.raftFatal = err.message;
    });
    // Only partition groups go quiet (the metadata group never does).
    this.unbind.push(
      metrics.addCollectHook(() => metrics.partitionReplicasQuiescent.set(this.host.quiescedGroups())),
    );
    this.unbind.push(
      registerClusterHealth(ops, {
        config: this.config,
        raft: this.raft,
        transport: this.transport,
        store: this.store,
        stateMachine: this.stateMachine,
        coordinator: this.coordinator,
        nowMs: this.nowMs,
        raftFatal: () => this.raftFatal,
        leftCluster: () => this.decommission.leftCluster,
        contactVoters: (this.config.cluster.voters ?? [])
          .map((v) => v.id)
          .filter((voter) => voter !== this.config.broker.id),
      }),
    );
    this.unbind.push(this.featureLevelFence.follow(ops.health));
    this.unbind.push(this.decommission.follow(ops.health));
    this.unbind.push(bindMetadataMetrics(this.store, metrics));
    this.unbind.push(bindBreakerMetrics(this.store.breaker, metrics, metadataLogger));
    // One breaker per remote broker, shared by the metadata group and every partition group (one transport).
    // A peer removed (its broker unregistered) takes its breaker's gauge with it (bindings.ts says why).
    this.unbind.push(
      this.transport.observeBreakers((breaker) => {
        const unbind = bindBreakerMetrics(breaker, metrics, this.logger);
        this.unbind.push(unbind);
        return () => {
          unbind();
          dropBreakerMetrics(breaker, metrics);
        };
      }),
    );
    const group = metadataGroupMembers(this.raft);
    this.unbind.push(followRegisteredPeers(this.stateMachine, this.transport, this.config.broker.id, group));
    bindMetadataRaftMetrics(this.raft, metrics);
    // A breaker opened while the group had no leader would otherwise refuse writes (heartbeats, partition
    // leadership) for its whole open timeout after the group recovered.
    this.raft.on('leader-change', ({ leaderId }) => {
      if (leaderId !== 0) this.store.breaker.recovered();
    });
    this.raft.on('fatal', (err) => {
      this.logger.error({ operation: 'fatal', error: String(err) }, 'metadata raft stopped on a fatal error');
    });
  }
}
