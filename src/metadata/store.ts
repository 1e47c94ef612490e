import { randomUUID } from 'node:crypto';
import { InvariantViolation, invariant, isStreamBusError, StreamBusError } from '../errors/index.js';
import type { SpanRunner } from '../observability/tracing.js';
import type { NodeId, Role } from '../raft/core/types.js';
import type { CallOptions } from '../raft/node-types.js';
import {
  abortError,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type Clock,
  callWithPolicy,
  Deadline,
  defaultIsRetriable,
  type RetryOptions,
  sleep,
  systemClock,
  systemTimers,
  type Timers,
} from '../resilience/index.js';
import {
  type CommandType,
  decodeCommand,
  encodeCommand,
  type InSyncSetChange,
  type MetadataCommand,
} from './commands.js';
import type { MetadataForwarder } from './forwarder.js';
import { IN_SYNC_SET_ITEMS_MAX, IN_SYNC_SETS_BYTES_MAX, inSyncSetBytes } from './in-sync-batches.js';
import type { JoinRoute } from './join-route.js';
import { LeaderRouter } from './leader-router.js';
import { type LeaderWait, startLeaderWait } from './leader-wait.js';
import { type MetadataOperationEvent, OperationEvents } from './operation-events.js';
import { type ProposeRoute, traceProposal } from './propose-span.js';
import type { MetadataView } from './state.js';
import type { MetadataStateMachine } from './state-machine.js';
import type { ApplyResult, BrokerId, HostPort, InSyncSetResult } from './types.js';

/** The slice of RaftNode the store uses (a fake in unit tests, the metadata group's RaftNode in a broker). */
export interface MetadataRaft {
  readonly id: NodeId;
  propose(data: Uint8Array, options?: CallOptions): Promise<unknown>;
  readIndex(options?: CallOptions): Promise<number>;
  status(): { readonly role: Role; readonly leaderId: NodeId; readonly term: number };
}

export type { MetadataOperationEvent } from './operation-events.js';

export interface MetadataStoreOptions {
  readonly raft: MetadataRaft;
  readonly stateMachine: MetadataStateMachine;
  /** Absent: proposals on a follower fail with NOT_LEADER (retried until this node leads or retries run out). */
  readonly forwarder?: MetadataForwarder;
  /** Defaults 10 retries, 50 ms to 2 s, full jitter (DESIGN.md section 1). */
  readonly retry?: Partial<Pick<RetryOptions, 'retriesMax' | 'baseDelayMs' | 'maxDelayMs'>>;
  /** Name is always 'metadata'. Defaults: CircuitBreaker's (5 failures open it for 30 s). */
  readonly breaker?: Omit<CircuitBreakerOptions, 'name' | 'clock'>;
  /**
   * One attempt's budget (resilience.timeouts.proposal in a broker), including waiting for a leader to be
   * elected or to come back: longer than an election (1-2 s) so an ordinary failover costs no breaker
   * failure. Default 5 s.
   */
  readonly attemptTimeoutMs?: number;
  /**
   * An operation that has known no leader for this long, across its attempts, fails with
   * LEADER_NOT_AVAILABLE instead of retrying on (resilience.timeouts.leader_election). Default 10 s.
   */
  readonly leaderWaitMaxMs?: number;
  /** How often a leaderless attempt looks again for a leader. Default 25 ms. */
  readonly leaderPollMs?: number;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** [0, 1): backoff jitter. */
  readonly random?: () => number;
  /** Called when an attempt runs out of time (observability's timeout counter and log line). */
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
  /**
   * How this node reaches the leader from outside the metadata group (join-route.ts): the voters its writes
   * go to in turn while it knows no leader. Absent: it waits for Raft to find one.
   */
  readonly join?: JoinRoute;
  /** Request ids are this plus a counter; default `<node id>.<random UUID>.`, unique per store instance. */
  readonly requestIdPrefix?: string;
  /**
   * Opens a `streambus.metadata.propose` span around each write (observability's withSpan). Absent when
   * tracing is off: writes then do no tracing work.
   */
  readonly spans?: SpanRunner;
}

export interface WriteOptions {
  /** Cancels the write (a shutdown, an owner that stops). */
  readonly signal?: AbortSignal;
  /**
   * The caller's deadline (a client request's), instead of `signal`: its end cancels the write, its
   * remaining time caps every attempt, and a proposal forwarded to the leader carries what is left, so no
   * hop runs past the client's deadline.
   */
  readonly deadline?: Deadline;
  /**
   * A decision this node made as metadata leader of this Raft term (the cluster coordinator's): proposed
   * only while this node still leads in that term, never forwarded, and not retried once it does not
   * (NOT_LEADER). Forwarded to a successor, a deposed coordinator's decision, made on what it saw before it
   * was cut off, would be applied by a leader that never made it.
   */
  readonly leaderTerm?: number;
}

/** An accepted change: the metadata version it produced, plus command-specific details. */
export type MetadataWriteResult = ApplyResult & { readonly ok: true };

type Body<T extends CommandType> = Omit<Extract<MetadataCommand, { type: T }>, 'type'>;

/**
 * The client API of the metadata store on one broker. Writes are proposals to the metadata Raft group:
 *
 *   caller's signal > retry (10, 50 ms..2 s, full jitter) > breaker 'metadata' > attempt timeout > attempt
 *
 * An attempt proposes locally on the leader, forwards to the leader from a follower, and waits (within
 * its budget) while there is no leader or the leader cannot be reached. Every command carries a request
 * id, so a retry of a proposal that did commit gets the first result back instead of applying twice.
 * Domain errors (TOPIC_ALREADY_EXISTS, METADATA_CONFLICT, ...) are thrown as StreamBusErrors and neither
 * retried nor counted by the breaker (they are invalid_input).
 */
export class MetadataStore {
  readonly breaker: CircuitBreaker;
  private readonly raft: MetadataRaft;
  private readonly sm: MetadataStateMachine;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly retryOptions: Omit<RetryOptions, 'signal'>;
  private readonly attemptTimeoutMs: number;
  private readonly leaderWaitMaxMs: number;
  private readonly leaderPollMs: number;
  private readonly events: OperationEvents;
  private readonly router: LeaderRouter;
  private readonly requestPrefix: string;
  private requestSeq = 0;

  constructor(private readonly options: MetadataStoreOptions) {
    this.raft = options.raft;
    this.sm = options.stateMachine;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
    this.leaderWaitMaxMs = options.leaderWaitMaxMs ?? 10_000;
    this.leaderPollMs = options.leaderPollMs ?? 25;
    this.breaker = new CircuitBreaker({ ...options.breaker, name: 'metadata', clock: this.clock });
    this.events = new OperationEvents(this.clock);
    this.router = new LeaderRouter({
      raft: this.raft,
      forwarder: options.forwarder,
      join: options.join,
      leaderPollMs: this.leaderPollMs,
      clock: this.clock,
      timers: this.timers,
    });
    this.retryOptions = {
      retriesMax: options.retry?.retriesMax ?? 10,
      baseDelayMs: options.retry?.baseDelayMs ?? 50,
      maxDelayMs: options.retry?.maxDelayMs ?? 2_000,
      random: this.random,
      sleep: (ms, signal) => sleep(ms, signal, this.timers),
    };
    // Unique across restarts of this node: a restarted broker must not reuse an id the state machine still
    // remembers (it would get that old result back), so not derived from the injected, possibly seeded, random.
    this.requestPrefix = options.requestIdPrefix ?? `${this.raft.id}.${randomUUID()}.`;
  }

  registerBroker(
    b: {
      brokerId: BrokerId;
      clientAddress: HostPort;
      peerAddress: HostPort;
      rack?: string | null;
      capacityHint?: number;
      atMs?: number;
      /** The highest feature level the broker's build supports; omitted reads as the baseline. */
      featureLevel?: number;
    },
    options?: WriteOptions,
  ): Promise<MetadataWriteResult> {
    return this.execute(
      {
        type: 'registerBroker',
        brokerId: b.brokerId,
        clientAddress: b.clientAddress,
        peerAddress: b.peerAddress,
        rack: b.rack ?? null,
        capacityHint: b.capacityHint ?? 1,
        atMs: b.atMs ?? this.clock.nowMs(),
        ...(b.featureLevel === undefined ? {} : { featureLevel: b.featureLevel }),
      },
      options,
    );
  }

  updateBroker(b: Body<'updateBroker'>, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'updateBroker', ...b }, options);
  }

  /** Many brokers' last-seen times in one command (the coordinator batches them). */
  heartbeat(beats: Body<'heartbeat'>['beats'], options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'heartbeat', beats }, options);
  }

  unregisterBroker(brokerId: BrokerId, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'unregisterBroker', brokerId }, options);
  }

  /** `assignment` comes from the coordinator's placement; replicationFactor defaults to its width. */
  createTopic(
    t: {
      name: string;
      assignment: readonly (readonly BrokerId[])[];
      replicationFactor?: number;
      configs?: Readonly<Record<string, string>>;
      internal?: boolean;
      pinned?: boolean;
    },
    options?: WriteOptions,
  ): Promise<MetadataWriteResult> {
    return this.execute(
      {
        type: 'createTopic',
        name: t.name,
        assignment: t.assignment,
        replicationFactor: t.replicationFactor ?? t.assignment[0]?.length ?? 0,
        configs: t.configs ?? {},
        internal: t.internal ?? false,
        ...(t.pinned === true ? { pinned: true } : {}),
      },
      options,
    );
  }

  deleteTopic(name: string, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'deleteTopic', name }, options);
  }

  /**
   * Appends partitions to a topic, one replica list each. `expectedPartitions`: the count the assignment was
   * planned from; the write is refused (METADATA_CONFLICT) if the topic has changed since.
   */
  addPartitions(a: Body<'addPartitions'>, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'addPartitions', ...a }, options);
  }

  /**
   * An operator's reassignment (`replicas`) or unpin (`replicas: null`) of some of a topic's partitions, all
   * or none (commands.ts, REASSIGNMENT_NOTE); refused with FEATURE_NOT_FINALIZED below the feature level.
   */
  alterClientQuotas(q: Body<'alterClientQuotas'>, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'alterClientQuotas', ...q }, options);
  }

  /** DeleteRecords: raises a partition's log start floor; FEATURE_NOT_FINALIZED below the feature level. */
  advanceLogStart(a: Body<'advanceLogStart'>, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'advanceLogStart', ...a }, options);
  }

  alterPartitionAssignments(
    a: Body<'alterPartitionAssignments'>,
    options?: WriteOptions,
  ): Promise<MetadataWriteResult> {
    return this.execute({ type: 'alterPartitionAssignments', ...a }, options);
  }

  /** Compare-and-set on the partition's leader epoch: a stale `expectedEpoch` fails with METADATA_CONFLICT. */
  updateReplicaSet(u: Body<'updateReplicaSet'>, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'updateReplicaSet', ...u }, options);
  }

  /** Compare-and-set on the partition's leader epoch, like updateReplicaSet. */
  updateLeader(u: Body<'updateLeader'>, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'updateLeader', ...u }, options);
  }

  /**
   * Many partitions' in-sync set changes as one command (LeaderSteering publishes a check's worth). Resolves
   * once it applied, whatever each item's outcome: `inSyncSets[i]` says whether `items[i]` was applied (and
   * the partition's new epoch) or refused (its code); a refused item holds back no other. 1 to
   * IN_SYNC_SET_ITEMS_MAX items within IN_SYNC_SETS_BYTES_MAX (inSyncSetBatches splits), else INVALID_REQUEST.
   */
  async updateInSyncSets(
    items: readonly InSyncSetChange[],
    options?: WriteOptions,
  ): Promise<MetadataWriteResult & { readonly inSyncSets: readonly InSyncSetResult[] }> {
    const bytes = items.reduce((sum, item) => sum + inSyncSetBytes(item), 0);
    if (items.length === 0 || items.length > IN_SYNC_SET_ITEMS_MAX || bytes > IN_SYNC_SETS_BYTES_MAX) {
      throw new StreamBusError('INVALID_REQUEST', {
        operation: 'metadata.updateInSyncSets',
        message: `${items.length} in-sync sets (~${bytes} bytes): 1..${IN_SYNC_SET_ITEMS_MAX} items within ${IN_SYNC_SETS_BYTES_MAX} bytes`,
      });
    }
    const result = await this.execute({ type: 'updateInSyncSets', items }, options);
    const { inSyncSets } = result;
    if (inSyncSets?.length !== items.length) {
      // The entry was applied before (this replica's state already held it, e.g. from a snapshot): its
      // outcomes are not known here. The caller's next check compares the sets again.
      throw new StreamBusError('METADATA_CONFLICT', {
        operation: 'metadata.updateInSyncSets',
        message: 'the outcome of each in-sync set is unknown (the command was applied before); check again',
      });
    }
    return { ...result, inSyncSets };
  }

  alterTopicConfig(
    name: string,
    change: { set?: Readonly<Record<string, string>>; delete?: readonly string[] },
    options?: WriteOptions,
  ): Promise<MetadataWriteResult> {
    return this.execute(
      { type: 'alterTopicConfig', name, set: change.set ?? {}, delete: change.delete ?? [] },
      options,
    );
  }

  recordMove(m: Body<'recordMove'>, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'recordMove', ...m }, options);
  }

  completeMove(m: Body<'completeMove'>, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'completeMove', ...m }, options);
  }

  setClusterConfig(
    change: { set?: Readonly<Record<string, string>>; delete?: readonly string[] },
    options?: WriteOptions,
  ): Promise<MetadataWriteResult> {
    return this.execute(
      { type: 'setClusterConfig', set: change.set ?? {}, delete: change.delete ?? [] },
      options,
    );
  }

  /** Raises the cluster feature level; see the command (commands.ts) for what `brokers` guards. */
  finalizeFeatureLevel(
    f: Body<'finalizeFeatureLevel'>,
    options?: WriteOptions,
  ): Promise<MetadataWriteResult> {
    return this.execute({ type: 'finalizeFeatureLevel', ...f }, options);
  }

  /** Records the cluster id (once; see the command). Only from the cluster feature level FEATURE.clusterId. */
  setClusterId(clusterId: string, options?: WriteOptions): Promise<MetadataWriteResult> {
    return this.execute({ type: 'setClusterId', clusterId }, options);
  }

  /**
   * Reserves `count` producer ids, unique across the cluster and never handed out again (the counter is in
   * the replicated image and its snapshots); resolves with the first id of the block [first, first + count).
   * A retried proposal that did commit answers the same block (request ids), so no block is lost twice.
   */
  async allocateProducerIds(count: number, options?: WriteOptions): Promise<{ firstProducerId: number }> {
    const { firstProducerId } = await this.execute({ type: 'allocateProducerIds', count }, options);
    invariant(firstProducerId !== undefined, 'allocateProducerIds answered without a first producer id');
    return { firstProducerId };
  }

  /** Any command, with the full retry / breaker / forwarding treatment. */
  execute(command: MetadataCommand, options: WriteOptions = {}): Promise<MetadataWriteResult> {
    const spans = this.options.spans;
    if (spans === undefined) return this.events.observe(command.type, () => this.propose(command, options));
    return traceProposal(spans, command.type, this.raft.id, (route) =>
      this.events.observe(command.type, () => this.propose(command, options, route)),
    );
  }

  private propose(
    command: MetadataCommand,
    options: WriteOptions,
    route?: ProposeRoute,
  ): Promise<MetadataWriteResult> {
    const leaderTerm = options.leaderTerm;
    // A deposed leader's write fails here, before it reaches (and counts against) the breaker, and before
    // the leader wait and deadline below exist (they are disposed only when the call settles).
    if (leaderTerm !== undefined) this.router.checkLeaderOf(leaderTerm);
    const bytes = this.encode(command);
    const operation = `metadata.${command.type}`;
    const leader = this.leaderWait(operation, options.deadline?.signal ?? options.signal);
    // The caller's deadline, ended early by the leader wait too: attempts become its children.
    const parent =
      options.deadline === undefined
        ? leader.signal
        : Deadline.fromTimeout(options.deadline.remainingMs(), {
            clock: this.clock,
            timers: this.timers,
            operation,
            parent: leader.signal,
          });
    return callWithPolicy(
      leaderTerm === undefined ? this.policy(operation) : this.fencedPolicy(operation),
      async (signal, deadline) => {
        if (route !== undefined) route.attempts++;
        const result = await this.router.attempt(bytes, signal, leader, deadline, route, leaderTerm);
        return unwrap(result, command.type);
      },
      parent,
    ).finally(() => {
      leader.dispose();
      if (parent instanceof Deadline) parent.dispose();
    });
  }

  /** The local replica's image: possibly stale, never torn. `version` says how recent it is. */
  snapshotView(): MetadataView {
    return this.sm.view();
  }

  /** An image that includes every change committed before the call (Raft read-index, then local apply). */
  readLinearizable(signal?: AbortSignal): Promise<MetadataView> {
    return this.events.observe('readLinearizable', () => {
      const leader = this.leaderWait('metadata.readLinearizable', signal);
      return callWithPolicy(
        this.policy('metadata.readLinearizable'),
        async (s) => {
          // A follower without a leader would be refused at once: wait for one, as writes do.
          while (this.raft.status().leaderId === 0) {
            leader.check();
            await sleep(this.leaderPollMs, s, this.timers);
          }
          leader.seen();
          const index = await this.raft.readIndex({ signal: s });
          await this.sm.waitForApplied(index, s);
          return this.sm.view();
        },
        leader.signal,
      ).finally(() => leader.dispose());
    });
  }

  /**
   * The leader side of forwarding: one proposal, no retry (the forwarding store retries). Bytes from the
   * network are checked before they reach the log: a malformed command is INVALID_REQUEST here, so the
   * invariant in apply only ever fires for corruption. `deadline` (the asker's remaining time, capped by
   * this side's own bound) ends the wait for the commit with its reason; a proposal already in the log
   * stays there (the asker's retry, with the same request id, gets its result).
   */
  async handleForwarded(commandBytes: Uint8Array, deadline?: Deadline): Promise<ApplyResult> {
    try {
      decodeCommand(commandBytes);
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      throw new StreamBusError('INVALID_REQUEST', { operation: 'metadata.forwarded', message: err.message });
    }
    const status = this.raft.status();
    if (status.role !== 'leader') {
      throw new StreamBusError('NOT_LEADER', {
        operation: 'metadata.forwarded',
        metadata: { leaderId: status.leaderId },
      });
    }
    if (deadline === undefined) return (await this.raft.propose(commandBytes)) as ApplyResult;
    try {
      return (await this.raft.propose(commandBytes, { signal: deadline.signal })) as ApplyResult;
    } catch (err) {
      if (deadline.signal.aborted) throw abortError(deadline.signal, 'metadata.forwarded');
      throw err;
    }
  }

  /** Operation outcomes (for metrics and logs); costs nothing while nobody listens. */
  subscribe(listener: (event: MetadataOperationEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  get stateMachine(): MetadataStateMachine {
    return this.sm;
  }

  private policy(operation: string) {
    return {
      operation,
      breaker: this.breaker,
      retry: this.retryOptions,
      attemptTimeoutMs: this.attemptTimeoutMs,
      clock: this.clock,
      timers: this.timers,
      ...(this.options.onTimeout === undefined ? {} : { onTimeout: this.options.onTimeout }),
    };
  }

  /** For writes fenced by a leader term: once this node does not lead in it, retrying cannot help. */
  private fencedPolicy(operation: string) {
    const policy = this.policy(operation);
    const isRetriable = (err: unknown) => !isStreamBusError(err, 'NOT_LEADER') && defaultIsRetriable(err);
    return { ...policy, retry: { ...policy.retry, isRetriable } };
  }

  private encode(command: MetadataCommand): Uint8Array {
    const bytes = encodeCommand(command, `${this.requestPrefix}${++this.requestSeq}`);
    try {
      decodeCommand(bytes); // the caller's values (NaN, a port of 70000) must not reach the log
    } catch (err) {
      throw new StreamBusError('INVALID_REQUEST', {
        operation: `metadata.${command.type}`,
        message: (err as Error).message,
        cause: err,
      });
    }
    return bytes;
  }

  private leaderWait(operation: string, parent: AbortSignal | undefined): LeaderWait {
    return startLeaderWait(operation, parent, {
      clock: this.clock,
      maxMs: this.leaderWaitMaxMs,
      ...(this.options.onTimeout === undefined ? {} : { onTimeout: this.options.onTimeout }),
    });
  }
}

function unwrap(result: ApplyResult, type: CommandType): MetadataWriteResult {
  if (result.ok) return result;
  throw new StreamBusError(result.code, {
    operation: `metadata.${type}`,
    message: result.message,
    metadata: { version: result.version },
  });
}
