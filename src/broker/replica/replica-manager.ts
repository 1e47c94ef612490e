/**
 * The partition replicas this broker hosts, kept in step with the metadata store (cluster mode):
 *
 * - **Open / close**: a replica for every partition whose replica list names this broker; one of a deleted
 *   topic is closed and its data deleted at once. One moved away keeps voting until its group has removed
 *   it (it retires: the replacement joins as a learner, catches up and is promoted first), then closes. A
 *   topic's partitions are Raft groups named by topic incarnation (`p/<topic>/<partition>/<createdVersion>`),
 *   so a deleted and re-created topic never meets its old replicas.
 * - **Bootstrap**: a replica opening an empty log for a partition whose leader epoch is still 0 (nothing
 *   changed since the topic was created) is a founding member: its log starts with the membership naming
 *   the replicas, as every other founding member's does. Any other empty replica (added by a move, or
 *   opened after the group's first leader was published) starts empty and receives the log from the leader.
 * - **Leadership**: the Raft group decides. A replica that wins publishes itself as the partition's leader
 *   in metadata (compare-and-set on the leader epoch) so clients find it; when the coordinator names another
 *   replica (preferred leader, balancing), the leader transfers leadership to it.
 * - **Membership**: the leader makes its group's voters match the metadata replica list, one change at a
 *   time (add the new replica first, then remove the old one).
 *   What a leader does for these two is in leader-steering.ts; how it gives leadership up (handover at
 *   shutdown, stepping down when its commits stall on its own links) in leader-exits.ts.
 *
 * - **Deleted records**: the log start floor DeleteRecords recorded for a partition (`logStartFloor`) is
 *   handed to its store before the replica opens and again on every change, so no replica, restarted,
 *   elected or new, serves the records below it.
 *
 * Reconciling is coalesced (a burst of metadata changes is one pass) and never runs twice at once; a failed
 * step is logged and retried on the next change or after `retryIntervalMs`.
 */
import { join } from 'node:path';
import { StreamBusError } from '../../errors/index.js';
import type { MetadataView } from '../../metadata/state.js';
import type { MetadataStore } from '../../metadata/store.js';
import type { PartitionRecord, TopicRecord } from '../../metadata/types.js';
import type { Logger, MetricsRegistry } from '../../observability/index.js';
import type { NodeId } from '../../raft/core/types.js';
import type { RaftHost } from '../../raft/host.js';
import { compacts, type LogConfig } from '../../storage/config.js';
import { isCleanableLog, type NamedCleanableLog } from '../../storage/log-cleaner.js';
import { REPLICAS_DIR } from '../../storage/log-manager.js';
import type { PartitionStore } from '../../storage/partition-store.js';
import { topicConfigs } from '../topic-configs.js';
import { openHostedReplica } from './hosted-replica.js';
import { checkLeaders } from './leader-checks.js';
import { COMMIT_STALL_STEP_DOWN_MS, CommitStallWatch, handOverLeadership } from './leader-exits.js';
import { freshSteering, LeaderSteering, recordOf, type SteeredReplica } from './leader-steering.js';
import type { PartitionReplica } from './partition-replica.js';
import { type PartitionRef, ReconcileSchedule } from './reconcile-schedule.js';
import { StrayReplicaSweeper } from './stray-replicas.js';

export interface OpenStoreRequest {
  readonly dir: string;
  readonly topic: TopicRecord;
  readonly partition: number;
  /** Founding voters when this replica bootstraps a brand-new group; undefined to start empty. */
  readonly bootstrapVoters: readonly NodeId[] | undefined;
}

export interface ReplicaManagerDeps {
  readonly brokerId: number;
  readonly dataDir: string;
  readonly host: RaftHost;
  readonly metadata: Pick<
    MetadataStore,
    'snapshotView' | 'updateLeader' | 'updateInSyncSets' | 'stateMachine' | 'readLinearizable'
  >;
  /** Opens (creating or recovering) a partition's store; `isEmpty` tells whether the dir held nothing. */
  readonly openStore: (request: OpenStoreRequest) => Promise<PartitionStore>;
  /** Whether a store dir already holds a log (decides bootstrap). */
  readonly storeExists: (dir: string) => Promise<boolean>;
  readonly removeStore: (dir: string) => Promise<void>;
  /** Every replica folder on disk, for the stray sweep (stray-replicas.ts); absent: no sweep. */
  readonly listStoreDirs?: () => Promise<string[]>;
  /**
   * A topic's log settings (broker defaults, cluster defaults, overrides): handed to its open stores when a
   * config change reaches metadata. Absent: stores keep what they opened with.
   */
  readonly storeConfig?: (topic: TopicRecord) => LogConfig;
  readonly logger: Logger;
  readonly nowMs: () => number;
  readonly batchBytesMax: number;
  /** What a batch's records may decompress to (decompressedRecordsBytesMax); default 100 MiB. */
  readonly decompressedBytesMax?: number;
  readonly proposalTimeoutMs: number;
  readonly retryIntervalMs?: number;
  /** Leadership is not transferred to the same broker again sooner than this (another one: at once). */
  readonly transferBackoffMs?: number;
  /** Whether a broker's Raft traffic arrived lately (LeaderSteeringDeps.peerAnswering). */
  readonly peerAnswering?: (brokerId: NodeId) => boolean;
  /** How often leaders recompute their in-sync replicas and publish changes. */
  readonly isrCheckIntervalMs?: number;
  /** A replica moved away closes after this long even if its group never removed it (tests shorten it). */
  readonly retiringReplicaMaxMs?: number;
  readonly replicaLagTimeMaxMs?: number;
  /** A leader whose commits stall this long on its followers' side steps down (leader-exits.ts). */
  readonly commitStallStepDownMs?: number;
  readonly metrics?: MetricsRegistry;
  /** Reported to onTimeout when taking or installing a partition snapshot takes longer. */
  readonly snapshotTimeoutMs?: number;
  /** Counts and logs timeouts (the ops stack's onTimeout): replica appends, snapshots. */
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
}

interface Hosted extends SteeredReplica {
  readonly key: string;
  readonly dir: string;
  readonly store: PartitionStore;
  /** The topic's effective configs last handed to the store (JSON), to reconfigure only on a change. */
  appliedConfigs: string | undefined;
  /** The replica's batch size limit (max_message_bytes), updated with the configs. */
  readonly limits: { batchBytesMax: number; keysRequired: boolean };
  /** Since when metadata no longer names this broker for the partition (moved away); undefined otherwise. */
  retiringSinceMs: number | undefined;
}

/**
 * Longest a replica moved away keeps voting in its group. The leader removes it once the replacement is
 * promoted, but a removed replica may never learn of it (the leader stops sending to it), so it also closes
 * after this.
 */
export const RETIRING_REPLICA_MAX_MS = 60_000;

/** How long shutdown waits for each partition's leadership handover. */
export const LEADERSHIP_HANDOVER_TIMEOUT_MS = 2_000;

/**
 * Replicas a reconcile pass opens at once. An open is mostly waiting on the disk (recovery reads, hard state
 * and snapshot writes with their fsyncs): one after another, a broker restarting with 300 replicas took 20 s
 * to open them all, and every follower it holds stayed behind until its turn. A bound, because each open
 * also reads a segment tail and starts a Raft group.
 */
export const REPLICA_OPENS_CONCURRENT_MAX = 8;

/** When a new group's preferred leader campaigns, from its replica's opening. */
const CAMPAIGN_RETRIES_MS = [0, 150, 400, 800];

export class ReplicaManager {
  private readonly hosted = new Map<string, Hosted>();
  private readonly log: Logger;
  private readonly reconcile: ReconcileSchedule;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private isrTimer: NodeJS.Timeout | null = null;
  private underReplicated = 0;

  private readonly steering: LeaderSteering;
  private readonly stallWatch: CommitStallWatch;
  private readonly stray: StrayReplicaSweeper | undefined;

  constructor(private readonly deps: ReplicaManagerDeps) {
    this.log = deps.logger.child({ component: 'replicas' });
    this.reconcile = new ReconcileSchedule({
      fullPass: () => this.reconcileOnce(),
      steerPartitions: (partitions) => this.steerPartitions(partitions),
      onFullPassError: (err) => {
        this.log.error(
          { operation: 'reconcile', error: String(err) },
          'replica reconcile failed; will retry',
        );
        this.retryLater();
      },
    });
    this.steering = new LeaderSteering({
      brokerId: deps.brokerId,
      metadata: deps.metadata,
      nowMs: deps.nowMs,
      transferBackoffMs: deps.transferBackoffMs ?? 10_000,
      ...(deps.peerAnswering === undefined ? {} : { peerAnswering: deps.peerAnswering }),
      log: this.log,
      view: () => this.view(),
      schedule: () => this.schedule(),
      retryLater: () => this.retryLater(),
    });
    const stallMs = deps.commitStallStepDownMs ?? COMMIT_STALL_STEP_DOWN_MS;
    this.stallWatch = new CommitStallWatch({
      stallMs,
      log: this.log,
      onStepDown: () => deps.metrics?.partitionLeaderStepDownsTotal.inc(),
    });
    const { listStoreDirs } = deps;
    const schedule = () => this.schedule();
    this.stray =
      listStoreDirs && new StrayReplicaSweeper({ ...deps, listStoreDirs, schedule, log: this.log });
  }

  private view(): MetadataView {
    return this.deps.metadata.snapshotView();
  }

  start(): void {
    if (this.unsubscribe !== null || this.stopped) return;
    this.unsubscribe = this.deps.metadata.stateMachine.subscribe((change) =>
      this.reconcile.onMetadataChange(change),
    );
    this.schedule();
    this.isrTimer = setInterval(() => this.checkInSync(), this.deps.isrCheckIntervalMs ?? 500);
    this.isrTimer.unref();
    this.stray?.start();
  }

  /**
   * Stops reconciling, hands the leadership of every partition led here to an in-sync replica (bounded by
   * `handoverTimeoutMs`: a slow handover only costs that group an election; 0 skips the handovers, as a
   * shutdown out of time does), then closes every replica and store.
   */
  async stop(handoverTimeoutMs = LEADERSHIP_HANDOVER_TIMEOUT_MS): Promise<void> {
    this.stopped = true;
    const reconciling = this.reconcile.stop(); // no new pass starts
    this.stray?.stop();
    if (handoverTimeoutMs > 0) {
      const o = { brokerId: this.deps.brokerId, nowMs: this.deps.nowMs(), timeoutMs: handoverTimeoutMs };
      await handOverLeadership(this.hosted.values(), { ...o, log: this.log });
    }
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.isrTimer !== null) clearInterval(this.isrTimer);
    await reconciling;
    await Promise.allSettled([...this.hosted.values()].map((h) => this.closeHosted(h)));
    this.hosted.clear();
  }

  /** The replica of `topic`/`partition` hosted here, if open. */
  replica(topic: string, partition: number): PartitionReplica | undefined {
    const view = this.view();
    const t = view.topics.get(topic);
    if (t === undefined) return undefined;
    return this.hosted.get(keyOf(topic, partition, t.createdVersion))?.replica;
  }

  /** Every open replica (metrics, health, tests). */
  replicas(): PartitionReplica[] {
    return [...this.hosted.values()].map((h) => h.replica);
  }

  /**
   * Retention on every hosted replica: whole segments per the topic's retention, never past what the
   * replica's group has committed and snapshotted (a lagging follower then catches up by snapshot).
   */
  async applyRetention(
    nowMs: number,
  ): Promise<{ topic: string; partition: number; deletedSegments: number }[]> {
    const out: { topic: string; partition: number; deletedSegments: number }[] = [];
    for (const h of [...this.hosted.values()]) {
      const deletedSegments = await this.retain(h, nowMs);
      if (deletedSegments > 0) out.push({ topic: h.topic, partition: h.partition, deletedSegments });
    }
    return out;
  }

  private async retain(h: Hosted, nowMs: number): Promise<number> {
    const floorIndex = Math.min(h.store.snapshot().metadata.index, h.replica.node.status().commitIndex);
    return (await h.store.applyRetention({ floorIndex, nowMs })).deletedSegments;
  }

  /**
   * DeleteRecords committed a log start floor for a partition led here: its log takes it now (not at the next
   * reconcile) and frees the segments below it (not at the next retention pass). Returns the log start.
   */
  advanceLogStart(topic: string, partition: number, offset: number): number {
    const view = this.view();
    const t = view.topics.get(topic);
    const h = t === undefined ? undefined : this.hosted.get(keyOf(topic, partition, t.createdVersion));
    if (h === undefined) {
      throw new StreamBusError('NOT_LEADER', {
        operation: 'delete_records',
        message: `${topic}-${partition} has no replica here any more`,
        metadata: { topic, partition },
      });
    }
    const logStart = h.store.advanceLogStart(offset);
    this.retain(h, this.deps.nowMs()).catch((err: unknown) =>
      this.log.warn(
        { operation: 'retention', topic, partition, error: String(err) },
        'freeing segments below the log start failed (the next retention pass tries again)',
      ),
    );
    return logStart;
  }

  /** Every hosted replica's log the log cleaner can work on (each replica cleans its own copy). */
  cleanableLogs(): NamedCleanableLog[] {
    return [...this.hosted.values()].flatMap((h) =>
      isCleanableLog(h.store) ? [{ topic: h.topic, partition: h.partition, log: h.store }] : [],
    );
  }

  /** Resolves once no reconcile is pending or running. */
  settled(): Promise<void> {
    return this.reconcile.settled();
  }

  private schedule(): void {
    if (!this.stopped) this.reconcile.full();
  }

  /**
   * Steers the hosted replicas of `partitions` against the current metadata; false (nothing done) when one of
   * them is not open here or not assigned here any more.
   */
  private steerPartitions(partitions: readonly PartitionRef[]): boolean {
    const view = this.view();
    const steered: [Hosted, PartitionRecord][] = [];
    for (const { topic, partition } of partitions) {
      const t = view.topics.get(topic);
      const p = t?.partitions[partition];
      if (t === undefined || p === undefined || !p.replicas.includes(this.deps.brokerId)) return false;
      const h = this.hosted.get(keyOf(topic, partition, t.createdVersion));
      if (h === undefined) return false;
      steered.push([h, p]);
    }
    for (const [h, p] of steered) this.steering.steer(h, view, p);
    return true;
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.schedule();
    }, this.deps.retryIntervalMs ?? 2_000);
    this.retryTimer.unref();
  }

  private async reconcileOnce(): Promise<void> {
    const view = this.view();
    const wanted = new Map<string, { topic: TopicRecord; p: PartitionRecord }>();
    for (const topic of view.topics.values()) {
      for (const p of topic.partitions) {
        if (p.replicas.includes(this.deps.brokerId)) {
          wanted.set(keyOf(topic.name, p.partition, topic.createdVersion), { topic, p });
        }
      }
    }
    const failures: unknown[] = [];
    for (const [key, h] of this.hosted) {
      if (wanted.has(key)) {
        h.retiringSinceMs = undefined;
        continue;
      }
      if (this.keepsRetiring(h, view)) continue;
      try {
        await this.closeHosted(h);
        this.hosted.delete(key);
        await this.deps.removeStore(h.dir);
        this.log.info(
          { operation: 'close', topic: h.topic, partition: h.partition },
          'replica closed and its data removed (no longer assigned here)',
        );
      } catch (err) {
        failures.push(err);
      }
    }
    const work = [...wanted];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < work.length && !this.stopped) {
        const [key, { topic, p }] = work[next++]!;
        try {
          const h = this.hosted.get(key) ?? (await this.open(key, topic, p));
          this.applyConfigs(h, view, topic);
          if (p.logStartFloor !== undefined) h.store.advanceLogStart(p.logStartFloor);
          this.steering.steer(h, view, p);
        } catch (err) {
          failures.push(err);
        }
      }
    };
    await Promise.all(Array.from({ length: REPLICA_OPENS_CONCURRENT_MAX }, worker));
    if (this.stopped) return;
    if (failures.length > 0) throw failures[0];
    await this.stray?.sweepIfDue(view.version, () => {
      const keep = new Set([...wanted.values()].map(({ topic, p }) => this.dirOf(topic, p.partition)));
      for (const h of this.hosted.values()) keep.add(h.dir);
      return keep;
    });
  }

  private dirOf(topic: TopicRecord, partition: number): string {
    return join(this.deps.dataDir, REPLICAS_DIR, `${topic.name}-${partition}-${topic.createdVersion}`);
  }

  /**
   * Whether a replica metadata no longer names stays open, voting, for now. Closing a replica moved away at
   * once ran its group with an unreachable voter until the replacement was promoted: one more failure then
   * stalled the partition. It stays until its own group configuration drops it (the leader removes it
   * after promoting the replacement) or RETIRING_REPLICA_MAX_MS passes; as leader it hands leadership to
   * the coordinator's choice. A replica of a deleted (or re-created) topic closes at once.
   */
  private keepsRetiring(h: Hosted, view: MetadataView): boolean {
    const p = recordOf(h, view);
    if (p === undefined || this.stopped) return false;
    const status = h.replica.node.status();
    const self = this.deps.brokerId;
    if (!status.voters.includes(self) && !status.learners.includes(self)) return false;
    const now = this.deps.nowMs();
    if (h.retiringSinceMs === undefined) {
      h.retiringSinceMs = now;
      this.log.info(
        { operation: 'retire', topic: h.topic, partition: h.partition, replicas: p.replicas },
        'replica moved away: voting until its group removes it',
      );
    }
    if (now - h.retiringSinceMs >= (this.deps.retiringReplicaMaxMs ?? RETIRING_REPLICA_MAX_MS)) return false;
    this.steering.handOver(h, view, p);
    return true;
  }

  /** A topic config change (alterTopicConfig, setClusterConfig) reaches the open log here. */
  private applyConfigs(h: Hosted, view: MetadataView, topic: TopicRecord): void {
    const storeConfig = this.deps.storeConfig;
    if (storeConfig === undefined) return;
    const configs = JSON.stringify(topicConfigs(view, topic));
    if (h.appliedConfigs === configs) return;
    if (h.appliedConfigs !== undefined) {
      this.log.info(
        { operation: 'config.apply', topic: h.topic, partition: h.partition, configs: JSON.parse(configs) },
        'topic configs applied to the replica log',
      );
    }
    h.appliedConfigs = configs;
    const config = storeConfig(topic);
    h.limits.batchBytesMax = config.batchBytesMax;
    h.limits.keysRequired = compacts(config.cleanupPolicy);
    h.store.reconfigure(config);
  }

  private async open(key: string, topic: TopicRecord, p: PartitionRecord): Promise<Hosted> {
    const dir = this.dirOf(topic, p.partition);
    const exists = await this.deps.storeExists(dir);
    const bootstrapVoters = !exists && p.leaderEpoch === 0 ? [...p.replicas] : undefined;
    const store = await this.deps.openStore({ dir, topic, partition: p.partition, bootstrapVoters });
    // Before the replica can lead and serve: the records below the floor are never read here.
    if (p.logStartFloor !== undefined) store.advanceLogStart(p.logStartFloor);
    const limits = { batchBytesMax: this.deps.batchBytesMax, keysRequired: false };
    let replica: PartitionReplica;
    try {
      replica = await openHostedReplica(
        this.deps,
        this.log,
        () => this.view(),
        topic,
        p.partition,
        store,
        limits,
      );
    } catch (err) {
      await store.close();
      throw err;
    }
    const h: Hosted = {
      key,
      topic: topic.name,
      partition: p.partition,
      createdVersion: topic.createdVersion,
      dir,
      replica,
      store,
      ...freshSteering(),
      retiringSinceMs: undefined,
      appliedConfigs: undefined,
      limits,
    };
    this.hosted.set(key, h);
    // A new group's first replica is its preferred leader: campaigning at once gives the group a leader
    // within a round trip, and usually the one placement chose (so clients' first guess is right). The
    // other replicas may not have opened yet (their hosts drop messages for unknown groups): try a few
    // times while no leader is known.
    if (bootstrapVoters !== undefined && p.replicas[0] === this.deps.brokerId) {
      for (const delayMs of CAMPAIGN_RETRIES_MS) {
        setTimeout(() => {
          if (!this.stopped && this.hosted.get(key) === h) replica.node.campaign();
        }, delayMs).unref();
      }
    }
    replica.on('leader-change', ({ leaderId }) => {
      h.publishedEpoch = undefined;
      h.leaderSinceEpoch =
        leaderId === this.deps.brokerId ? (recordOf(h, this.view())?.leaderEpoch ?? 0) : undefined;
      if (leaderId === this.deps.brokerId) this.deps.metrics?.partitionLeaderElectionsTotal.inc();
      if (leaderId === this.deps.brokerId) void this.steering.publishLeader(h);
    });
    this.log.info(
      {
        operation: 'open',
        topic: topic.name,
        partition: p.partition,
        bootstrap: bootstrapVoters !== undefined,
        replicas: p.replicas,
      },
      'replica opened',
    );
    return h;
  }

  /**
   * Every leader here (leader-checks.ts): which voters kept up, and the in-sync sets published to metadata
   * when they changed (so `topic describe` and under-replicated counts are true), all of this check's in one
   * write. Also the under-replicated and follower-lag gauges.
   */
  private checkInSync(): void {
    if (this.stopped) return;
    const { underReplicated, followerLagMax } = checkLeaders(
      this.hosted.values(),
      this.view(),
      this.deps.nowMs(),
      this.steering,
      this.stallWatch,
    );
    // A retiring replica closes on its group's change, which metadata does not announce: look again.
    if ([...this.hosted.values()].some((h) => h.retiringSinceMs !== undefined)) this.schedule();
    this.underReplicated = underReplicated;
    this.deps.metrics?.partitionsUnderReplicated.set(underReplicated);
    this.deps.metrics?.replicaFollowerLagEntries.set(followerLagMax);
  }

  /** Whether the first reconcile pass since start has finished: replicas assigned here before it are open. */
  loaded(): boolean {
    return this.reconcile.firstPassDone;
  }

  /** Partitions led here with a listed replica not in sync (as of the last check). */
  underReplicatedCount(): number {
    return this.underReplicated;
  }

  private async closeHosted(h: Hosted): Promise<void> {
    await h.replica.close();
    await h.store.close();
  }
}

function keyOf(topic: string, partition: number, createdVersion: number): string {
  return `${topic}\u0000${partition}\u0000${createdVersion}`;
}
