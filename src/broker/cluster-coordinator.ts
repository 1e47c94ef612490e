/**
 * The cluster coordinator's driver: it runs the pure reducer (src/cluster/coordinator-logic.ts) and does what the
 * reducer asks. It is active only while this broker leads the metadata group (checked every tick, so it
 * starts within one tick of winning leadership and stops within one tick of losing it) and does nothing
 * on followers except keep the reducer's view current.
 *
 * Inputs: applied metadata commands (heartbeats and registrations are timestamped with this broker's clock
 * when they apply here; the brokers' own clocks are never compared), a periodic tick, probe results.
 * Outputs: broker state changes, replica moves and leader changes, all written through the metadata store
 * (retry, breaker and forwarding live there), and learner additions to the metadata Raft group for
 * brokers that are not voters. Rebalance plans are carried out by rebalance-executor.ts.
 */

import { initialCoordinatorState, step } from '../cluster/coordinator-logic.js';
import type {
  CoordinatorAction,
  CoordinatorConfig,
  CoordinatorEvent,
  CoordinatorState,
} from '../cluster/coordinator-types.js';
import { toClusterView } from '../cluster/metadata-view.js';
import { StreamBusError } from '../errors/index.js';
import type { MetadataChange } from '../metadata/state-machine.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BrokerRecord } from '../metadata/types.js';
import type { Logger, MetricsRegistry } from '../observability/index.js';
import type { SpanRunner } from '../observability/tracing.js';
import type { ConfChange, NodeId } from '../raft/core/types.js';
import { FeatureLevelFinalizer } from './feature-level-finalizer.js';
import { RebalanceExecutor } from './rebalance-executor.js';

/** How often the driver ticks the reducer and checks leadership. */
export const COORDINATOR_TICK_MS = 100;
/** A refused learner change is proposed again after this (not after the whole proposal timeout). */
const MEMBERSHIP_RETRY_MS = 300;

/** The writes the coordinator makes (a narrow view of MetadataStore, so tests can fake it). */
export type CoordinatorStore = Pick<
  MetadataStore,
  | 'snapshotView'
  | 'updateBroker'
  | 'unregisterBroker'
  | 'updateReplicaSet'
  | 'updateLeader'
  | 'updateInSyncSets'
  | 'recordMove'
  | 'completeMove'
  | 'finalizeFeatureLevel'
  | 'setClusterId'
>;

export interface CoordinatorRaft {
  status(): {
    readonly id: NodeId;
    readonly role: string;
    readonly term: number;
    /** Milliseconds since the metadata commit index last moved (undefined before the first commit). */
    readonly lastCommitAgeMs: number | undefined;
    readonly voters: readonly NodeId[];
    readonly votersOutgoing: readonly NodeId[];
    readonly learners: readonly NodeId[];
  };
  proposeConfChange(cc: ConfChange, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<unknown>;
}

export interface CoordinatorDeps {
  readonly raft: CoordinatorRaft;
  readonly store: CoordinatorStore;
  /** Applied metadata changes, synchronously after each apply (MetadataStateMachine.subscribe). */
  readonly subscribe: (listener: (change: MetadataChange) => void) => () => void;
  /** The health checker's ping: resolves true when the broker answered within `timeoutMs`. */
  readonly probe: (broker: BrokerRecord, timeoutMs: number, signal: AbortSignal) => Promise<boolean>;
  /**
   * How long ago this broker's Raft transport last received bytes from `brokerId` (undefined: never, or not
   * a peer). A broker heard there is not marked failed for late heartbeats. Absent: heartbeats alone count.
   */
  readonly silentForMs?: (brokerId: NodeId) => number | undefined;
  /** Called before a learner is added, so the transport can reach it. */
  readonly onLearnerAdded?: (broker: BrokerRecord) => void;
  readonly config: CoordinatorConfig;
  readonly nowMs: () => number;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  readonly tickMs?: number;
  /** Counts and logs a rebalance that ran out of config.rebalanceTimeoutMs (`cluster.rebalance`). */
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
  /** A `streambus.rebalance` span per executed plan (withSpan); absent when tracing is off. */
  readonly spans?: SpanRunner;
  /** The operator's hold on the cluster feature level (cluster.feature_level_max); absent: none. */
  readonly featureLevelMax?: number;
  /** What this coordinator records as the cluster's id if none is yet (FEATURE.clusterId); absent: nothing. */
  readonly clusterId?: string;
}

export interface CoordinatorStatus {
  /** The driver is ticking (between start() and stop()). */
  readonly running: boolean;
  /** When the driver last ticked (null before the first tick): a stalled driver stops moving it. */
  readonly lastTickMs: number | null;
  readonly active: boolean;
  readonly activeSinceMs: number | null;
  readonly lastRebalanceMs: number | null;
  readonly rebalancesInProgress: number;
  /** When the oldest rebalance still in progress started (null when none is): a stuck one stays here. */
  readonly oldestRebalanceStartedMs: number | null;
  readonly imbalanceScore: number | null;
  readonly lastError: string | null;
}

export class ClusterCoordinator {
  private state: CoordinatorState;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = new AbortController();
  /** Aborted when leadership is lost: in-flight probes and writes of this term stop. */
  private term = new AbortController();
  /** The metadata Raft term this coordinator leads in; every write it makes is fenced by it. */
  private leaderTerm = 0;
  private viewDirty = true;
  private readonly pendingBeats = new Set<number>();
  private readonly pendingRegistrations = new Set<number>();
  private readonly rebalances: RebalanceExecutor;
  private readonly featureLevels: FeatureLevelFinalizer;
  /** The registry changed (or leadership began) since the feature level was last looked at. */
  private featureCheckDue = true;
  private lastTickMs: number | null = null;
  private lastError: string | null = null;
  /**
   * When each learner change may be proposed again (key: broker id to add, minus the id to remove): after the
   * proposal timeout once proposed, sooner once refused (e.g. another membership change was still applying).
   */
  private readonly membershipRetryAtMs = new Map<number, number>();
  /** Broker id -> when this coordinator first saw it failed (its own clock). */
  private readonly failedSinceMs = new Map<number, number>();
  private readonly log: Logger;

  constructor(private readonly deps: CoordinatorDeps) {
    this.state = initialCoordinatorState(deps.config);
    this.log = deps.logger.child({ component: 'coordinator' });
    this.rebalances = new RebalanceExecutor(
      { ...deps, leaderTerm: () => this.leaderTerm },
      this.log,
      (message) => {
        this.lastError = message;
      },
    );
    this.featureLevels = new FeatureLevelFinalizer({
      store: deps.store,
      levelMax: deps.featureLevelMax,
      log: this.log,
      ...(deps.clusterId === undefined ? {} : { clusterId: deps.clusterId }),
    });
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.unsubscribe = this.deps.subscribe((change) => this.onChange(change));
    this.timer = setInterval(() => this.tick(), this.deps.tickMs ?? COORDINATOR_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.stopped.abort();
    this.term.abort();
    this.clearGauges();
  }

  status(): CoordinatorStatus {
    return {
      running: this.timer !== undefined,
      lastTickMs: this.lastTickMs,
      active: this.state.role === 'leader',
      activeSinceMs: this.state.leaderSinceMs,
      lastRebalanceMs: this.state.lastRebalanceMs,
      rebalancesInProgress: this.rebalances.inProgress,
      oldestRebalanceStartedMs: this.rebalances.oldestStartedMs(),
      imbalanceScore: this.state.imbalanceScore,
      lastError: this.lastError,
    };
  }

  /** One driver step; public so tests can step without timers. */
  tick(): void {
    const now = this.deps.nowMs();
    this.lastTickMs = now;
    const raft = this.deps.raft.status();
    const leading = raft.role === 'leader';
    // Lost and won again between two ticks: the old term's work stops, and this term starts afresh.
    if (leading && this.state.role === 'leader' && raft.term !== this.leaderTerm) this.loseLeadership(now);
    if (leading && this.state.role !== 'leader') this.becomeLeader(now, raft.term);
    else if (!leading && this.state.role === 'leader') this.loseLeadership(now);
    if (this.viewDirty) {
      this.viewDirty = false;
      this.dispatch({ type: 'metadataApplied', nowMs: now, view: this.view() });
      if (this.state.role === 'leader') this.reconcileLearners();
    }
    if (this.state.role !== 'leader') {
      this.pendingBeats.clear();
      this.pendingRegistrations.clear();
      return;
    }
    for (const brokerId of this.pendingRegistrations)
      this.dispatch({ type: 'brokerRegistered', nowMs: now, brokerId });
    this.pendingRegistrations.clear();
    if (this.pendingBeats.size > 0) {
      const beats = [...this.pendingBeats].map((brokerId) => ({ brokerId }));
      this.pendingBeats.clear();
      this.dispatch({ type: 'heartbeats', nowMs: now, beats });
    }
    this.dispatch({ type: 'tick', nowMs: now, ...commitAge(raft.lastCommitAgeMs), ...this.heardFrom(now) });
    this.rebalances.adoptRecordedMoves(this.term.signal);
    if (this.featureCheckDue) {
      this.featureCheckDue = false;
      this.featureLevels.check({ signal: this.term.signal, leaderTerm: this.leaderTerm });
    }
    this.updateGauges();
  }

  private onChange(change: MetadataChange): void {
    this.viewDirty = true;
    // Registrations, heartbeats (they carry each broker's supported level) and failed finalizations.
    this.featureCheckDue = true;
    if (change.kind !== 'applied' || !change.result.ok) return;
    const c = change.command;
    if (c.type === 'heartbeat') {
      const unknown = new Set(change.result.unknownBrokerIds ?? []);
      for (const b of c.beats) if (!unknown.has(b.brokerId)) this.pendingBeats.add(b.brokerId);
    } else if (c.type === 'registerBroker') {
      this.pendingRegistrations.add(c.brokerId);
    } else if (c.type === 'updateBroker' && c.state === 'alive') {
      // A broker marking itself alive after registering is its first heartbeat.
      this.pendingBeats.add(c.brokerId);
    }
  }

  private becomeLeader(now: number, term: number): void {
    this.term = new AbortController();
    this.featureCheckDue = true;
    this.leaderTerm = term;
    this.viewDirty = false;
    this.dispatch({ type: 'becameLeader', nowMs: now, view: this.view() });
    this.log.info({ operation: 'coordinator-start' }, 'cluster coordinator started on the metadata leader');
    this.reconcileLearners();
  }

  private loseLeadership(now: number): void {
    this.term.abort();
    this.dispatch({ type: 'lostLeadership', nowMs: now });
    this.membershipRetryAtMs.clear();
    this.clearGauges();
    this.log.info({ operation: 'coordinator-stop' }, 'cluster coordinator stopped: metadata leadership lost');
  }

  private view() {
    const view = this.deps.store.snapshotView();
    const now = this.deps.nowMs();
    for (const b of view.brokers.values()) {
      if (b.state !== 'failed') this.failedSinceMs.delete(b.id);
      else if (!this.failedSinceMs.has(b.id)) this.failedSinceMs.set(b.id, now);
    }
    for (const id of this.failedSinceMs.keys()) if (!view.brokers.has(id)) this.failedSinceMs.delete(id);
    return toClusterView(view, {
      heartbeatTimeoutMs: this.deps.config.detector.heartbeatTimeoutMs,
      failedSinceMs: this.failedSinceMs,
    });
  }

  private dispatch(event: CoordinatorEvent): void {
    const { state, actions } = step(this.state, event);
    this.state = state;
    for (const action of actions) void this.execute(action);
  }

  private heardFrom(now: number): { heardFromMs?: Record<number, number> } {
    const silentFor = this.deps.silentForMs;
    if (silentFor === undefined) return {};
    const heardFromMs: Record<number, number> = {};
    for (const id of this.deps.store.snapshotView().brokers.keys()) {
      const ms = silentFor(id);
      if (ms !== undefined) heardFromMs[id] = now - ms;
    }
    return { heardFromMs };
  }

  private async execute(action: CoordinatorAction): Promise<void> {
    const signal = this.term.signal;
    const writes = { signal, leaderTerm: this.leaderTerm };
    try {
      switch (action.type) {
        case 'markBrokerFailed':
          this.log.warn(
            { operation: 'mark-failed', broker_id: action.brokerId, cause: action.cause },
            'broker failed',
          );
          await this.deps.store.updateBroker({ brokerId: action.brokerId, state: 'failed' }, writes);
          return;
        case 'markBrokerAlive':
          this.log.info(
            { operation: 'mark-alive', broker_id: action.brokerId, cause: action.cause },
            'broker alive',
          );
          await this.deps.store.updateBroker({ brokerId: action.brokerId, state: 'alive' }, writes);
          return;
        case 'unregisterBroker':
          await this.deps.store.unregisterBroker(action.brokerId, writes);
          return;
        case 'probeBroker':
          return await this.probe(action.brokerId, action.timeoutMs, signal);
        case 'proposeReplicaMoves':
        case 'proposeLeaderChanges':
          return await this.rebalances.execute(action, signal);
      }
    } catch (err) {
      if (signal.aborted) return;
      this.lastError = `${action.type}: ${String(err)}`;
      this.log.warn({ operation: action.type, error: String(err) }, 'coordinator action failed');
    }
  }

  private async probe(brokerId: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const broker = this.deps.store.snapshotView().brokers.get(brokerId);
    let ok = false;
    if (broker !== undefined) {
      try {
        ok = await this.deps.probe(broker, timeoutMs, signal);
      } catch {
        ok = false;
      }
    }
    if (signal.aborted) return;
    if (!ok) this.log.debug({ operation: 'probe', broker_id: brokerId }, 'broker did not answer its probe');
    this.dispatch({ type: 'probeResult', nowMs: this.deps.nowMs(), brokerId, ok });
  }

  /**
   * Brokers outside the metadata voters join the group as learners (they replicate the metadata log and
   * serve local reads, never vote); a broker that was unregistered leaves it.
   */
  private reconcileLearners(): void {
    const status = this.deps.raft.status();
    const members = new Set([...status.voters, ...status.votersOutgoing, ...status.learners]);
    const view = this.deps.store.snapshotView();
    const now = this.deps.nowMs();
    for (const broker of view.brokers.values()) {
      if (members.has(broker.id) || broker.state === 'decommissioned') continue;
      if ((this.membershipRetryAtMs.get(broker.id) ?? 0) > now) continue;
      this.deps.onLearnerAdded?.(broker);
      this.log.info(
        { operation: 'add-learner', broker_id: broker.id },
        'adding broker to the metadata group as learner',
      );
      this.proposeConf({ type: 'add-learner', nodeId: broker.id }, broker.id, now);
    }
    for (const id of status.learners) {
      if (view.brokers.has(id)) continue;
      if ((this.membershipRetryAtMs.get(-id) ?? 0) > now) continue;
      this.log.info(
        { operation: 'remove-learner', broker_id: id },
        'removing unregistered broker from the metadata group',
      );
      this.proposeConf({ type: 'remove', nodeId: id }, -id, now);
    }
  }

  /** Proposes `cc` (tracked under `key` in membershipRetryAtMs); a refusal is tried again shortly. */
  private proposeConf(cc: ConfChange, key: number, now: number): void {
    const signal = this.term.signal;
    const timeoutMs = this.deps.config.proposalTimeoutMs;
    this.membershipRetryAtMs.set(key, now + timeoutMs);
    this.deps.raft.proposeConfChange(cc, { signal, timeoutMs }).catch((err: unknown) => {
      if (signal.aborted) return;
      this.membershipRetryAtMs.set(key, this.deps.nowMs() + MEMBERSHIP_RETRY_MS);
      // Another change still applying is routine (an operator's voter change, a learner just added).
      const busy = err instanceof StreamBusError && err.code === 'CONFIG_CHANGE_IN_PROGRESS';
      if (!busy) this.lastError = `${cc.type} ${cc.nodeId}: ${String(err)}`;
      this.log[busy ? 'debug' : 'warn'](
        { operation: cc.type, broker_id: cc.nodeId, error: String(err) },
        'membership change failed; trying again shortly',
      );
    });
  }

  private updateGauges(): void {
    const metrics = this.deps.metrics;
    const view = this.state.view;
    if (metrics === undefined || view === null) return;
    metrics.clusterBrokersActive.set(view.brokers.filter((b) => b.state === 'alive').length);
    metrics.clusterPartitionsTotal.set(view.topics.reduce((n, t) => n + t.partitions.length, 0));
    if (this.state.imbalanceScore !== null) metrics.clusterImbalanceScore.set(this.state.imbalanceScore);
  }

  /**
   * Back to the initial 0 of a broker that never led: only the coordinator on the metadata leader keeps
   * these current, so a former leader's last values would otherwise stay and a max() across brokers (the
   * dashboards, StreamBusMetadataVotersMissing) would show a false imbalance or a broker count long gone.
   */
  private clearGauges(): void {
    const metrics = this.deps.metrics;
    if (metrics === undefined) return;
    metrics.clusterBrokersActive.reset();
    metrics.clusterPartitionsTotal.reset();
    metrics.clusterImbalanceScore.reset();
  }
}

function commitAge(ms: number | undefined): { commitAgeMs?: number } {
  return ms === undefined ? {} : { commitAgeMs: ms };
}
