/**
 * Carries out the rebalance plans the coordinator reducer returns (replica moves and leader changes) as
 * metadata writes, each plan within config.rebalanceTimeoutMs, and counts them for the coordinator's status
 * and metrics. Kept apart from the coordinator's driver, which only decides when a plan runs.
 *
 * Moves are recorded in the store before they are applied (recordMove -> updateReplicaSet -> completeMove).
 * Every tick the leader adopts recorded moves nobody is working on (`adoptRecordedMoves`): one a previous
 * coordinator left half done, or one of this coordinator's that a failed write abandoned. Without that a
 * recorded move would pin its partition forever, because the planner never plans a partition twice. The same
 * pass completes this coordinator's own applied moves once their new replica is in sync.
 *
 * A move is complete once its new replica is in the partition's in-sync set, not when the replica list is
 * written: only then has the partition's Raft group promoted it and dropped the old voter (the leader adds
 * no replica to the in-sync set while its group still has a voter outside the list). Completing at the
 * write let a decommissioned broker be unregistered, and stopped by its operator, while groups still
 * counted it as a voter with the replacement not yet promoted: one more failure then stalled those
 * partitions. A move that only adds a replica (a reassignment to more replicas) completes the same way; one
 * that only removes a replica completes once written: no replica is waited for, and the partition's leader
 * drops the voter on its next membership step (before any later move's, membership-step.ts).
 */
import type { CoordinatorAction, CoordinatorConfig } from '../cluster/coordinator-types.js';
import { replicasAfterMove } from '../cluster/load.js';
import { type LeaderChange, type Move, NO_BROKER, NO_LEADER } from '../cluster/types.js';
import { StreamBusError } from '../errors/index.js';
import type { InSyncSetChange } from '../metadata/commands.js';
import { FEATURE } from '../metadata/feature-levels.js';
import { inSyncSetBatches } from '../metadata/in-sync-batches.js';
import { sameMembers } from '../metadata/reassignment.js';
import type { MetadataView } from '../metadata/state.js';
import type { MetadataStore } from '../metadata/store.js';
import type { MoveRecord, PartitionRecord } from '../metadata/types.js';
import type { Logger, MetricsRegistry } from '../observability/index.js';
import type { SpanRunner } from '../observability/tracing.js';
import type { NodeId } from '../raft/core/types.js';
import { sleep } from '../resilience/clock.js';
import { withTimeout } from '../resilience/deadline.js';
import { traceRebalance } from './rebalance-span.js';

/**
 * A replica-set write races the partition's own leader, which bumps the epoch when it publishes leadership
 * or its in-sync set; the move re-reads the partition and tries again, this many times.
 */
const MOVE_WRITE_ATTEMPTS = 5;
const MOVE_RETRY_DELAY_MS = 50;

/**
 * A move whose new replica has not joined the in-sync set this long after its replica list was written is
 * completed anyway, so a partition whose target failed mid-move can be planned again (the moved-away
 * replica retires within the same bound, RETIRING_REPLICA_MAX_MS).
 */
export const MOVE_CATCH_UP_MAX_MS = 60_000;

export type PlanAction = Extract<CoordinatorAction, { type: 'proposeReplicaMoves' | 'proposeLeaderChanges' }>;

/** The part of CoordinatorDeps that executing plans needs. */
export interface RebalanceDeps {
  readonly store: Pick<
    MetadataStore,
    'snapshotView' | 'updateReplicaSet' | 'updateLeader' | 'updateInSyncSets' | 'recordMove' | 'completeMove'
  >;
  readonly raft: { status(): { readonly id: NodeId } };
  /** The metadata term the coordinator leads in: its writes are fenced by it (WriteOptions.leaderTerm). */
  readonly leaderTerm: () => number;
  readonly config: Pick<CoordinatorConfig, 'rebalanceTimeoutMs'>;
  readonly nowMs: () => number;
  readonly metrics?: MetricsRegistry;
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
  readonly spans?: SpanRunner;
}

export class RebalanceExecutor {
  private rebalancesInProgress = 0;
  /** Start time of every plan being executed, by a per-plan key (for the coordinator health check). */
  private readonly rebalanceStarts = new Map<number, number>();
  private nextRebalanceKey = 0;
  /** `topic/partition` of every move this coordinator is applying right now (one at a time per partition). */
  private readonly movesInFlight = new Set<string>();
  /** When each applied move (moveKey) was first seen waiting for its new replica to be in sync. */
  private readonly catchingUpSinceMs = new Map<string, number>();

  /** `onError`: an adopted move failed outside any plan (the coordinator's lastError). */
  constructor(
    private readonly deps: RebalanceDeps,
    private readonly log: Logger,
    private readonly onError: (message: string) => void,
  ) {}

  get inProgress(): number {
    return this.rebalancesInProgress;
  }

  /** When the oldest plan still in progress started (null when none is): a stuck one stays here. */
  oldestStartedMs(): number | null {
    let oldest: number | null = null;
    for (const startedMs of this.rebalanceStarts.values()) {
      if (oldest === null || startedMs < oldest) oldest = startedMs;
    }
    return oldest;
  }

  execute(action: PlanAction, signal: AbortSignal): Promise<void> {
    const spans = this.deps.spans;
    if (spans === undefined) return this.runPlan(action, signal);
    const replicas = action.type === 'proposeReplicaMoves';
    return traceRebalance(
      spans,
      this.deps.raft.status().id,
      replicas ? 'replicas' : 'leaders',
      replicas ? action.moves : action.changes,
      () => this.runPlan(action, signal),
    );
  }

  /** Finishes recorded moves that no write of this coordinator is working on. */
  adoptRecordedMoves(signal: AbortSignal): void {
    const moves = [...this.deps.store.snapshotView().moves.values()];
    const recorded = new Set(moves.map(moveKey));
    for (const key of this.catchingUpSinceMs.keys())
      if (!recorded.has(key)) this.catchingUpSinceMs.delete(key);
    for (const move of moves) {
      const key = partitionKey(move);
      if (this.movesInFlight.has(key) || this.catchingUp(move)) continue;
      this.movesInFlight.add(key);
      if (this.catchingUpSinceMs.has(moveKey(move))) {
        this.log.info({ operation: 'move', move: describeMove(move) }, 'new replica in sync: move complete');
      } else {
        this.log.info({ operation: 'adopt-move', move: describeMove(move) }, 'finishing a recorded move');
      }
      void this.withinRebalanceTimeout(signal, (s) => this.applyRecordedMove(move, s))
        .catch((err: unknown) => {
          if (signal.aborted) return;
          this.onError(`recorded move: ${String(err)}`);
          this.log.warn({ operation: 'adopt-move', error: String(err) }, 'recorded move not finished');
        })
        .finally(() => this.movesInFlight.delete(key));
    }
  }

  private async runPlan(action: PlanAction, signal: AbortSignal): Promise<void> {
    const startedMs = this.deps.nowMs();
    this.rebalancesInProgress++;
    const key = this.nextRebalanceKey++;
    this.rebalanceStarts.set(key, startedMs);
    let status: 'success' | 'failure' = 'success';
    try {
      if (action.type === 'proposeReplicaMoves') {
        this.log.info({ operation: 'rebalance', moves: action.moves.map(describeMove) }, 'moving replicas');
        await this.withinRebalanceTimeout(signal, async (s) => {
          for (const move of action.moves) await this.runMove(move, s);
        });
      } else {
        this.log.info(
          { operation: 'rebalance', leaders: action.changes.map(describeLeaderChange) },
          'changing partition leaders',
        );
        await this.withinRebalanceTimeout(signal, (s) => this.changeLeaders(action.changes, s));
      }
    } catch (err) {
      status = 'failure';
      throw err;
    } finally {
      this.rebalancesInProgress--;
      this.rebalanceStarts.delete(key);
      if (!signal.aborted) {
        this.deps.metrics?.clusterRebalancesTotal.inc({ status });
        this.deps.metrics?.clusterRebalanceDurationSeconds.observe((this.deps.nowMs() - startedMs) / 1000);
      }
    }
  }

  /**
   * Runs a plan's writes for at most config.rebalanceTimeoutMs (aborting them then, REQUEST_TIMED_OUT): a
   * recorded move left unfinished is adopted again on a later tick, and the next plan starts afresh.
   */
  private withinRebalanceTimeout(
    signal: AbortSignal,
    work: (signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    return withTimeout(this.deps.config.rebalanceTimeoutMs, (deadline) => work(deadline.signal), {
      operation: 'cluster.rebalance',
      parent: signal,
      ...(this.deps.onTimeout === undefined ? {} : { onTimeout: this.deps.onTimeout }),
    });
  }

  private fenced(signal: AbortSignal): { signal: AbortSignal; leaderTerm: number } {
    return { signal, leaderTerm: this.deps.leaderTerm() };
  }

  /** Record, apply, complete: each step is visible in the store, so a successor can pick up mid-way. */
  private async runMove(move: Move, signal: AbortSignal): Promise<void> {
    const key = partitionKey(move);
    if (this.movesInFlight.has(key)) return; // an earlier plan is still moving this partition
    this.movesInFlight.add(key);
    try {
      await this.deps.store.recordMove({ ...move, state: 'pending' }, this.fenced(signal));
      await this.applyRecordedMove(move, signal);
    } finally {
      this.movesInFlight.delete(key);
    }
  }

  private async applyRecordedMove(
    move: Pick<MoveRecord, 'topic' | 'partition' | 'from' | 'to'>,
    signal: AbortSignal,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const view = this.deps.store.snapshotView();
      const p = view.topics.get(move.topic)?.partitions[move.partition];
      if (p === undefined || !stillToApply(p.replicas, move)) break;
      const replicas = inTargetOrder(replicasAfterMove(p.replicas, move), p.targetReplicas);
      const leaderLeaves = move.from !== NO_BROKER && p.leader === move.from;
      try {
        // The partition's leader makes its Raft group follow the new list (learner, catch up, promote,
        // remove the old voter); the new replica is not in sync until its leader says so, and a leader
        // being moved away is asked to hand over to the first live replica.
        await this.deps.store.updateReplicaSet(
          {
            topic: move.topic,
            partition: move.partition,
            expectedEpoch: p.leaderEpoch,
            replicas,
            isr: p.isr.filter((id) => id !== move.from),
            leader: leaderLeaves ? firstLive(replicas, view) : p.leader,
          },
          this.fenced(signal),
        );
        break;
      } catch (err) {
        if (!isConflict(err) || attempt >= MOVE_WRITE_ATTEMPTS) throw err;
        await sleep(MOVE_RETRY_DELAY_MS * attempt, signal);
      }
    }
    const key = moveKey(move);
    if (![...this.deps.store.snapshotView().moves.values()].some((m) => moveKey(m) === key)) return;
    if (this.catchingUp(move)) return; // a later tick completes it
    this.catchingUpSinceMs.delete(key);
    await this.deps.store.completeMove(
      { topic: move.topic, partition: move.partition, from: move.from, to: move.to },
      this.fenced(signal),
    );
  }

  /**
   * Whether an applied move waits for its new replica to join the in-sync set (bounded by
   * MOVE_CATCH_UP_MAX_MS). A move not applied yet, or whose partition has changed since, is not waiting.
   */
  private catchingUp(move: Pick<MoveRecord, 'topic' | 'partition' | 'from' | 'to'>): boolean {
    if (move.to === NO_BROKER) return false;
    const p = this.deps.store.snapshotView().topics.get(move.topic)?.partitions[move.partition];
    if (p === undefined || p.replicas.includes(move.from) || !p.replicas.includes(move.to)) return false;
    if (p.isr.includes(move.to)) return false;
    const key = moveKey(move);
    const now = this.deps.nowMs();
    const since = this.catchingUpSinceMs.get(key) ?? now;
    this.catchingUpSinceMs.set(key, since);
    if (now - since < MOVE_CATCH_UP_MAX_MS) return true;
    this.log.warn(
      { operation: 'move', move: describeMove(move), waited_ms: now - since },
      'new replica not in sync in time; move completed anyway',
    );
    return false;
  }

  /**
   * A plan's leader choices as few metadata writes as their bounds allow: each is an updateInSyncSets item (an
   * updateLeader with the in-sync set it already has). One updateLeader after another, each waiting for its
   * commit, made handing 1,000 leaderships back to a restarted broker take ~7 s of metadata writes alone.
   * An item refused (the partition changed meanwhile) is left for the next plan. Until the cluster's feature
   * level includes the command, one updateLeader each, as before.
   */
  private async changeLeaders(changes: readonly LeaderChange[], signal: AbortSignal): Promise<void> {
    const view = this.deps.store.snapshotView();
    if (view.featureLevel < FEATURE.inSyncSetBatches) {
      for (const change of changes) await this.changeLeader(change, signal);
      return;
    }
    const items: InSyncSetChange[] = [];
    for (const change of changes) {
      const p = stillToMake(view, change);
      if (p === undefined) continue;
      items.push({
        topic: change.topic,
        partition: change.partition,
        expectedEpoch: p.leaderEpoch,
        leader: change.to,
        isr: [...p.isr],
      });
    }
    for (const batch of inSyncSetBatches(items, (item) => item)) {
      await this.deps.store.updateInSyncSets(batch, this.fenced(signal));
    }
  }

  private async changeLeader(change: LeaderChange, signal: AbortSignal): Promise<void> {
    const p = stillToMake(this.deps.store.snapshotView(), change);
    if (p === undefined) return;
    await this.deps.store.updateLeader(
      { topic: change.topic, partition: change.partition, expectedEpoch: p.leaderEpoch, leader: change.to },
      this.fenced(signal),
    );
  }
}

/** The partition a leader change applies to, unless it is gone, already led so, or no longer a replica there. */
function stillToMake(view: MetadataView, change: LeaderChange): PartitionRecord | undefined {
  const p = view.topics.get(change.topic)?.partitions[change.partition];
  if (p === undefined || p.leader === change.to || !p.replicas.includes(change.to)) return undefined;
  return p;
}

/** Whether `move` still has to be written: its `from` still a replica (unless it adds), its `to` not yet. */
function stillToApply(replicas: readonly number[], move: Pick<Move, 'from' | 'to'>): boolean {
  const fromThere = move.from === NO_BROKER || replicas.includes(move.from);
  const toAbsent = move.to === NO_BROKER || !replicas.includes(move.to);
  return fromThere && toAbsent;
}

/**
 * The move that gives a reassigned partition its target's brokers writes the target's order (the operator's
 * preferred leader first), which ends the reassignment; any other keeps the list's order.
 */
function inTargetOrder(replicas: readonly number[], target: readonly number[] | undefined): number[] {
  if (target === undefined || !sameMembers(replicas, target)) return [...replicas];
  return [...target];
}

function firstLive(replicas: readonly number[], view: MetadataView): number {
  return replicas.find((id) => view.brokers.get(id)?.state === 'alive') ?? NO_LEADER;
}

function partitionKey(m: { topic: string; partition: number }): string {
  return `${m.topic}/${m.partition}`;
}

function moveKey(m: Pick<Move, 'topic' | 'partition' | 'from' | 'to'>): string {
  return `${m.topic}/${m.partition}:${m.from}->${m.to}`;
}

function isConflict(err: unknown): boolean {
  return err instanceof StreamBusError && err.code === 'METADATA_CONFLICT';
}

function describeMove(m: Pick<Move, 'topic' | 'partition' | 'from' | 'to'>): string {
  if (m.from === NO_BROKER) return `${m.topic}/${m.partition}: add ${m.to}`;
  if (m.to === NO_BROKER) return `${m.topic}/${m.partition}: remove ${m.from}`;
  return `${m.topic}/${m.partition}: ${m.from}->${m.to}`;
}

function describeLeaderChange(c: LeaderChange): string {
  return `${c.topic}/${c.partition}: leader ${c.from}->${c.to} (${c.reason})`;
}
