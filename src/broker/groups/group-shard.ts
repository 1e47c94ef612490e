/**
 * The groups of one `__consumer_offsets` partition that this broker leads: their membership state
 * machines, committed offsets, and the writes that make both durable. A shard lives for one spell of
 * leadership (ServedPartition.leadership()); the coordinator drops it when that ends and loads a new one
 * from the log when leadership comes back.
 *
 * Every write to the partition goes through one queue (offsets-writer.ts), so the log's order is the order
 * the shard applied things in, and an offset check (never backwards) sees every earlier commit. The log is
 * compacted by rewriting the live state periodically (offsets-checkpoint.ts).
 */
import type { ErrorCode } from '../../errors/index.js';
import type { Logger } from '../../observability/index.js';
import type { ProducerRecord } from '../../protocol/record-batch.js';
import type { Deadline } from '../../resilience/deadline.js';
import type { ServedPartition } from '../catalog.js';
import { GroupMachine, type GroupMachineOptions } from './group-machine.js';
import type {
  CommitIdentity,
  GroupDescription,
  GroupEffect,
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupInput,
  SyncGroupInput,
  SyncGroupResult,
} from './group-types.js';
import { OffsetsCheckpoint } from './offsets-checkpoint.js';
import { type OffsetDeletePlan, planOffsetDelete, type TopicPartitionRef } from './offsets-delete.js';
import {
  type CommittedValue,
  committedForEarlierTopic,
  groupRecord,
  markerRecord,
  offsetRecord,
  offsetsBatch,
} from './offsets-records.js';
import { loadOffsetsState, type OffsetsState } from './offsets-state.js';
import { notCoordinator, OffsetsWriter } from './offsets-writer.js';

/** How often expiries (session and rebalance timeouts) are checked. */
const SHARD_TICK_MS = 100;

export interface GroupObserver {
  onRebalance(groupId: string, generation: number, members: number, durationMs: number): void;
  onMemberRemoved(groupId: string, memberId: string, reason: string): void;
  onCommit(groupId: string, partitions: number, durationMs: number): void;
}

export interface GroupShardDeps {
  readonly index: number;
  readonly served: ServedPartition;
  readonly brokerId: number;
  readonly machineOptions: GroupMachineOptions;
  readonly nowMs: () => number;
  /** How often the live state is rewritten (a quarter of the topic's retention). */
  readonly checkpointIntervalMs: number;
  readonly logger: Logger;
  readonly observer?: GroupObserver;
  /** An append (commit, group state, checkpoint) ran out of time. */
  readonly onAppendTimeout?: () => void;
  /**
   * The topic's current incarnation (TopicInfo.incarnation), stored with each commit: offsets committed
   * for a deleted topic are then not those of a new topic of the same name.
   */
  readonly topicIncarnation?: (topic: string) => number | undefined;
}

export interface CommitRequest {
  readonly groupId: string;
  readonly identity: CommitIdentity;
  readonly reset: boolean;
  readonly partitions: readonly { topic: string; partition: number; offset: number; metadata: string }[];
}

export interface CommitResult {
  readonly error: ErrorCode | null;
  readonly partitions: { topic: string; partition: number; error: ErrorCode | null; message?: string }[];
}

type Waiter<T> = { resolve(v: T): void };

export class GroupShard {
  private readonly machines = new Map<string, GroupMachine>();
  private readonly joins = new Map<number, Waiter<JoinGroupResult>>();
  private readonly syncs = new Map<number, Waiter<SyncGroupResult>>();
  private nextRequestId = 1;
  private readonly writer: OffsetsWriter;
  private readonly checkpoints: OffsetsCheckpoint;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly deps: GroupShardDeps,
    readonly leadership: number,
    private readonly state: OffsetsState,
  ) {
    for (const snapshot of state.groups.values()) {
      this.machines.set(snapshot.groupId, GroupMachine.restore(snapshot, deps.machineOptions, deps.nowMs()));
    }
    this.writer = new OffsetsWriter(deps, () => this.isCurrent());
    this.checkpoints = new OffsetsCheckpoint(deps, state, this.writer);
    this.timer = setInterval(() => this.tick(), SHARD_TICK_MS);
    this.timer.unref();
  }

  /**
   * Writes a load marker (acks=all) and reads the partition up to it: once the marker is committed,
   * everything a previous coordinator had acknowledged is below it.
   */
  static async load(deps: GroupShardDeps): Promise<GroupShard> {
    const leadership = deps.served.leadership();
    if (leadership < 0) throw notCoordinator(deps.index);
    const marker = await deps.served.append(
      offsetsBatch([markerRecord(deps.brokerId, leadership)], deps.nowMs()),
      -1,
    );
    const state = await loadOffsetsState(deps.served, marker.baseOffset);
    return new GroupShard(deps, leadership, state);
  }

  /** Still the leadership it was loaded for (otherwise the coordinator reloads or drops it). */
  isCurrent(): boolean {
    return !this.closed && this.deps.served.leadership() === this.leadership;
  }

  /** Leadership moved away: every waiting join and sync is told to find the new coordinator. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const machine of this.machines.values()) this.run(machine, machine.shutdown());
    for (const w of this.joins.values()) w.resolve(joinError('NOT_COORDINATOR'));
    for (const w of this.syncs.values())
      w.resolve({ error: 'NOT_COORDINATOR', protocol: null, assignment: EMPTY });
    this.joins.clear();
    this.syncs.clear();
  }

  join(input: Omit<JoinGroupInput, 'requestId'>): Promise<JoinGroupResult> {
    const requestId = this.nextRequestId++;
    const answer = new Promise<JoinGroupResult>((resolve) => this.joins.set(requestId, { resolve }));
    const machine = this.machineFor(input.groupId);
    this.run(machine, machine.join({ ...input, requestId }, this.deps.nowMs()));
    return answer;
  }

  sync(input: Omit<SyncGroupInput, 'requestId'>): Promise<SyncGroupResult> {
    const machine = this.machines.get(input.groupId);
    if (machine === undefined)
      return Promise.resolve({ error: 'UNKNOWN_MEMBER_ID', protocol: null, assignment: EMPTY });
    const requestId = this.nextRequestId++;
    const answer = new Promise<SyncGroupResult>((resolve) => this.syncs.set(requestId, { resolve }));
    this.run(machine, machine.sync({ ...input, requestId }, this.deps.nowMs()));
    return answer;
  }

  heartbeat(input: HeartbeatInput): ErrorCode | null {
    const machine = this.machines.get(input.groupId);
    if (machine === undefined) return 'UNKNOWN_MEMBER_ID';
    return machine.heartbeat(input, this.deps.nowMs());
  }

  leave(
    input: LeaveGroupInput,
  ): { memberId: string; groupInstanceId: string | null; error: ErrorCode | null }[] {
    const machine = this.machines.get(input.groupId);
    if (machine === undefined) {
      return input.members.map((m) => ({ ...m, error: 'UNKNOWN_MEMBER_ID' as const }));
    }
    const { results, effects } = machine.leave(input, this.deps.nowMs());
    this.run(machine, effects);
    return results;
  }

  /**
   * OffsetCommit: member checks, the never-backwards rule, one durable write, then the table. `deadline`
   * (the request's) abandons the commit: still queued behind other writes, it is never written; written
   * but not yet committed, it stays in the log (a reload reads it) and only the wait ends.
   */
  commit(request: CommitRequest, deadline?: Deadline): Promise<CommitResult> {
    return this.writer.serialize(async () => {
      const started = this.deps.nowMs();
      const machine = this.machineFor(request.groupId);
      if (request.reset && machine.memberCount > 0) {
        return {
          error: 'NON_EMPTY_GROUP',
          partitions: request.partitions.map((p) => ({
            ...topicPartition(p),
            error: 'NON_EMPTY_GROUP' as const,
          })),
        };
      }
      const denied = machine.validateCommit(request.identity, started);
      if (denied !== null) {
        return {
          error: denied,
          partitions: request.partitions.map((p) => ({ ...topicPartition(p), error: denied })),
        };
      }
      const results: CommitResult['partitions'] = [];
      const records: ProducerRecord[] = [];
      const accepted: { topic: string; partition: number; value: CommittedValue }[] = [];
      for (const p of request.partitions) {
        const current = this.liveCommitted(request.groupId, p.topic, p.partition);
        if (!request.reset && current !== undefined && p.offset < current.offset) {
          results.push({
            ...topicPartition(p),
            error: 'OFFSET_REGRESSION',
            message: `${p.topic}-${p.partition}: ${p.offset} is below the committed ${current.offset}`,
          });
          continue;
        }
        results.push({ ...topicPartition(p), error: null });
        const incarnation = this.deps.topicIncarnation?.(p.topic);
        const value: CommittedValue = {
          offset: p.offset,
          metadata: p.metadata,
          commitTimestampMs: started,
          ...(incarnation === undefined ? {} : { topicIncarnation: incarnation }),
        };
        accepted.push({ topic: p.topic, partition: p.partition, value });
        records.push(offsetRecord(request.groupId, p.topic, p.partition, value));
      }
      if (records.length > 0) {
        await this.writer.append(records, deadline);
        for (const p of accepted) {
          this.state.apply({
            kind: 'offset',
            groupId: request.groupId,
            topic: p.topic,
            partition: p.partition,
            value: p.value,
          });
        }
        this.deps.observer?.onCommit(request.groupId, accepted.length, this.deps.nowMs() - started);
      }
      return { error: null, partitions: results };
    }, deadline);
  }

  /**
   * committed(), once this broker is confirmed to lead the shard's partition still: a coordinator that was
   * paused and replaced meanwhile would otherwise answer from its old state (offsets older than ones its
   * successor acknowledged). NOT_COORDINATOR when it no longer leads.
   */
  async committedConfirmed(
    groupId: string,
    partitions: readonly { topic: string; partition: number }[] | null,
  ) {
    try {
      await this.deps.served.confirmLeadership?.();
    } catch {
      throw notCoordinator(this.deps.index);
    }
    if (!this.isCurrent()) throw notCoordinator(this.deps.index);
    return this.committed(groupId, partitions);
  }

  committed(groupId: string, partitions: readonly { topic: string; partition: number }[] | null) {
    if (partitions === null) {
      return [...(this.state.offsets.get(groupId)?.values() ?? [])].filter(
        (c) => !this.ofEarlierTopic(c, c.topic),
      );
    }
    return partitions.map((p) => {
      const c = this.liveCommitted(groupId, p.topic, p.partition);
      return c === undefined
        ? { ...topicPartition(p), offset: -1, metadata: '', commitTimestampMs: -1 }
        : { ...topicPartition(p), ...c };
    });
  }

  describe(groupId: string): GroupDescription | undefined {
    const machine = this.machines.get(groupId);
    if (machine !== undefined) return machine.describe();
    if (!this.state.offsets.has(groupId)) return undefined;
    // Offsets only: an Empty group, described without keeping a machine for it (metrics sample every group).
    return new GroupMachine(groupId, this.deps.machineOptions).describe();
  }

  /** The committed offset, unless it was committed for an earlier topic of the same name. */
  private liveCommitted(groupId: string, topic: string, partition: number): CommittedValue | undefined {
    const c = this.state.committed(groupId, topic, partition);
    return c === undefined || this.ofEarlierTopic(c, topic) ? undefined : c;
  }

  private ofEarlierTopic(c: CommittedValue, topic: string): boolean {
    return committedForEarlierTopic(c, this.deps.topicIncarnation?.(topic));
  }

  groupIds(): string[] {
    return [...new Set([...this.machines.keys(), ...this.state.groupIds()])].sort();
  }

  /** DeleteGroups: only an empty group; its offsets and generation get tombstones. `deadline`: as commit's. */
  delete(groupId: string, deadline?: Deadline): Promise<ErrorCode | null> {
    return this.writer.serialize(async () => {
      const machine = this.machines.get(groupId);
      if (machine !== undefined && machine.memberCount > 0) return 'NON_EMPTY_GROUP';
      const offsets = [...(this.state.offsets.get(groupId)?.values() ?? [])];
      if (machine === undefined && offsets.length === 0 && !this.state.groups.has(groupId)) {
        return 'GROUP_ID_NOT_FOUND';
      }
      await this.writer.append(
        [
          ...offsets.map((o) => offsetRecord(groupId, o.topic, o.partition, null)),
          groupRecord(groupId, null),
        ],
        deadline,
      );
      for (const o of offsets) {
        this.state.apply({ kind: 'offset', groupId, topic: o.topic, partition: o.partition, value: null });
      }
      this.state.apply({ kind: 'group', groupId, value: null });
      this.machines.delete(groupId);
      return null;
    }, deadline);
  }

  /**
   * OffsetDelete: tombstones for the group's committed offsets of `partitions`, except those of topics a
   * member subscribes to (offsets-delete.ts decides). Durable like a commit; a checkpoint never rewrites
   * them. `partitionExists` asks the topic metadata. `deadline`: as commit's.
   */
  deleteOffsets(
    groupId: string,
    partitions: readonly TopicPartitionRef[],
    partitionExists: (topic: string, partition: number) => boolean,
    deadline?: Deadline,
  ): Promise<Omit<OffsetDeletePlan, 'deleted'>> {
    return this.writer.serialize(async () => {
      const machine = this.machines.get(groupId);
      const { deleted, ...answer } = planOffsetDelete(groupId, {
        exists:
          (machine !== undefined && machine.phase !== 'Dead') ||
          this.state.offsets.has(groupId) ||
          this.state.groups.has(groupId),
        members: machine?.memberCount ?? 0,
        protocolType: machine?.protocolType ?? '',
        subscriptions: machine?.subscriptions() ?? [],
        hasCommitted: (topic, partition) => this.state.committed(groupId, topic, partition) !== undefined,
        partitionExists,
        partitions,
      });
      if (deleted.length === 0) return answer;
      await this.writer.append(
        deleted.map((p) => offsetRecord(groupId, p.topic, p.partition, null)),
        deadline,
      );
      for (const p of deleted) {
        this.state.apply({ kind: 'offset', groupId, topic: p.topic, partition: p.partition, value: null });
      }
      return answer;
    }, deadline);
  }

  private machineFor(groupId: string): GroupMachine {
    let machine = this.machines.get(groupId);
    if (machine === undefined) {
      machine = new GroupMachine(groupId, this.deps.machineOptions);
      this.machines.set(groupId, machine);
    }
    return machine;
  }

  private tick(): void {
    const now = this.deps.nowMs();
    for (const machine of this.machines.values()) {
      const due = machine.nextDeadlineMs();
      if (due !== null && due <= now) this.run(machine, machine.tick(now));
    }
    this.checkpoints.runIfDue(now);
  }

  /** Rewrites every live record (offsets, generations) at the end of the log; see offsets-checkpoint.ts. */
  checkpoint(): Promise<void> {
    return this.checkpoints.run();
  }

  /** Carries out a machine's effects: answers, persistence (answers that wait for it go after), metrics. */
  private run(machine: GroupMachine, effects: readonly GroupEffect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'join-response': {
          const waiter = this.joins.get(effect.requestId);
          this.joins.delete(effect.requestId);
          waiter?.resolve(effect.result);
          break;
        }
        case 'sync-response': {
          const waiter = this.syncs.get(effect.requestId);
          this.syncs.delete(effect.requestId);
          waiter?.resolve(effect.result);
          break;
        }
        case 'persist': {
          const { snapshot, then, otherwise } = effect;
          void this.writer
            .serialize(() => this.writer.append([groupRecord(snapshot.groupId, snapshot)]))
            .then(
              () => {
                this.state.apply({ kind: 'group', groupId: snapshot.groupId, value: snapshot });
                this.run(machine, then);
              },
              (err: unknown) => {
                this.deps.logger.warn(
                  { operation: 'group.persist', group: snapshot.groupId, error: String(err) },
                  'could not persist a group generation',
                );
                if (otherwise !== undefined) {
                  this.run(machine, otherwise);
                  return;
                }
                this.run(
                  machine,
                  then.filter((e) => e.kind !== 'sync-response'),
                );
                if (!this.closed)
                  this.run(machine, machine.persistFailed(snapshot.generation, this.deps.nowMs()));
              },
            );
          break;
        }
        case 'rebalanced':
          this.deps.logger.info(
            {
              operation: 'group.rebalance',
              group: machine.describe().groupId,
              generation: effect.generation,
              members: effect.members,
              duration_ms: effect.durationMs,
            },
            'group rebalanced',
          );
          this.deps.observer?.onRebalance(
            machine.describe().groupId,
            effect.generation,
            effect.members,
            effect.durationMs,
          );
          break;
        case 'member-removed':
          this.deps.logger.info(
            {
              operation: 'group.member-removed',
              group: machine.describe().groupId,
              member: effect.memberId,
              reason: effect.reason,
            },
            'group member removed',
          );
          this.deps.observer?.onMemberRemoved(machine.describe().groupId, effect.memberId, effect.reason);
          break;
      }
    }
  }
}

const EMPTY = Buffer.alloc(0);

function topicPartition(p: { topic: string; partition: number }): { topic: string; partition: number } {
  return { topic: p.topic, partition: p.partition };
}

function joinError(error: ErrorCode): JoinGroupResult {
  return {
    error,
    generation: -1,
    protocolType: '',
    protocol: null,
    leaderId: '',
    memberId: '',
    members: [],
    skipAssignment: false,
  };
}
