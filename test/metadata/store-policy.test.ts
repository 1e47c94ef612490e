/**
 * The store's retry, breaker, leader-wait and forwarding rules with a fake Raft node and a manual clock:
 * nothing here waits for real time.
 */
import { describe, expect, it } from 'vitest';
import { isStreamBusError, StreamBusError } from '../../src/errors/index.js';
import { decodeCommand, encodeCommand } from '../../src/metadata/commands.js';
import { MemoryForwarder } from '../../src/metadata/forwarder.js';
import { IN_SYNC_SET_ITEMS_MAX, IN_SYNC_SETS_BYTES_MAX } from '../../src/metadata/in-sync-batches.js';
import { bindMetadataMetrics } from '../../src/metadata/observe.js';
import { MetadataStateMachine } from '../../src/metadata/state-machine.js';
import {
  type MetadataOperationEvent,
  type MetadataRaft,
  MetadataStore,
  type MetadataStoreOptions,
} from '../../src/metadata/store.js';
import type { ApplyResult } from '../../src/metadata/types.js';
import { withSpan } from '../../src/observability/tracing.js';
import type { Role } from '../../src/raft/core/types.js';
import { ManualClock } from '../../src/resilience/index.js';
import { recordSpans } from '../helpers/memory-spans.js';

type Outcome = ApplyResult | StreamBusError;

/** A Raft node whose answers are scripted; once the script runs out it applies for real. */
class FakeRaft implements MetadataRaft {
  role: Role = 'leader';
  leaderId = 1;
  term = 1;
  proposals = 0;
  readonly script: Outcome[] = [];
  readonly sm = new MetadataStateMachine();
  private index = 0;

  constructor(readonly id: number) {}

  status() {
    return { role: this.role, leaderId: this.leaderId, term: this.term };
  }

  /** Runs as each proposal arrives (to change role or term under it). */
  onPropose: (() => void) | undefined;

  async propose(data: Uint8Array): Promise<unknown> {
    this.proposals++;
    this.onPropose?.();
    const next = this.script.shift();
    if (next instanceof StreamBusError) throw next;
    if (next !== undefined) return next;
    return this.sm.apply({ term: 1, index: ++this.index, type: 'normal', data });
  }

  async readIndex(): Promise<number> {
    return this.index;
  }
}

const dropped = () => new StreamBusError('PROPOSAL_DROPPED');

function setup(extra: Partial<MetadataStoreOptions> = {}, raft = new FakeRaft(1)) {
  const clock = new ManualClock(1_000);
  const store = new MetadataStore({
    raft,
    stateMachine: raft.sm,
    clock,
    timers: clock,
    random: () => 0.5,
    attemptTimeoutMs: 1_000,
    ...extra,
  });
  return { clock, store, raft };
}

/** Settles a promise without an unhandled rejection, so the test can inspect it later. */
function track<T>(p: Promise<T>) {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error: unknown) => Object.assign(s, { done: true, error }),
  );
  return s;
}

const registerOne = (store: MetadataStore, signal?: AbortSignal) =>
  store.registerBroker(
    { brokerId: 1, clientAddress: { host: 'h', port: 1 }, peerAddress: { host: 'h', port: 2 } },
    signal === undefined ? {} : { signal },
  );

describe('MetadataStore retry', () => {
  it('retries a retriable failure with full-jitter exponential backoff (50 ms base) and then succeeds', async () => {
    const { clock, store, raft } = setup();
    raft.script.push(dropped(), dropped());
    const op = track(registerOne(store));
    await clock.advanceAsync(0);
    expect(raft.proposals).toBe(1);
    await clock.advanceAsync(24); // first backoff: 0.5 * 50 = 25 ms
    expect(raft.proposals).toBe(1);
    await clock.advanceAsync(1);
    expect(raft.proposals).toBe(2);
    await clock.advanceAsync(49); // second backoff: 0.5 * 100 = 50 ms
    expect(raft.proposals).toBe(2);
    await clock.advanceAsync(1);
    expect(raft.proposals).toBe(3);
    expect(op.value).toEqual({ ok: true, version: 1 });
    expect(store.snapshotView().brokers.get(1)?.lastHeartbeatMs).toBe(1_000);
  });

  it('gives up after 10 retries (11 attempts) with the last error; backoff is capped at 2 s', async () => {
    const { clock, store, raft } = setup({ breaker: { failureThreshold: 100 } });
    for (let i = 0; i < 20; i++) raft.script.push(dropped());
    const op = track(registerOne(store));
    // Ceilings 50, 100, ..., 1600, then 2000 x4; half of each with random 0.5: 25+50+...+800 + 4*1000 = 5575
    await clock.advanceAsync(5_574);
    expect(op.done).toBe(false);
    await clock.advanceAsync(1);
    expect(op.done).toBe(true);
    expect(isStreamBusError(op.error, 'PROPOSAL_DROPPED')).toBe(true);
    expect(raft.proposals).toBe(11);
  });

  it('a domain error is thrown as its catalogue error, not retried and not counted by the breaker', async () => {
    const { clock, store, raft } = setup();
    raft.script.push({
      ok: false,
      code: 'TOPIC_ALREADY_EXISTS',
      message: 'topic t already exists',
      version: 4,
    });
    const op = track(store.createTopic({ name: 't', assignment: [[1]] }));
    await clock.advanceAsync(0);
    expect(isStreamBusError(op.error, 'TOPIC_ALREADY_EXISTS')).toBe(true);
    expect((op.error as StreamBusError).metadata).toEqual({ version: 4 });
    expect(raft.proposals).toBe(1);
    expect(store.breaker.stats()).toMatchObject({ failures: 0, ignored: 1, state: 'closed' });
  });

  it('an abort during a backoff stops the retries with REQUEST_ABORTED', async () => {
    const { clock, store, raft } = setup();
    for (let i = 0; i < 5; i++) raft.script.push(dropped());
    const ac = new AbortController();
    const op = track(registerOne(store, ac.signal));
    await clock.advanceAsync(10);
    ac.abort();
    await clock.advanceAsync(0);
    expect(isStreamBusError(op.error, 'REQUEST_ABORTED')).toBe(true);
    await clock.advanceAsync(10_000);
    expect(raft.proposals).toBe(1);
  });

  it('an invalid value is refused with INVALID_REQUEST before anything is proposed (and reported)', async () => {
    const { store, raft } = setup();
    const events: MetadataOperationEvent[] = [];
    store.subscribe((e) => events.push(e));
    await expect(
      store.registerBroker({
        brokerId: 1,
        clientAddress: { host: 'h', port: 70_000 },
        peerAddress: { host: 'h', port: 1 },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(store.heartbeat([{ brokerId: 1, atMs: Number.NaN }])).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    expect(raft.proposals).toBe(0);
  });
});

describe('MetadataStore circuit breaker', () => {
  it('opens after consecutive failures, rejects fast with CIRCUIT_OPEN, and closes after successful trials', async () => {
    const { clock, store, raft } = setup({
      breaker: { failureThreshold: 3, openTimeoutMs: 10_000, successThreshold: 2, maxRequestsHalfOpen: 2 },
    });
    const transitions: string[] = [];
    store.breaker.subscribe((e) => {
      if (e.type === 'state-change') transitions.push(`${e.from}>${e.to}`);
    });
    for (let i = 0; i < 3; i++) raft.script.push(dropped());
    const first = track(registerOne(store));
    await clock.advanceAsync(1_000);
    // Three failed attempts opened it; the fourth attempt was rejected and CIRCUIT_OPEN is not retried.
    expect(isStreamBusError(first.error, 'CIRCUIT_OPEN')).toBe(true);
    expect(raft.proposals).toBe(3);
    const second = track(registerOne(store));
    await clock.advanceAsync(0);
    expect(isStreamBusError(second.error, 'CIRCUIT_OPEN')).toBe(true);
    expect(raft.proposals).toBe(3);
    await clock.advanceAsync(10_000);
    await expect(registerOne(store)).resolves.toMatchObject({ ok: true });
    await expect(registerOne(store)).resolves.toMatchObject({ ok: true });
    expect(transitions).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
    expect(store.breaker.stats().rejected).toBe(2);
  });

  it('an attempt that outlives its budget times out, is reported, and counts as a failure', async () => {
    const timeouts: string[] = [];
    const { clock, store, raft } = setup({
      retry: { retriesMax: 0 },
      onTimeout: (operation, ms) => timeouts.push(`${operation}:${ms}`),
    });
    raft.propose = () => new Promise(() => {});
    const op = track(registerOne(store));
    await clock.advanceAsync(999);
    expect(op.done).toBe(false);
    await clock.advanceAsync(1);
    expect(isStreamBusError(op.error, 'REQUEST_TIMED_OUT')).toBe(true);
    expect(store.breaker.stats().failures).toBe(1);
    expect(timeouts).toEqual(['metadata.registerBroker:1000']);
  });
});

describe('MetadataStore leader handling', () => {
  it('waits within one attempt while there is no leader, then proposes when this node becomes leader', async () => {
    const { clock, store, raft } = setup();
    raft.role = 'follower';
    raft.leaderId = 0;
    const op = track(registerOne(store));
    await clock.advanceAsync(500);
    expect(op.done).toBe(false);
    raft.role = 'leader';
    raft.leaderId = 1;
    await clock.advanceAsync(25);
    expect(op.value).toMatchObject({ ok: true });
    expect(store.breaker.stats().failures).toBe(0);
  });

  it('a follower forwards to the leader; an unreachable leader is retried until a reachable one appears', async () => {
    const forwarder = MemoryForwarder.create();
    const leader = setup({}, new FakeRaft(2));
    forwarder.register(2, leader.store);
    const follower = new FakeRaft(1);
    follower.role = 'follower';
    follower.leaderId = 3; // a leader that is gone
    const { clock, store } = setup({ forwarder: forwarder.forNode(1) }, follower);
    const op = track(registerOne(store));
    await clock.advanceAsync(100);
    expect(op.done).toBe(false);
    follower.leaderId = 2;
    await clock.advanceAsync(25);
    expect(op.value).toMatchObject({ ok: true, version: 1 });
    expect(leader.raft.proposals).toBe(1);
    expect(follower.proposals).toBe(0);
    expect(store.breaker.stats().failures).toBe(0);
  });

  it('a write forwarded to a leader that stopped answering moves to its successor at once', async () => {
    // The old leader (3) keeps its connection but never answers, as a SIGSTOPped process does.
    const forwarder = MemoryForwarder.create();
    const leader = setup({}, new FakeRaft(2));
    forwarder.register(2, leader.store);
    let silentForwards = 0;
    forwarder.register(3, {
      handleForwarded: () => {
        silentForwards++;
        return new Promise<ApplyResult>(() => {});
      },
    });
    const follower = new FakeRaft(1);
    follower.role = 'follower';
    follower.leaderId = 3;
    const { clock, store } = setup({ forwarder: forwarder.forNode(1), attemptTimeoutMs: 5_000 }, follower);
    const op = track(registerOne(store));
    await clock.advanceAsync(1_000);
    expect(op.done).toBe(false);
    expect(silentForwards).toBe(1);
    follower.leaderId = 2; // elected while the old one is still silent
    await clock.advanceAsync(50);
    // Well inside the 5 s attempt the forward to 3 would otherwise have waited out.
    expect(op.value).toMatchObject({ ok: true, version: 1 });
    expect(leader.raft.proposals).toBe(1);
    expect(store.breaker.stats().failures).toBe(0);
  });

  it('without a forwarder a follower fails with NOT_LEADER naming the leader', async () => {
    const raft = new FakeRaft(1);
    raft.role = 'follower';
    raft.leaderId = 2;
    const { clock, store } = setup({ retry: { retriesMax: 0 } }, raft);
    const op = track(registerOne(store));
    await clock.advanceAsync(0);
    expect(isStreamBusError(op.error, 'NOT_LEADER')).toBe(true);
    expect((op.error as StreamBusError).metadata.leaderId).toBe(2);
  });

  it('the leader side refuses malformed forwarded bytes and answers NOT_LEADER when it no longer leads', async () => {
    const { store, raft } = setup();
    await expect(store.handleForwarded(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    raft.role = 'follower';
    raft.leaderId = 3;
    const bytes = encodeCommand({ type: 'deleteTopic', name: 't' });
    await expect(store.handleForwarded(bytes)).rejects.toMatchObject({
      code: 'NOT_LEADER',
      metadata: { leaderId: 3 },
    });
    expect(raft.proposals).toBe(0);
  });

  it('a write fenced by a leader term is proposed only by the leader of that term: never forwarded, not retried', async () => {
    // The cluster coordinator's writes: a deposed coordinator's decision must not reach its successor.
    const forwarder = MemoryForwarder.create();
    const successor = setup({}, new FakeRaft(2));
    forwarder.register(2, successor.store);
    const raft = new FakeRaft(1);
    raft.term = 4;
    const { clock, store } = setup({ forwarder: forwarder.forNode(1) }, raft);
    const fenced = { leaderTerm: 4 };

    raft.role = 'follower';
    raft.leaderId = 2;
    const deposed = track(store.updateBroker({ brokerId: 3, state: 'failed' }, fenced));
    await clock.advanceAsync(0);
    expect(deposed.error).toMatchObject({ code: 'NOT_LEADER', metadata: { leaderTerm: 4, leaderId: 2 } });

    raft.role = 'leader';
    raft.leaderId = 1;
    raft.term = 5; // this node leads again, but in a later term than the decision's
    const reElected = track(store.updateBroker({ brokerId: 3, state: 'failed' }, fenced));
    await clock.advanceAsync(0);
    expect(reElected.error).toMatchObject({ code: 'NOT_LEADER', metadata: { term: 5, leaderTerm: 4 } });
    expect(store.breaker.stats().failures).toBe(0);

    // Leadership lost under the proposal: the retry finds this node a follower and stops there.
    raft.term = 4;
    raft.script.push(dropped());
    raft.onPropose = () => {
      raft.role = 'follower';
      raft.leaderId = 2;
    };
    const dropped4 = track(store.updateBroker({ brokerId: 3, state: 'failed' }, fenced));
    await clock.advanceAsync(5_000);
    expect(dropped4.error).toMatchObject({ code: 'NOT_LEADER' });
    expect(raft.proposals).toBe(1);
    expect(successor.raft.proposals).toBe(0);

    // In its own term it proposes as any leader does.
    raft.onPropose = undefined;
    raft.role = 'leader';
    raft.leaderId = 1;
    const ok = track(registerOne(store));
    await clock.advanceAsync(0);
    const inTerm = track(store.updateBroker({ brokerId: 1, state: 'alive' }, fenced));
    await clock.advanceAsync(0);
    expect(ok.value).toMatchObject({ ok: true });
    expect(inTerm.value).toMatchObject({ ok: true });
  });

  it('every retry of one operation carries the same request id, and different operations different ones', async () => {
    const { clock, store, raft } = setup();
    const ids: (string | null)[] = [];
    const propose = raft.propose.bind(raft);
    raft.script.push(dropped());
    raft.propose = (data) => {
      ids.push(decodeCommand(data).requestId);
      return propose(data);
    };
    const op = track(registerOne(store));
    await clock.advanceAsync(100);
    await op;
    await registerOne(store);
    expect(ids).toHaveLength(3);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });
});

describe('MetadataStore API', () => {
  it('each method proposes its command with the documented defaults, and the chain applies', async () => {
    const { store, raft } = setup();
    const proposed: unknown[] = [];
    const propose = raft.propose.bind(raft);
    raft.propose = (data) => {
      proposed.push(decodeCommand(data).command);
      return propose(data);
    };
    const hp = { host: 'h', port: 1 };
    await store.registerBroker({ brokerId: 1, clientAddress: hp, peerAddress: hp });
    await store.registerBroker({
      brokerId: 2,
      clientAddress: hp,
      peerAddress: hp,
      rack: 'r',
      capacityHint: 2,
      atMs: 7,
    });
    await store.updateBroker({ brokerId: 2, state: 'alive' });
    await store.heartbeat([{ brokerId: 2, atMs: 9 }]);
    await store.createTopic({ name: 't', assignment: [[1, 2]] });
    await store.addPartitions({ name: 't', assignment: [[2, 1]] });
    await store.alterTopicConfig('t', { set: { a: '1' } });
    await store.setClusterConfig({ delete: ['x'] });
    await store.updateReplicaSet({
      topic: 't',
      partition: 0,
      expectedEpoch: 0,
      replicas: [1, 2],
      isr: [1],
      leader: 1,
    });
    await store.updateLeader({ topic: 't', partition: 1, expectedEpoch: 0, leader: 1 });
    await store.recordMove({ topic: 't', partition: 0, from: 1, to: 2, state: 'pending' });
    await store.completeMove({ topic: 't', partition: 0, from: 1, to: 2 });
    await store.deleteTopic('t');
    const last = await store.unregisterBroker(2);
    expect(last.version).toBe(14);
    expect(proposed[0]).toEqual({
      type: 'registerBroker',
      brokerId: 1,
      clientAddress: hp,
      peerAddress: hp,
      rack: null,
      capacityHint: 1,
      atMs: 1_000,
    });
    expect(proposed[4]).toEqual({
      type: 'createTopic',
      name: 't',
      assignment: [[1, 2]],
      replicationFactor: 2,
      configs: {},
      internal: false,
    });
    expect(proposed[6]).toEqual({ type: 'alterTopicConfig', name: 't', set: { a: '1' }, delete: [] });
    expect(proposed[7]).toEqual({ type: 'setClusterConfig', set: {}, delete: ['x'] });
    expect(proposed.map((c) => (c as { type: string }).type)).toEqual([
      'registerBroker',
      'registerBroker',
      'updateBroker',
      'heartbeat',
      'createTopic',
      'addPartitions',
      'alterTopicConfig',
      'setClusterConfig',
      'updateReplicaSet',
      'updateLeader',
      'recordMove',
      'completeMove',
      'deleteTopic',
      'unregisterBroker',
    ]);
  });
});

describe('MetadataStore in-sync sets', () => {
  const item = (partition: number, expectedEpoch: number) => ({
    topic: 't',
    partition,
    expectedEpoch,
    leader: 1,
    isr: [1],
  });

  it('updateInSyncSets resolves with each item’s outcome: a refused item fails neither the call nor the others', async () => {
    const { store, raft } = setup();
    const hp = { host: 'h', port: 1 };
    await store.registerBroker({ brokerId: 1, clientAddress: hp, peerAddress: hp });
    await store.registerBroker({ brokerId: 2, clientAddress: hp, peerAddress: hp });
    await store.createTopic({
      name: 't',
      assignment: [
        [1, 2],
        [1, 2],
        [1, 2],
      ],
    });
    const proposals = raft.proposals;
    const r = await store.updateInSyncSets([item(0, 0), item(1, 7), item(2, 0)]);
    expect(raft.proposals).toBe(proposals + 1);
    expect(r.inSyncSets).toEqual([
      { ok: true, leaderEpoch: 1 },
      { ok: false, code: 'METADATA_CONFLICT' },
      { ok: true, leaderEpoch: 1 },
    ]);
    expect(
      store
        .snapshotView()
        .topics.get('t')
        ?.partitions.map((p) => p.isr),
    ).toEqual([[1], [1, 2], [1]]);
  });

  it('refuses an empty batch, or one past its bounds, with INVALID_REQUEST before proposing', async () => {
    const { store, raft } = setup();
    const over = Array.from({ length: IN_SYNC_SET_ITEMS_MAX + 1 }, (_, i) => item(i, 0));
    const heavy = [
      { ...item(0, 0), isr: Array.from({ length: IN_SYNC_SETS_BYTES_MAX / 9 }, (_, i) => i + 1) },
    ];
    for (const items of [[], over, heavy]) {
      await expect(store.updateInSyncSets(items)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    }
    expect(raft.proposals).toBe(0);
  });
});

describe('MetadataStore reads', () => {
  it('readLinearizable waits for a leader, then for the local replica to apply the read index', async () => {
    const { clock, store, raft } = setup();
    raft.role = 'follower';
    raft.leaderId = 0;
    let asked = 0;
    raft.readIndex = async () => {
      asked++;
      return raft.sm.appliedIndex + 1; // one entry committed that this replica has not applied yet
    };
    const read = track(store.readLinearizable());
    await clock.advanceAsync(200);
    expect(asked).toBe(0);
    raft.leaderId = 2;
    await clock.advanceAsync(25);
    expect(asked).toBe(1);
    expect(read.done).toBe(false);
    raft.sm.apply({
      term: 1,
      index: 1,
      type: 'normal',
      data: encodeCommand({ type: 'setClusterConfig', set: { a: '1' }, delete: [] }),
    });
    await clock.advanceAsync(0);
    expect(read.value?.clusterConfig).toEqual({ a: '1' });
    expect(store.breaker.stats().failures).toBe(0);
  });
});

describe('MetadataStore observability', () => {
  it('reports each operation (status, duration) and binds the metadata metrics', async () => {
    const { clock, store, raft } = setup();
    const events: MetadataOperationEvent[] = [];
    store.subscribe((e) => events.push(e));
    const counted: string[] = [];
    const observed: [string, number][] = [];
    const gauges: Record<string, number> = {};
    const gauge = (name: string) => ({
      set: (v: number) => {
        gauges[name] = v;
      },
    });
    const unbind = bindMetadataMetrics(store, {
      metadataOperationsTotal: { inc: (l) => void counted.push(`${l.operation}:${l.status}`) },
      metadataOperationDurationSeconds: { observe: (l, v) => void observed.push([l.operation, v]) },
      metadataVersion: gauge('version'),
      metadataBrokersCount: gauge('brokers'),
      metadataPartitionsCount: gauge('partitions'),
      clusterFeatureLevel: gauge('featureLevel'),
    });
    const levels = { featureLevel: 1 };
    expect(gauges).toEqual({ version: 0, brokers: 0, partitions: 0, ...levels });
    raft.script.push(dropped());
    const op = track(registerOne(store));
    await clock.advanceAsync(25);
    await op;
    await store.createTopic({ name: 't', assignment: [[1], [1]] });
    await expect(store.createTopic({ name: 't', assignment: [[1]] })).rejects.toMatchObject({
      code: 'TOPIC_ALREADY_EXISTS',
    });
    expect(events.map((e) => [e.operation, e.status, e.durationMs, e.code])).toEqual([
      ['registerBroker', 'success', 25, undefined],
      ['createTopic', 'success', 0, undefined],
      ['createTopic', 'failure', 0, 'TOPIC_ALREADY_EXISTS'],
    ]);
    expect(counted).toEqual(['registerBroker:success', 'createTopic:success', 'createTopic:failure']);
    expect(observed[0]).toEqual(['registerBroker', 0.025]);
    expect(gauges).toEqual({ version: 2, brokers: 1, partitions: 2, ...levels });
    unbind();
    await store.deleteTopic('t');
    expect(gauges.partitions).toBe(2);
  });
});

describe('MetadataStore spans', () => {
  it('wraps each write in a streambus.metadata.propose span: command, broker, attempts, local or forwarded, outcome', async () => {
    const recorded = await recordSpans();
    try {
      const forwarder = MemoryForwarder.create();
      const leader = setup({ spans: withSpan }, new FakeRaft(2));
      forwarder.register(2, leader.store);
      const followerRaft = new FakeRaft(1);
      followerRaft.role = 'follower';
      followerRaft.leaderId = 2;
      const follower = setup({ spans: withSpan, forwarder: forwarder.forNode(1) }, followerRaft);

      leader.raft.script.push(dropped());
      const retried = track(registerOne(leader.store));
      await leader.clock.advanceAsync(100);
      expect(retried.done).toBe(true);
      const forwarded = track(follower.store.updateBroker({ brokerId: 1, state: 'alive' }));
      await follower.clock.advanceAsync(100);
      expect(forwarded.done).toBe(true);
      leader.raft.script.push(new StreamBusError('INVALID_REQUEST'));
      await expect(leader.store.updateBroker({ brokerId: 1, state: 'draining' })).rejects.toThrow();

      const spans = await recorded.named('streambus.metadata.propose');
      expect(spans.map((s) => s.attributes)).toEqual([
        {
          'streambus.command': 'registerBroker',
          'streambus.broker_id': 2,
          'streambus.attempts': 2,
          'streambus.forwarded': false,
          'streambus.outcome': 'success',
        },
        // The follower's write, forwarded to the leader (whose store proposes without a span of its own).
        {
          'streambus.command': 'updateBroker',
          'streambus.broker_id': 1,
          'streambus.attempts': 1,
          'streambus.forwarded': true,
          'streambus.outcome': 'success',
        },
        {
          'streambus.command': 'updateBroker',
          'streambus.broker_id': 2,
          'streambus.attempts': 1,
          'streambus.forwarded': false,
          'streambus.outcome': 'INVALID_REQUEST',
        },
      ]);
      expect(spans[2]?.status.code).toBe(2); // ERROR
    } finally {
      await recorded.stop();
    }
  });
});
