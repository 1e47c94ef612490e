/**
 * One replica of a replicated partition: the partition's Raft group on this broker (hosted by the broker's
 * RaftHost, so every group shares one ticker and one peer connection per broker), its PartitionStore, and
 * the high-watermark state machine. Served to Produce/Fetch/ListOffsets only while it leads.
 *
 * Produce: each batch becomes one Raft entry, proposed as the producer sent it; the leader's store stamps
 * its base offset as it writes it (see storage/partition-store.ts), so offsets follow the log exactly.
 *   acks=all  resolves once the entry is committed (a majority has it durably) and applied here, and
 *             is on min_insync_replicas voters when that is more than a majority (min-insync-acks.ts);
 *   acks=1/0  resolves once the leader has written it (and fsynced it, under flush policy always).
 * Fetch reads only below the high watermark (the end of the last committed batch): uncommitted data that a
 * new leader could still truncate is never served.
 *
 * Idempotent producers: the leader checks each batch's (producer id, epoch, sequence range) against its
 * producer state before proposing: the committed state (applied by every replica, in snapshots) plus what
 * this leader's log holds above it and what it has proposed since. A retry of a batch in the log is
 * answered with the original offset and appends nothing; a retry of one still in flight waits for it.
 */

import { EventEmitter } from 'node:events';
import { StreamBusError } from '../../errors/index.js';
import type { Logger } from '../../observability/index.js';
import { DECOMPRESSED_RECORDS_BYTES_MAX } from '../../protocol/limits.js';
import type { Acks } from '../../protocol/messages.js';
import { readBatchHeader } from '../../protocol/record-batch.js';
import { type Entry, NONE, type NodeId } from '../../raft/core/types.js';
import type { RaftHost } from '../../raft/host.js';
import type { RaftNode } from '../../raft/node.js';
import { abortError, sleep } from '../../resilience/clock.js';
import { Deadline } from '../../resilience/deadline.js';
import { splitAndValidate } from '../../storage/append-validation.js';
import { ArrivalOrder } from '../../storage/arrival-order.js';
import type { PartitionStore } from '../../storage/partition-store.js';
import type { ReadBufferSource } from '../../storage/read-buffers.js';
import type { AppendOutcome, ReadOutcome, ServedPartition } from '../catalog.js';
import { ProducerDeduplicator, type WrittenBatch } from '../producer-dedup.js';
import type { ProducerStateTable } from '../producer-state.js';
import { InSyncSet, REPLICA_LAG_TIME_MAX_MS } from './in-sync-set.js';
import { commitHoldsEnough, MinInsyncAcks } from './min-insync-acks.js';
import { type AppliedBatch, PartitionStateMachine } from './partition-state-machine.js';
import { PersistNotifyingStorage } from './persist-notifying-storage.js';
import { preferredReadReplica, READ_FROM_LEADER, type ReadReplicaChoice } from './read-replica-selector.js';

export interface PartitionReplicaOptions {
  readonly topic: string;
  readonly partition: number;
  /** Unique per topic incarnation (a deleted and re-created topic gets new groups). */
  readonly groupId: string;
  readonly store: PartitionStore;
  readonly host: RaftHost;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** Largest batch accepted, read per append: the topic's max_message_bytes can change while open. */
  readonly batchBytesMax: () => number;
  /** Whether every record needs a key (a compacted topic), read per append like batchBytesMax. */
  readonly keysRequired?: () => boolean;
  /** What a batch's records may decompress to (the broker's; default DECOMPRESSED_RECORDS_BYTES_MAX). */
  readonly decompressedBytesMax?: number;
  readonly proposalTimeoutMs: number;
  /** A state machine snapshot every this many applied entries bounds what a restart re-applies. */
  readonly snapshotIntervalEntries?: number;
  /** acks=all writes need this many in-sync replicas (the leader included); read per write. */
  readonly minInsyncReplicas?: () => number;
  /** A follower that has not held everything committed for this long drops out of the in-sync set. */
  readonly replicaLagTimeMaxMs?: number;
  /**
   * The partition's in-sync set as metadata records it (undefined when unknown): a new leader starts with
   * these voters in sync. Without it, every voter starts in sync.
   */
  readonly recordedInSync?: () => readonly NodeId[] | undefined;
  /** Told how long each acks=all batch took from proposal to commit (seconds). */
  readonly onCommitted?: (seconds: number) => void;
  /** Taking or installing a snapshot longer than this is reported to onTimeout (raft.snapshot). */
  readonly snapshotTimeoutMs?: number;
  /** Told of an append that ran out of proposalTimeoutMs, as `replica.append` (counted and logged). */
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
}

export const PARTITION_SNAPSHOT_INTERVAL_ENTRIES = 512;

/** Longest an append waits for a leadership transfer under way to end, and how often it looks. */
const TRANSFER_WAIT_MAX_MS = 2_000;
const TRANSFER_POLL_MS = 5;

interface PersistWaiter {
  resolve(batch: AppliedBatch): void;
  reject(err: unknown): void;
}

export interface ReplicaEvents {
  /** This replica's view of the group's leader changed (0: none known). */
  'leader-change': [{ leaderId: NodeId; term: number }];
}

export class PartitionReplica extends EventEmitter<ReplicaEvents> implements ServedPartition {
  /** acks=1 proposals waiting for the leader's own write, by the batch buffer they proposed. */
  private readonly persistWaiters = new Map<Uint8Array, PersistWaiter>();
  private closed = false;
  /** Leader only: idempotent producers' batches checked before they are proposed. */
  private readonly dedup: ProducerDeduplicator;
  private readonly arrivalOrder = new ArrivalOrder();
  /** Leader bookkeeping: the voters that keep up. */
  private readonly inSync: InSyncSet;
  /** acks=all writes waiting, after their commit, for min_insync_replicas copies. */
  private readonly minInsyncAcks: MinInsyncAcks;
  /**
   * The term this replica took up leadership in (its leader-change handler ran), -1 while it follows. Raft
   * turns leader when the votes arrive, the event comes with the next Ready, after the save under way: until
   * then the producer state and the in-sync set are the old ones, so the replica does not lead yet.
   */
  private ledTerm = -1;

  private constructor(
    readonly options: PartitionReplicaOptions,
    readonly node: RaftNode,
    private readonly sm: PartitionStateMachine,
  ) {
    super();
    this.dedup = new ProducerDeduplicator(() => this.rebuildProducers(), {
      topic: options.topic,
      partition: options.partition,
    });
    this.inSync = new InSyncSet(node, options.replicaLagTimeMaxMs ?? REPLICA_LAG_TIME_MAX_MS);
    this.minInsyncAcks = new MinInsyncAcks(node, { topic: options.topic, partition: options.partition });
  }

  static async open(options: PartitionReplicaOptions): Promise<PartitionReplica> {
    const log = options.logger.child({ topic: options.topic, partition: options.partition });
    const sm = new PartitionStateMachine(options.store.logStartOffset(), (err) =>
      log.error({ operation: 'high-watermark', error: String(err) }, 'high watermark listener threw'),
    );
    let replica: PartitionReplica | undefined;
    const storage = new PersistNotifyingStorage(options.store, (entries) => replica?.onPersisted(entries));
    const node = await options.host.addGroup(options.groupId, {
      storage,
      stateMachine: sm,
      proposalTimeoutMs: options.proposalTimeoutMs,
      snapshotIntervalEntries: options.snapshotIntervalEntries ?? PARTITION_SNAPSHOT_INTERVAL_ENTRIES,
      // The log is the data: snapshots never compact it (retention does), so keep no entries "below" them.
      snapshotKeepEntries: 0,
      // An idle partition sends no heartbeats (RaftCore.quiesce): a broker may host thousands of them.
      quiesce: true,
      ...(options.snapshotTimeoutMs === undefined ? {} : { snapshotTimeoutMs: options.snapshotTimeoutMs }),
      ...(options.onTimeout === undefined ? {} : { onTimeout: options.onTimeout }),
      logger: log,
      now: options.nowMs,
    });
    replica = new PartitionReplica(options, node, sm);
    node.on('applied', ({ appliedIndex }) => options.store.setAppliedIndex(appliedIndex));
    node.on('leader-change', (change) => {
      const leading = change.leaderId === node.id;
      replica.dedup.reset();
      replica.inSync.reset(leading, options.nowMs(), leading ? options.recordedInSync?.() : undefined);
      replica.ledTerm = leading ? change.term : -1;
      // NOT_LEADER, never LEADER_NOT_AVAILABLE: that one says nothing was written (client/produce-request.ts).
      if (!leading) {
        replica.minInsyncAcks.failAll(
          new StreamBusError('NOT_LEADER', {
            operation: 'replica.append',
            metadata: { leaderId: change.leaderId },
          }),
        );
      }
      options.store.cacheWrites?.(leading);
      replica.emit('leader-change', change);
    });
    return replica;
  }

  get topic(): string {
    return this.options.topic;
  }

  get partition(): number {
    return this.options.partition;
  }

  isLeader(): boolean {
    return this.leadership() !== -1;
  }

  leaderId(): NodeId {
    return this.node.status().leaderId;
  }

  /** The group's leader as this replica knows it within its Raft lease (raft leaderInLease); 0 once closed. */
  leaderInLease(): NodeId {
    return this.closed ? 0 : this.node.leaderInLease();
  }

  leadership(): number {
    const status = this.node.status();
    return !this.closed && status.role === 'leader' && status.term === this.ledTerm ? status.term : -1;
  }

  /**
   * Validates and proposes each batch; resolves with the first batch's base offset once acknowledged per
   * `acks`. NOT_LEADER (with the known leader) when this replica does not lead. `deadline` (the request's)
   * ends the wait, never a write: the append rejects with its reason (REQUEST_TIMED_OUT). A plain batch's
   * proposal still queued is dropped and its waiter goes; an idempotent producer's goes on (its outcome
   * decides the producer state: a retry then waits for it and gets its offsets, instead of a second copy).
   * acks=all with min_insync_replicas above the majority also waits, once committed, for that many copies
   * (within the deadline and the proposal timeout; NOT_ENOUGH_REPLICAS_AFTER_APPEND past them).
   */
  async append(batches: Buffer, acks: Acks = -1, deadline?: Deadline): Promise<AppendOutcome> {
    this.assertLeader('replica.append');
    if (this.node.leadTransferee() !== 0) {
      await this.transferSettled(deadline);
      this.assertLeader('replica.append');
    }
    const { all, logAppendTimeMs } = await this.arrivalOrder.run(async () => {
      const split = await splitAndValidate(batches, {
        batchBytesMax: this.options.batchBytesMax(),
        decompressedBytesMax: this.options.decompressedBytesMax ?? DECOMPRESSED_RECORDS_BYTES_MAX,
        keysRequired: this.options.keysRequired?.() ?? false,
      });
      // Inflating a gzip batch took a turn of the event loop: leadership may have moved meanwhile.
      this.assertLeader('replica.append');
      if (acks === -1) this.assertEnoughInSync(this.minInsync());
      return { all: this.propose(split, acks, deadline), logAppendTimeMs: this.options.nowMs() };
    });
    // The caller's wait is bounded all the same: by its deadline, or else by the proposal timeout.
    const own =
      deadline === undefined
        ? Deadline.fromTimeout(this.options.proposalTimeoutMs, { operation: 'replica.append' })
        : undefined;
    try {
      const applied = await this.countingTimeouts((deadline ?? own!).race(all), deadline);
      if (acks === -1) await this.heldByMinInsync(deadline);
      return { baseOffset: applied[0]!.baseOffset, logAppendTimeMs };
    } finally {
      own?.dispose();
    }
  }

  /** Proposes each batch (in this turn: ArrivalOrder); resolves once each is acknowledged per `acks`. */
  private propose(split: Buffer[], acks: Acks, deadline?: Deadline): Promise<WrittenBatch[]> {
    return Promise.all(
      split.map((batch) =>
        this.dedup.append(
          batch,
          // A tracked (idempotent) proposal runs until its entry commits or is overwritten: a timeout would
          // make the deduplicator forget a batch that may still commit, and the retry would be written again.
          (b: Buffer, tracked: boolean) =>
            tracked
              ? this.proposeBatch(b, acks, undefined, true)
              : this.proposeBatch(b, acks, deadline?.signal),
          (w) => (acks === -1 ? this.committed(w, deadline?.signal) : Promise.resolve(w)),
        ),
      ),
    );
  }

  private minInsync(): number {
    return this.options.minInsyncReplicas?.() ?? 1;
  }

  /**
   * acks=all: what this append committed is on min_insync_replicas voters (the leader included). A commit
   * is on a majority already, so unless min_insync_replicas is above it nothing is waited for (and nothing
   * allocated). The entries (and a retry's original) are committed, so the commit index covers them: waiting
   * for it may wait for a later entry too, never for less.
   */
  private heldByMinInsync(deadline: Deadline | undefined): Promise<void> | undefined {
    const required = this.minInsync();
    if (commitHoldsEnough(required, this.node.voterCount())) return undefined;
    const timeoutMs = Math.min(
      this.options.proposalTimeoutMs,
      deadline?.remainingMs() ?? Number.POSITIVE_INFINITY,
    );
    return this.minInsyncAcks.wait(this.node.status().commitIndex, required, timeoutMs);
  }

  /**
   * A leader handing over refuses proposals until the transfer ends (Raft §3.10). An append that arrives
   * meanwhile waits for the outcome (a transfer ends within an election timeout; the wait within its
   * deadline and TRANSFER_WAIT_MAX_MS) instead of failing with LEADERSHIP_TRANSFER_IN_PROGRESS: leadership
   * moved, and it fails NOT_LEADER naming the new leader, where the client goes at once (leaderHint); the
   * transfer abandoned, and it is written here. Polled: Raft tells no event when a transfer is abandoned.
   * Once leadership moved, it also waits (within the same bounds) until this replica has heard from the new
   * leader: it stops leading when the transferee's vote request arrives, a hop before the new leader's first
   * append names it, and an answer in between could only say LEADER_NOT_AVAILABLE.
   */
  private async transferSettled(deadline: Deadline | undefined): Promise<void> {
    const giveUpAtMs = this.options.nowMs() + TRANSFER_WAIT_MAX_MS;
    const settled = (): boolean =>
      this.isLeader() ? this.node.leadTransferee() === 0 : this.node.status().leaderId !== NONE;
    while (!settled() && this.options.nowMs() < giveUpAtMs && deadline?.expired() !== true) {
      await sleep(TRANSFER_POLL_MS);
    }
  }

  /**
   * An append's proposal (or its wait for the commit) ran out of time: counted once per append. One its
   * caller's deadline ended is the caller's timeout (the router counts it) and fails with its reason.
   */
  private async countingTimeouts<T>(work: Promise<T>, deadline: Deadline | undefined): Promise<T> {
    try {
      return await work;
    } catch (err) {
      deadline?.throwIfExpired();
      if (err instanceof StreamBusError && err.code === 'REQUEST_TIMED_OUT')
        this.options.onTimeout?.('replica.append', this.options.proposalTimeoutMs);
      throw err;
    }
  }

  /**
   * Resolves once `written` is below the high watermark (committed); NOT_LEADER if this replica stops
   * leading first, REQUEST_TIMED_OUT after the proposal timeout, the signal's reason when it aborts. A
   * retried batch found in a new leader's uncommitted tail is acknowledged only this way.
   */
  private committed(written: WrittenBatch, signal: AbortSignal | undefined): Promise<WrittenBatch> {
    if (this.sm.highWatermark() > written.lastOffset) return Promise.resolve(written);
    if (signal?.aborted === true) return Promise.reject(abortError(signal, 'replica.append'));
    return new Promise<WrittenBatch>((resolve, reject) => {
      const done = (err: StreamBusError | null): void => {
        clearTimeout(timer);
        offHw();
        this.off('leader-change', onLeader);
        signal?.removeEventListener('abort', onAbort);
        if (err === null) resolve(written);
        else reject(err);
      };
      const offHw = this.sm.onHighWatermark((hw) => {
        if (hw > written.lastOffset) done(null);
      });
      const onLeader = (): void => {
        if (!this.isLeader()) {
          done(
            new StreamBusError('NOT_LEADER', {
              operation: 'replica.append',
              metadata: { leaderId: this.leaderId() },
            }),
          );
        }
      };
      const onAbort = (): void => done(abortError(signal as AbortSignal, 'replica.append'));
      this.on('leader-change', onLeader);
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(
        () => done(new StreamBusError('REQUEST_TIMED_OUT', { operation: 'replica.append' })),
        this.options.proposalTimeoutMs,
      );
    });
  }

  /**
   * A new leader's producer state: the committed state plus every idempotent batch in its log above the
   * applied index (entries there are always in memory). Only data written by this leader follows.
   */
  private rebuildProducers(): ProducerStateTable {
    const table = this.sm.committedProducers();
    const applied = this.node.status().appliedIndex;
    const store = this.options.store;
    // What the store holds (entries the driver has not written yet are this term's, checked as proposed).
    const last = store.lastIndex();
    if (last > applied) {
      const tail = store.entries(applied + 1, last + 1, Number.MAX_SAFE_INTEGER);
      if (tail !== 'unavailable' && tail !== 'compacted') {
        for (const e of tail) {
          if (e.type === 'normal')
            table.apply(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength), 0);
        }
      }
    }
    return table;
  }

  private proposeBatch(
    batch: Buffer,
    acks: Acks,
    signal: AbortSignal | undefined,
    /** No proposal timeout: settles when the entry commits, or when it is overwritten or superseded. */
    unbounded = false,
  ): Promise<AppliedBatch> {
    const proposedAtMs = this.options.nowMs();
    const timeoutMs = unbounded ? Number.POSITIVE_INFINITY : this.options.proposalTimeoutMs;
    const committed = this.node.propose(
      batch,
      signal === undefined ? { timeoutMs } : { timeoutMs, signal },
    ) as Promise<AppliedBatch>;
    if (acks === -1) {
      const onCommitted = this.options.onCommitted;
      if (onCommitted === undefined) return committed;
      return committed.then((applied) => {
        onCommitted((this.options.nowMs() - proposedAtMs) / 1000);
        return applied;
      });
    }
    return new Promise<AppliedBatch>((resolve, reject) => {
      this.persistWaiters.set(batch, { resolve, reject });
      committed.then(
        () => this.persistWaiters.delete(batch),
        (err: unknown) => {
          const waiter = this.persistWaiters.get(batch);
          this.persistWaiters.delete(batch);
          waiter?.reject(err);
        },
      );
    });
  }

  /** The leader's store wrote these entries (stamped): acks=1 proposals among them are acknowledged. */
  private onPersisted(entries: readonly Entry[]): void {
    if (this.persistWaiters.size === 0) return;
    for (const e of entries) {
      const waiter = this.persistWaiters.get(e.data);
      if (waiter === undefined) continue;
      this.persistWaiters.delete(e.data);
      const header = readBatchHeader(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
      waiter.resolve({
        baseOffset: header.baseOffset,
        lastOffset: header.baseOffset + header.lastOffsetDelta,
      });
    }
  }

  /** Leader only, called periodically: notes which followers keep up (InSyncSet.track). */
  trackFollowers(nowMs: number): void {
    if (this.isLeader()) this.inSync.track(nowMs);
  }

  /** The in-sync replicas as this leader sees them (itself included), sorted; empty unless leader. */
  inSyncReplicas(nowMs: number): NodeId[] {
    return this.isLeader() ? this.inSync.members(nowMs) : [];
  }

  /**
   * Leader only: the replica a consumer in `clientRack` should fetch from (read-replica-selector.ts), or
   * READ_FROM_LEADER. `rackOf` and `available` come from the cluster's view of the brokers.
   */
  preferredReadReplica(
    clientRack: string,
    rackOf: ReadReplicaChoice['rackOf'],
    available: ReadReplicaChoice['available'],
  ): NodeId {
    if (clientRack === '' || !this.isLeader()) return READ_FROM_LEADER;
    const match = new Map(this.node.progress().map((p) => [p.id, p.match]));
    return preferredReadReplica({
      leaderId: this.node.id,
      clientRack,
      inSync: this.inSyncReplicas(this.options.nowMs()),
      rackOf,
      available,
      matchOf: (id) => match.get(id) ?? 0,
    });
  }

  private assertEnoughInSync(required: number): void {
    if (required <= 1) return;
    const inSync = this.inSyncReplicas(this.options.nowMs());
    if (inSync.length >= required) return;
    const replicas = this.node.status().voters.length;
    // More than the partition has at all (a cluster-wide default above this topic's replication factor):
    // no failover or catch-up will help, and the operator needs telling what to change.
    const never =
      required > replicas
        ? `, more than its ${replicas} replica(s): acks=all writes are refused until min_insync_replicas for ${this.topic} is at most ${replicas}`
        : '';
    throw new StreamBusError('NOT_ENOUGH_REPLICAS', {
      operation: 'replica.append',
      message: `${this.topic}-${this.partition} has ${inSync.length} in-sync replica(s) (on broker(s) ${inSync.join(', ')}); min_insync_replicas is ${required}${never}`,
      metadata: { topic: this.topic, partition: this.partition, inSync: inSync.length, required },
    });
  }

  async read(offset: number, maxBytes: number, buffers?: ReadBufferSource): Promise<ReadOutcome> {
    const highWatermark = this.sm.highWatermark();
    const records = await this.options.store.read(offset, maxBytes, highWatermark, buffers);
    return { records, highWatermark, logStartOffset: this.options.store.logStartOffset() };
  }

  highWatermark(): number {
    return this.sm.highWatermark();
  }

  logStartOffset(): number {
    return this.options.store.logStartOffset();
  }

  sizeBytes(): number {
    return this.options.store.sizeBytes();
  }

  offsetForTimestamp(timestampMs: number): Promise<{ offset: number; timestamp: number } | null> {
    return this.options.store.offsetForTimestamp(timestampMs, this.sm.highWatermark());
  }

  onHighWatermark(listener: (highWatermark: number) => void): () => void {
    return this.sm.onHighWatermark(listener);
  }

  /** Leaves the host (pending proposals fail with RAFT_STOPPED); the store stays the caller's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.options.host.removeGroup(this.options.groupId);
    this.sm.close();
    const err = new StreamBusError('NOT_LEADER', { operation: 'replica.close', message: 'replica closed' });
    for (const w of this.persistWaiters.values()) w.reject(err);
    this.minInsyncAcks.failAll(err);
    this.persistWaiters.clear();
    this.removeAllListeners();
  }

  async confirmLeadership(): Promise<void> {
    this.assertLeader('replica.confirm-leadership');
    await this.node.readIndex({ timeoutMs: this.options.proposalTimeoutMs });
    this.assertLeader('replica.confirm-leadership');
  }

  private assertLeader(operation: string): void {
    if (this.isLeader()) return;
    // Leader in Raft whose leadership is not taken up yet: retriable, and no other broker to point at.
    const leaderId = this.closed || this.leaderId() === this.node.id ? 0 : this.leaderId();
    throw new StreamBusError(leaderId === 0 ? 'LEADER_NOT_AVAILABLE' : 'NOT_LEADER', {
      operation,
      message: `${this.topic}-${this.partition} is not led here${leaderId === 0 ? '' : ` (leader ${leaderId})`}`,
      metadata: { topic: this.topic, partition: this.partition, leaderId },
    });
  }
}
