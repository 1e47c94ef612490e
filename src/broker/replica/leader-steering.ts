/**
 * What a partition leader on this broker does to keep the metadata store and its Raft group in step
 * (ReplicaManager calls it on each reconcile pass and in-sync check):
 *
 * - publish itself as the partition's leader (compare-and-set on the leader epoch), so clients find it;
 * - follow the coordinator's leader choice (preferred leader, balancing) by transferring leadership;
 * - step the group's voters toward the metadata replica list, one change at a time;
 * - publish the in-sync sets that changed, every partition led here in one metadata write per check.
 */
import { StreamBusError } from '../../errors/index.js';
import type { InSyncSetChange } from '../../metadata/commands.js';
import { FEATURE } from '../../metadata/feature-levels.js';
import { inSyncSetBatches } from '../../metadata/in-sync-batches.js';
import type { MetadataView } from '../../metadata/state.js';
import type { MetadataStore } from '../../metadata/store.js';
import type { InSyncSetResult, PartitionRecord } from '../../metadata/types.js';
import type { Logger } from '../../observability/index.js';
import type { NodeId } from '../../raft/core/types.js';
import { nextMembershipChange } from './membership-step.js';
import type { PartitionReplica } from './partition-replica.js';

/** A hosted replica's leadership bookkeeping (ReplicaManager's record of it). */
export interface SteeredReplica {
  readonly topic: string;
  readonly partition: number;
  readonly createdVersion: number;
  readonly replica: PartitionReplica;
  lastTransferAtMs: number;
  /** The broker leadership was last transferred to (another one is not backed off). */
  lastTransferTo: NodeId;
  publishing: boolean;
  /** The leader epoch this replica's own publication produced, while it leads; undefined otherwise. */
  publishedEpoch: number | undefined;
  /** The partition's leader epoch in metadata when this replica became leader; undefined otherwise. */
  leaderSinceEpoch: number | undefined;
  /** An in-sync set publication is in flight. */
  publishingIsr: boolean;
  /** A membership change is proposed and not applied yet. */
  changingMembership: boolean;
  /** After a failed publication, not before this time. */
  publishRetryAtMs: number;
}

/** The steering fields of a replica just opened: no transfer, publication or membership change yet. */
export function freshSteering(): Omit<SteeredReplica, 'topic' | 'partition' | 'createdVersion' | 'replica'> {
  return {
    lastTransferAtMs: Number.NEGATIVE_INFINITY,
    lastTransferTo: 0,
    publishing: false,
    publishedEpoch: undefined,
    leaderSinceEpoch: undefined,
    publishingIsr: false,
    changingMembership: false,
    publishRetryAtMs: 0,
  };
}

/** An in-sync set a leader here is to publish: collected over one check, written with the others. */
export interface InSyncChange {
  readonly h: SteeredReplica;
  /** The partition's replica list when the set was computed (for the log line). */
  readonly replicas: readonly NodeId[];
  readonly item: InSyncSetChange;
}

export interface LeaderSteeringDeps {
  readonly brokerId: number;
  readonly metadata: Pick<MetadataStore, 'updateLeader' | 'updateInSyncSets'>;
  readonly nowMs: () => number;
  /** Leadership is not transferred to the same broker again sooner than this (another one: at once). */
  readonly transferBackoffMs: number;
  /**
   * Whether the broker's Raft traffic (messages or keepalives) arrived lately. A transfer to one that does
   * not answer (paused, cut off, not yet marked failed) cannot finish, and until it times out the leader
   * refuses writes (LEADERSHIP_TRANSFER_IN_PROGRESS). Absent: every broker counts as answering.
   */
  readonly peerAnswering?: (brokerId: NodeId) => boolean;
  readonly log: Logger;
  readonly view: () => MetadataView;
  /** Another reconcile pass soon (a membership step applied). */
  readonly schedule: () => void;
  /** A pass after the retry interval (a step failed). */
  readonly retryLater: () => void;
}

/** A failed leadership publication is tried again after this long (or on the retry timer). */
const PUBLISH_RETRY_MS = 500;

export class LeaderSteering {
  constructor(private readonly deps: LeaderSteeringDeps) {}

  /**
   * What a leader does each pass: publish itself, follow the coordinator's choice, match the replica set.
   * A hint naming another broker is the coordinator's choice only if it was written after this replica
   * became leader (or after its own publication); an older one is just the previous leader, and this replica
   * publishes itself over it.
   */
  steer(h: SteeredReplica, view: MetadataView, p: PartitionRecord): void {
    if (!h.replica.isLeader()) return;
    const voters = h.replica.node.status().voters;
    if (p.leader !== this.deps.brokerId) {
      const wanted = p.leader;
      const now = this.deps.nowMs();
      const chosen = this.choiceDuringLeadership(h, p);
      if (
        chosen &&
        wanted > 0 &&
        this.canLead(view, wanted) &&
        voters.includes(wanted) &&
        p.replicas.includes(wanted)
      ) {
        // Only another transfer to the same broker waits out the backoff (one that failed must not be retried
        // in a loop); a choice of another broker (the coordinator moved on, e.g. after this broker won an
        // election) is followed at once, or clients sent to the broker it names would be told NOT_LEADER until
        // the backoff ended. For the same reason, while the backoff holds a choice made again after a failed
        // transfer, this broker (still the leader, no transfer under way) publishes itself over it.
        const repeat = h.lastTransferTo === wanted;
        if (!repeat || now - h.lastTransferAtMs >= this.deps.transferBackoffMs) {
          h.lastTransferAtMs = now;
          h.lastTransferTo = wanted;
          void this.transfer(h, wanted);
        } else if (h.replica.node.leadTransferee() === 0) {
          void this.publishLeader(h, true);
        }
      } else {
        // The previous leader's record, or a choice this broker cannot follow (the chosen one is not alive,
        // does not answer, is not a voter yet, or none): this broker leads, so metadata must say so.
        void this.publishLeader(h, true);
      }
    }
    this.matchMembership(h, p.replicas);
  }

  /**
   * What a replica moved away does while it still leads: hand leadership to the coordinator's choice, or,
   * if that one is not a voter yet, to the first listed replica that is (the same backoff as `steer`). It
   * neither publishes itself nor removes itself: the next leader completes the group's membership change.
   */
  handOver(h: SteeredReplica, view: MetadataView, p: PartitionRecord): void {
    if (!h.replica.isLeader()) return;
    const voters = h.replica.node.status().voters;
    const candidates = [p.leader, ...p.replicas].filter(
      (id) => id !== this.deps.brokerId && voters.includes(id) && this.canLead(view, id),
    );
    const to = candidates[0];
    if (to === undefined) return;
    const now = this.deps.nowMs();
    if (h.lastTransferTo === to && now - h.lastTransferAtMs < this.deps.transferBackoffMs) return;
    h.lastTransferAtMs = now;
    h.lastTransferTo = to;
    void this.transfer(h, to, true);
  }

  /** A broker leadership may be handed to: alive in metadata and answering on the Raft transport. */
  private canLead(view: MetadataView, id: NodeId): boolean {
    return view.brokers.get(id)?.state === 'alive' && (this.deps.peerAnswering?.(id) ?? true);
  }

  /** Records this broker as the partition's leader (CAS on the epoch, re-read on conflict), once per leadership. */
  async publishLeader(h: SteeredReplica, overChoice = false): Promise<void> {
    // Steering runs on every metadata change: after a failure, wait a little before trying again.
    if (h.publishing || this.deps.nowMs() < h.publishRetryAtMs) return;
    h.publishing = true;
    try {
      for (let attempt = 0; attempt < 5 && h.replica.isLeader(); attempt++) {
        const p = recordOf(h, this.deps.view());
        // Every leadership is published, even one the hint already named: the epoch then moves once per
        // Raft leadership, as Kafka's leader epoch does, and tells clients the partition really has a leader.
        if (p === undefined || (p.leader === this.deps.brokerId && h.publishedEpoch !== undefined)) return;
        // The coordinator chose another broker after this one became leader (maybe while this publication
        // was under way): that choice stands, and steer() transfers to it. Unless a transfer to it just
        // failed (`overChoice`): this broker still leads, and clients sent to the chosen one would wait.
        if (!overChoice && this.choiceDuringLeadership(h, p)) return;
        try {
          const result = await this.deps.metadata.updateLeader({
            topic: h.topic,
            partition: h.partition,
            expectedEpoch: p.leaderEpoch,
            leader: this.deps.brokerId,
          });
          h.publishedEpoch = result.leaderEpoch ?? p.leaderEpoch + 1;
          this.deps.log.info(
            { operation: 'publish-leader', topic: h.topic, partition: h.partition, epoch: p.leaderEpoch + 1 },
            'partition leadership published',
          );
          return;
        } catch (err) {
          if (!(err instanceof StreamBusError && err.code === 'METADATA_CONFLICT')) throw err;
        }
      }
    } catch (err) {
      h.publishRetryAtMs = this.deps.nowMs() + PUBLISH_RETRY_MS;
      this.deps.log.warn(
        { operation: 'publish-leader', topic: h.topic, partition: h.partition, error: String(err) },
        'could not publish partition leadership; will retry',
      );
      this.deps.retryLater();
    } finally {
      h.publishing = false;
    }
  }

  /**
   * Whether the record names another broker, written after this replica's leadership began: a coordinator
   * choice to follow. One written before is just the previous leader, which this replica publishes over.
   */
  private choiceDuringLeadership(h: SteeredReplica, p: PartitionRecord): boolean {
    const since = h.publishedEpoch ?? h.leaderSinceEpoch;
    return p.leader !== this.deps.brokerId && since !== undefined && p.leaderEpoch > since;
  }

  /** One membership step toward the metadata replica list (membership-step.ts), proposed by the leader. */
  matchMembership(h: SteeredReplica, replicas: readonly NodeId[]): void {
    if (h.changingMembership) return;
    const status = h.replica.node.status();
    const progress = h.replica.node.progress();
    const change = nextMembershipChange(
      {
        self: this.deps.brokerId,
        voters: status.voters,
        learners: status.learners,
        commitIndex: status.commitIndex,
        matchOf: (id) => progress.find((p) => p.id === id)?.match,
      },
      replicas,
    );
    if (change === undefined) return;
    h.changingMembership = true;
    h.replica.node
      .proposeConfChange(change)
      .finally(() => {
        h.changingMembership = false;
      })
      .then(
        () => {
          // `replica_id`, not `broker_id`: every line's broker_id names the broker that logs it.
          this.deps.log.info(
            { operation: change.type, topic: h.topic, partition: h.partition, replica_id: change.nodeId },
            'replica group membership changed',
          );
          this.deps.schedule();
        },
        (err: unknown) => {
          // CONFIG_CHANGE_IN_PROGRESS while the previous step applies: the next pass tries again.
          this.deps.log.debug(
            { operation: change.type, topic: h.topic, partition: h.partition, error: String(err) },
            'membership change not made yet',
          );
          this.deps.retryLater();
        },
      );
  }

  /**
   * The in-sync set this leader publishes for `p` (sorted), when it differs from the metadata's and no
   * publication of it is in flight; undefined otherwise. While the group still has a voter the replica list
   * dropped (a move under way) the set may only shrink (inSyncToPublish): a new replica appearing in it is
   * what tells the coordinator that its move is done, the old replica no longer counted
   * (rebalance-executor.ts).
   */
  inSyncChange(
    h: SteeredReplica,
    p: PartitionRecord,
    leaderInSync: readonly NodeId[],
  ): InSyncChange | undefined {
    const published = [...p.isr].sort((a, b) => a - b);
    const isr = inSyncToPublish(leaderInSync, p, h.replica.node.status().voters);
    if (p.leader !== this.deps.brokerId || h.publishingIsr || published.join() === isr.join())
      return undefined;
    return {
      h,
      replicas: p.replicas,
      item: {
        topic: h.topic,
        partition: h.partition,
        expectedEpoch: p.leaderEpoch,
        leader: this.deps.brokerId,
        isr,
      },
    };
  }

  /**
   * Publishes the changes one in-sync check collected (inSyncChange) as few updateInSyncSets commands as
   * their bounds allow: one for up to IN_SYNC_SET_ITEMS_MAX partitions. One write per partition made a broker
   * down past the lag time cost 2 x N metadata commits (every ISR it was in shrinks, then grows back). Each
   * item succeeds or fails on its own; until its command settles, its partition is not published again.
   * Until the cluster's feature level includes the command (a broker of an older build would skip it and its
   * image diverge), each change is its own updateLeader, as before.
   */
  publishInSyncSets(changes: readonly InSyncChange[]): void {
    if (this.deps.view().featureLevel < FEATURE.inSyncSetBatches) {
      for (const c of changes) this.publishInSyncSet(c);
      return;
    }
    for (const batch of inSyncSetBatches(changes, (c) => c.item)) {
      for (const c of batch) c.h.publishingIsr = true;
      this.deps.metadata
        .updateInSyncSets(batch.map((c) => c.item))
        .then(
          ({ inSyncSets }) => {
            for (const [i, c] of batch.entries()) this.publishedInSync(c, inSyncSets[i]);
          },
          (err: unknown) =>
            this.deps.log.debug(
              { operation: 'isr', partitions: batch.length, error: String(err) },
              'in-sync sets not published yet',
            ),
        )
        .finally(() => {
          for (const c of batch) c.h.publishingIsr = false;
        });
    }
  }

  /** One change as updateLeader with `isr` (same rules as an updateInSyncSets item). */
  private publishInSyncSet(c: InSyncChange): void {
    c.h.publishingIsr = true;
    this.deps.metadata
      .updateLeader(c.item)
      .then(
        (result): InSyncSetResult => ({
          ok: true,
          leaderEpoch: result.leaderEpoch ?? c.item.expectedEpoch + 1,
        }),
        (err: unknown): InSyncSetResult | undefined =>
          err instanceof StreamBusError ? { ok: false, code: err.code } : undefined,
      )
      .then((result) => this.publishedInSync(c, result))
      .finally(() => {
        c.h.publishingIsr = false;
      });
  }

  private publishedInSync({ h, replicas, item }: InSyncChange, result: InSyncSetResult | undefined): void {
    const { topic, partition, isr } = item;
    if (result?.ok === true) {
      h.publishedEpoch = result.leaderEpoch;
      this.deps.log.info({ operation: 'isr', topic, partition, isr, replicas }, 'in-sync replicas changed');
    } else {
      // A stale epoch (a leader change raced this check) or a replica list changed under it: the next check
      // recomputes the set against the new record.
      this.deps.log.debug(
        { operation: 'isr', topic, partition, error: result?.code },
        'in-sync set not published yet',
      );
    }
  }

  /** A failed transfer publishes this broker as leader, unless it is retiring (metadata no longer names it). */
  private async transfer(h: SteeredReplica, to: NodeId, retiring = false): Promise<void> {
    try {
      await h.replica.node.transferLeadership(to);
      this.deps.log.info(
        { operation: 'transfer', topic: h.topic, partition: h.partition, to },
        'leadership handed over',
      );
    } catch (err) {
      this.deps.log.warn(
        { operation: 'transfer', topic: h.topic, partition: h.partition, to, error: String(err) },
        retiring
          ? 'leadership transfer failed; trying again later'
          : 'leadership transfer failed; publishing this broker as leader',
      );
      if (!retiring) await this.publishLeader(h, true);
    }
  }
}

/**
 * The in-sync set a leader publishes, from its own (`isr`, sorted, voters only) and its group's voters.
 * Normally its own. While a voter the replica list dropped still votes (a move under way), the published set
 * only loses members, never gains one: a replica gaining it mid-move would be the move's new replica, whose
 * appearance completes the move although the old voter still counts. Publishing nothing instead (as before)
 * left a replica that failed mid-move listed in sync, in `topic describe`, the under-replicated count and the
 * preferred-leader choice, for as long as the move lasted (up to MOVE_CATCH_UP_MAX_MS, longer if its target
 * died). A replica back in sync mid-move rejoins once the move ends.
 */
export function inSyncToPublish(
  isr: readonly NodeId[],
  p: Pick<PartitionRecord, 'replicas' | 'isr'>,
  voters: readonly NodeId[],
): NodeId[] {
  if (voters.every((id) => p.replicas.includes(id))) return [...isr];
  return isr.filter((id) => p.replicas.includes(id) && p.isr.includes(id));
}

/** The metadata record of a hosted replica's partition, if its topic incarnation still exists. */
export function recordOf(
  h: Pick<SteeredReplica, 'topic' | 'partition' | 'createdVersion'>,
  view: MetadataView,
): PartitionRecord | undefined {
  const t = view.topics.get(h.topic);
  return t?.createdVersion === h.createdVersion ? t.partitions[h.partition] : undefined;
}
