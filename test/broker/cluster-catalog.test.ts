/**
 * ClusterTopicCatalog against a real MetadataStore (one-voter in-memory Raft) shared by three "brokers",
 * each with its own catalog, RaftHost and ReplicaManager (in-memory partition stores): placement is recorded
 * in the metadata, a broker opens replicas only for what it is assigned, only a partition's Raft leader
 * serves it, and deleting a topic closes and removes every replica.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterTopicCatalog } from '../../src/broker/cluster-catalog.js';
import type { HandlerContext, RequestSource } from '../../src/broker/handlers/context.js';
import { handleFetch } from '../../src/broker/handlers/fetch.js';
import { handleDescribeTopics, handleMetadata } from '../../src/broker/handlers/topics.js';
import type { PartitionReplica } from '../../src/broker/replica/partition-replica.js';
import { ReplicaManager } from '../../src/broker/replica/replica-manager.js';
import { topicConfigs } from '../../src/broker/topic-configs.js';
import { isStreamBusError } from '../../src/errors/index.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { silentLogger } from '../../src/observability/index.js';
import { DECOMPRESSED_RECORDS_BYTES_MAX } from '../../src/protocol/limits.js';
import type { CreateTopicSpec, FetchPartitionResult } from '../../src/protocol/messages.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { RaftHost } from '../../src/raft/host.js';
import { MemoryHub } from '../../src/raft/transport/memory-transport.js';
import { Deadline } from '../../src/resilience/deadline.js';
import { DEFAULT_LOG_CONFIG } from '../../src/storage/config.js';
import { resolveLogConfig } from '../../src/storage/topic-config.js';
import { MemoryPartitionStore } from '../helpers/memory-partition-store.js';
import { batchOf, codeOf as wireCodeOf } from '../helpers/wire.js';
import {
  addr,
  leaderOf,
  type MetaCluster,
  type MetaMember,
  startMetaCluster,
  stopMetaCluster,
  waitFor,
} from '../metadata/cluster-helpers.js';

interface Broker {
  id: number;
  host: RaftHost;
  replicas: ReplicaManager;
  catalog: ClusterTopicCatalog;
  stores: Map<string, MemoryPartitionStore>;
  opened: string[];
  removed: string[];
}

let meta: MetaCluster | undefined;
let brokers: Broker[] = [];
/** The brokers' Raft network of the last setup(): tests cut links on it. */
let network = new MemoryHub();

afterEach(async () => {
  for (const b of brokers) await b.replicas.stop();
  for (const b of brokers) await b.host.stop();
  brokers = [];
  await stopMetaCluster(meta);
  meta = undefined;
});

function startBroker(hub: MemoryHub, member: MetaMember, id: number): Broker {
  const host = new RaftHost({ nodeId: id, transport: hub.transport(id), tickIntervalMs: 10 });
  const stores = new Map<string, MemoryPartitionStore>();
  const opened: string[] = [];
  const removed: string[] = [];
  const replicas = new ReplicaManager({
    brokerId: id,
    dataDir: `/data/${id}`,
    host,
    metadata: member.store,
    openStore: async ({ dir, bootstrapVoters }) => {
      const existing = stores.get(dir);
      if (existing !== undefined) return existing;
      const store =
        bootstrapVoters === undefined
          ? new MemoryPartitionStore()
          : MemoryPartitionStore.bootstrapped(bootstrapVoters);
      stores.set(dir, store);
      opened.push(dir);
      return store;
    },
    storeExists: async (dir) => stores.has(dir),
    removeStore: async (dir) => {
      stores.delete(dir);
      removed.push(dir);
    },
    logger: silentLogger(),
    nowMs: () => Date.now(),
    batchBytesMax: 1 << 20,
    proposalTimeoutMs: 2_000,
    retryIntervalMs: 50,
    storeConfig: (topic) =>
      resolveLogConfig(DEFAULT_LOG_CONFIG, topicConfigs(member.store.snapshotView(), topic)),
  });
  replicas.start();
  const catalog = new ClusterTopicCatalog({
    store: member.store,
    replicas,
    brokerId: id,
    logger: silentLogger(),
    raftLeaderId: () => member.node.status().leaderId,
    heartbeatTimeoutMs: 1_000,
    logDefaults: DEFAULT_LOG_CONFIG,
  });
  return { id, host, replicas, catalog, stores, opened, removed };
}

/**
 * Registers `ids` in a one-voter metadata group (on its own hub, so its node id never meets a broker's),
 * marks `alive` alive, and starts each broker's Raft host, replica manager and catalog.
 */
async function setup(
  ids = [1, 2, 3],
  alive = ids,
  racks: Readonly<Record<number, string>> = {},
): Promise<MetaMember> {
  meta = await startMetaCluster(new MemoryHub(), [1]);
  const member = await waitFor('a metadata leader', () => (meta ? leaderOf(meta) : undefined));
  for (const id of ids) {
    await member.store.registerBroker({
      brokerId: id,
      clientAddress: addr(9000 + id),
      peerAddress: addr(9100 + id),
      rack: racks[id] ?? null,
    });
    if (alive.includes(id)) await member.store.updateBroker({ brokerId: id, state: 'alive' });
  }
  network = new MemoryHub();
  for (const id of ids) brokers.push(startBroker(network, member, id));
  return member;
}

function broker(id: number): Broker {
  const b = brokers.find((x) => x.id === id);
  if (b === undefined) throw new Error(`no broker ${id}`);
  return b;
}

function raftLeader(
  topic: string,
  partition: number,
): { broker: Broker; replica: PartitionReplica } | undefined {
  for (const b of brokers) {
    const replica = b.replicas.replica(topic, partition);
    if (replica?.isLeader()) return { broker: b, replica };
  }
  return undefined;
}

/**
 * Waits until every partition of `topic` has a Raft leader that the metadata names as the partition's
 * leader; returns the leaders' broker ids by partition.
 */
async function published(member: MetaMember, topic: string, partitions: number): Promise<number[]> {
  return waitFor(`the Raft leaders of ${topic} published in the metadata`, () => {
    const record = member.store.snapshotView().topics.get(topic);
    const leaders: number[] = [];
    for (let p = 0; p < partitions; p++) {
      const leader = raftLeader(topic, p)?.broker.id;
      if (leader === undefined || record?.partitions[p]?.leader !== leader) return undefined;
      leaders.push(leader);
    }
    return leaders;
  });
}

async function settled(): Promise<void> {
  for (const b of brokers) await b.replicas.settled();
}

function spec(name: string, partitions: number, replicationFactor: number): CreateTopicSpec {
  return { name, partitions, replicationFactor, configs: {} };
}

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    return isStreamBusError(err) ? err.code : String(err);
  }
}

function caughtBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function valuesOf(replica: PartitionReplica): Promise<(string | undefined)[]> {
  const { records } = await replica.read(0, 1 << 20);
  return [...splitBatches(records)].flatMap((b) => decodeRecords(b).map((r) => r.value?.toString()));
}

describe('ClusterTopicCatalog', () => {
  it('records a round-robin placement in the metadata: distinct replicas, preferred leaders spread evenly, Raft leaders published', async () => {
    const member = await setup();
    await broker(2).catalog.createTopic({ ...spec('orders', 6, 3), configs: { retention_ms: '60000' } });

    const created = member.store.snapshotView().topics.get('orders');
    expect(created?.replicationFactor).toBe(3);
    expect(created?.configs).toEqual({ retention_ms: '60000' });
    expect(created?.partitions).toHaveLength(6);
    const preferred = new Map<number, number>();
    for (const p of created?.partitions ?? []) {
      expect(new Set(p.replicas).size).toBe(3);
      const first = p.replicas[0] ?? -1;
      preferred.set(first, (preferred.get(first) ?? 0) + 1);
    }
    expect([...preferred.entries()].sort()).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);

    const leaders = await published(member, 'orders', 6);
    const record = member.store.snapshotView().topics.get('orders');
    for (let p = 0; p < 6; p++) {
      // Publishing a leader changes neither the replica set nor the ISR.
      expect(record?.partitions[p]?.replicas).toEqual(created?.partitions[p]?.replicas);
      expect(record?.partitions[p]?.replicas).toContain(leaders[p]);
    }
    for (const b of brokers) {
      expect(b.catalog.topic('orders')).toMatchObject({
        partitions: 6,
        replicationFactor: 3,
        internal: false,
      });
      expect(b.catalog.topic('orders')?.configs.retention_ms).toBe('60000');
      for (let p = 0; p < 6; p++) {
        const want = record?.partitions[p];
        expect(b.catalog.placement('orders', p)).toEqual({
          leaderId: leaders[p],
          leaderEpoch: want?.leaderEpoch,
          replicas: want?.replicas,
          isr: want?.isr,
          pinned: false,
        });
      }
      expect(b.catalog.brokers().map((x) => `${x.id}@${x.host}:${x.port}`)).toEqual([
        '1@127.0.0.1:9001',
        '2@127.0.0.1:9002',
        '3@127.0.0.1:9003',
      ]);
      expect(b.catalog.controllerId()).toBe(1);
    }
  });

  it('places each partition on as many racks as it has replicas when brokers have racks (the default strategy), also partitions added later', async () => {
    const racks = { 1: 'a', 2: 'a', 3: 'b', 4: 'b', 5: 'c', 6: 'c' };
    const member = await setup([1, 2, 3, 4, 5, 6], undefined, racks);
    await broker(1).catalog.createTopic(spec('racked', 12, 3));
    await broker(4).catalog.createPartitions({ name: 'racked', count: 18 }, false);
    const record = member.store.snapshotView().topics.get('racked');
    expect(record?.partitions).toHaveLength(18);
    for (const p of record?.partitions ?? []) {
      const onRacks = new Set(p.replicas.map((id) => racks[id as keyof typeof racks]));
      expect(onRacks.size, `partition ${p.partition} on ${p.replicas.join(',')}`).toBe(3);
    }
  });

  it("places a topic and added partitions where an operator's assignment says; refuses a bad one and writes nothing", async () => {
    const member = await setup([1, 2, 3, 4]);
    const pinned = () => member.store.snapshotView().topics.get('pinned');
    await broker(2).catalog.createTopic({
      ...spec('pinned', -1, -1),
      assignments: [
        [4, 1],
        [3, 4],
      ],
    });
    expect(pinned()?.replicationFactor).toBe(2);
    await broker(1).catalog.createPartitions({ name: 'pinned', count: 3, assignments: [[2, 3]] }, false);
    expect(pinned()?.partitions.map((p) => p.replicas)).toEqual([
      [4, 1],
      [3, 4],
      [2, 3],
    ]);
    await settled();
    for (const b of brokers) {
      const hosted = b.replicas
        .replicas()
        .filter((r) => r.topic === 'pinned')
        .map((r) => r.partition)
        .sort();
      const assigned = (pinned()?.partitions ?? [])
        .filter((p) => p.replicas.includes(b.id))
        .map((p) => p.partition);
      expect(hosted, `broker ${b.id}`).toEqual(assigned);
    }

    const refused = (fn: () => unknown) => codeOf(fn);
    expect(
      await refused(() => broker(1).catalog.createTopic({ ...spec('bad', -1, -1), assignments: [[1, 9]] })),
    ).toBe('INVALID_REPLICA_ASSIGNMENT');
    // Two partitions added, one list; a list of the wrong width for the topic's replication factor.
    expect(
      await refused(() =>
        broker(1).catalog.createPartitions({ name: 'pinned', count: 5, assignments: [[1, 2]] }, false),
      ),
    ).toBe('INVALID_REPLICA_ASSIGNMENT');
    // The refusal names the partition being added (3), not the list's index in the request.
    await expect(
      broker(1).catalog.createPartitions({ name: 'pinned', count: 4, assignments: [[1]] }, false),
    ).rejects.toMatchObject({
      code: 'INVALID_REPLICA_ASSIGNMENT',
      message: 'pinned: the replication factor is 2, but partition 3 lists 1 replicas',
    });
    expect(member.store.snapshotView().topics.has('bad')).toBe(false);
    expect(pinned()?.partitions).toHaveLength(3);
    // validateOnly checks an assignment and creates nothing.
    broker(3).catalog.validateTopic({
      ...spec('checked', 2, 2),
      assignments: [
        [1, 2],
        [2, 3],
      ],
    });
    expect(
      caughtBy(() => broker(3).catalog.validateTopic({ ...spec('checked', 3, 2), assignments: [[1, 2]] })),
    ).toMatchObject({ code: 'INVALID_REPLICA_ASSIGNMENT' });
    expect(member.store.snapshotView().topics.has('checked')).toBe(false);
  });

  it("pins an operator's assignment once the cluster's feature level includes pins, and describe shows it", async () => {
    const member = await setup([1, 2, 3]);
    const pins = (topic: string) =>
      member.store
        .snapshotView()
        .topics.get(topic)
        ?.partitions.map((p) => p.pinned === true);
    // Below the level (a rolling upgrade from a build without pins): placed as that build would, unpinned.
    await broker(1).catalog.createTopic({ ...spec('early', -1, -1), assignments: [[1, 2]] });
    expect(pins('early')).toEqual([false]);
    const brokers = [...member.store.snapshotView().brokers.values()].map((b) => ({
      brokerId: b.id,
      epoch: b.epoch,
    }));
    await member.store.finalizeFeatureLevel({ level: FEATURE.pinnedAssignments, brokers });
    await broker(2).catalog.createTopic({
      ...spec('manual', -1, -1),
      assignments: [
        [1, 2],
        [2, 3],
      ],
    });
    await broker(2).catalog.createTopic(spec('placed', 2, 2));
    expect(pins('manual')).toEqual([true, true]);
    expect(pins('placed')).toEqual([false, false]);
    // Added partitions are pinned when the operator places them, whatever the topic's others are.
    await broker(3).catalog.createPartitions({ name: 'manual', count: 3 }, false);
    await broker(3).catalog.createPartitions({ name: 'placed', count: 3, assignments: [[3, 1]] }, false);
    expect(pins('manual')).toEqual([true, true, false]);
    expect(pins('placed')).toEqual([false, false, true]);
    await settled();
    const ctx = { catalog: broker(1).catalog, clusterId: () => 'test-cluster' } as unknown as HandlerContext;
    const described = handleDescribeTopics(ctx, { topics: ['manual', 'placed'] });
    expect(described.topics.map((t) => t.partitions.map((p) => p.pinned))).toEqual([
      [true, true, false],
      [false, false, true],
    ]);
  });

  it("describe shows a reassignment's target while the replicas are not that list yet, and none otherwise", async () => {
    const member = await setup([1, 2, 3]);
    const brokers = [...member.store.snapshotView().brokers.values()].map((b) => ({
      brokerId: b.id,
      epoch: b.epoch,
    }));
    await member.store.finalizeFeatureLevel({ level: FEATURE.reassignmentReplicationFactor, brokers });
    await broker(1).catalog.createTopic({
      ...spec('grown', -1, -1),
      assignments: [
        [1, 2],
        [2, 3],
      ],
    });
    await member.store.alterPartitionAssignments({
      topic: 'grown',
      partitions: [{ partition: 0, replicas: [1, 2, 3] }],
    });
    await settled();
    const ctx = { catalog: broker(2).catalog, clusterId: () => 'test-cluster' } as unknown as HandlerContext;
    const [described] = handleDescribeTopics(ctx, { topics: ['grown'] }).topics;
    expect(described?.partitions[0]).toMatchObject({
      replicas: [1, 2],
      targetReplicas: [1, 2, 3],
      pinned: true,
    });
    expect(Object.hasOwn(described?.partitions[1] ?? {}, 'targetReplicas')).toBe(false);
  });

  it('a broker opens replicas only for partitions it is assigned', async () => {
    const member = await setup();
    await broker(1).catalog.createTopic(spec('single', 1, 1));
    await broker(1).catalog.createTopic(spec('everywhere', 3, 3));
    await settled();

    const view = member.store.snapshotView();
    const owner = view.topics.get('single')?.partitions[0]?.replicas[0];
    for (const b of brokers) {
      const assigned = [...view.topics.values()]
        .flatMap((t) =>
          t.partitions.filter((p) => p.replicas.includes(b.id)).map((p) => `${t.name}-${p.partition}`),
        )
        .sort();
      const hosted = b.replicas
        .replicas()
        .map((r) => `${r.topic}-${r.partition}`)
        .sort();
      expect(hosted, `broker ${b.id}`).toEqual(assigned);
      expect(hosted.includes('single-0'), `broker ${b.id} hosts single-0`).toBe(b.id === owner);
      expect(hosted.filter((k) => k.startsWith('everywhere-'))).toHaveLength(3);
      expect(b.stores.size).toBe(hosted.length);
    }
  });

  it('serves a partition only on its Raft leader: NOT_LEADER elsewhere (with leaderId), UNKNOWN_TOPIC_OR_PARTITION when metadata does not know it', async () => {
    const member = await setup();
    // Two replicas of three partitions: each partition has a follower and a broker that does not host it.
    await broker(3).catalog.createTopic(spec('events', 3, 2));
    const leaders = await published(member, 'events', 3);
    const record = member.store.snapshotView().topics.get('events');
    for (let p = 0; p < 3; p++) {
      const leader = leaders[p];
      expect(record?.partitions[p]?.replicas).toHaveLength(2);
      expect(brokers.filter((b) => !record?.partitions[p]?.replicas.includes(b.id))).toHaveLength(1);
      for (const b of brokers) {
        if (b.id === leader) {
          const served = b.catalog.partition('events', p);
          expect(served).toBe(b.replicas.replica('events', p));
          const { baseOffset } = await served.append(batchOf([`a${p}`, `b${p}`]));
          expect(baseOffset).toBe(0);
          expect(served.highWatermark()).toBe(2);
          expect(await valuesOf(served as PartitionReplica)).toEqual([`a${p}`, `b${p}`]);
        } else {
          const caught = caughtBy(() => b.catalog.partition('events', p));
          expect(isStreamBusError(caught) && caught.code, `broker ${b.id}, partition ${p}`).toBe(
            'NOT_LEADER',
          );
          expect(isStreamBusError(caught) && caught.metadata.leaderId).toBe(leader);
        }
      }
    }
    expect(await codeOf(() => broker(1).catalog.partition('events', 3))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await codeOf(() => broker(1).catalog.partition('missing', 0))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('deleting a topic removes it from the metadata and closes and removes its replicas on every broker', async () => {
    const member = await setup();
    await broker(1).catalog.createTopic(spec('doomed', 3, 3));
    const leaders = await published(member, 'doomed', 3);
    const leader = broker(leaders[0] ?? -1);
    const replica = leader.catalog.partition('doomed', 0) as PartitionReplica;
    await replica.append(batchOf(['x']));
    for (const b of brokers) expect(b.opened, `broker ${b.id}`).toHaveLength(3);

    await broker(2).catalog.deleteTopic('doomed');
    expect(member.store.snapshotView().topics.has('doomed')).toBe(false);
    await waitFor('every replica of doomed closed and removed', () =>
      brokers.every((b) => b.replicas.replicas().length === 0 && b.removed.length === 3),
    );
    expect(replica.isLeader()).toBe(false);
    expect(await codeOf(() => replica.append(batchOf(['y'])))).toBe('LEADER_NOT_AVAILABLE');
    for (const b of brokers) {
      expect([...b.removed].sort(), `broker ${b.id}`).toEqual([...b.opened].sort());
      expect(b.stores.size).toBe(0);
      expect(b.catalog.topic('doomed')).toBeUndefined();
      expect(b.replicas.replica('doomed', 0)).toBeUndefined();
      expect(await codeOf(() => b.catalog.partition('doomed', 0))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    }
    expect(await codeOf(() => broker(1).catalog.deleteTopic('doomed'))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('refuses a replication factor above the alive brokers with INVALID_REPLICATION_FACTOR; -1 means min(3, alive)', async () => {
    const member = await setup([1, 2, 3], [1, 2]);
    let caught: unknown;
    try {
      await broker(1).catalog.createTopic(spec('wide', 2, 3));
    } catch (err) {
      caught = err;
    }
    expect(isStreamBusError(caught) && caught.code).toBe('INVALID_REPLICATION_FACTOR');
    expect((caught as Error).message).toContain('2 are alive (1, 2)');
    expect(await codeOf(() => broker(1).catalog.validateTopic(spec('wide', 2, 3)))).toBe(
      'INVALID_REPLICATION_FACTOR',
    );
    expect(member.store.snapshotView().topics.has('wide')).toBe(false);

    await broker(1).catalog.createTopic(spec('defaulted', 2, -1));
    const record = member.store.snapshotView().topics.get('defaulted');
    expect(record?.replicationFactor).toBe(2);
    expect(record?.partitions.every((p) => p.replicas.length === 2 && !p.replicas.includes(3))).toBe(true);
    await settled();
    expect(broker(3).replicas.replicas()).toHaveLength(0);
  });

  it('answers TOPIC_ALREADY_EXISTS, also when two brokers race to create the same topic', async () => {
    await setup();
    await broker(1).catalog.createTopic(spec('taken', 1, 1));
    expect(await codeOf(() => broker(2).catalog.createTopic(spec('taken', 1, 1)))).toBe(
      'TOPIC_ALREADY_EXISTS',
    );
    expect(await codeOf(() => broker(2).catalog.validateTopic(spec('taken', 1, 1)))).toBe(
      'TOPIC_ALREADY_EXISTS',
    );

    // Both pass the local check; the state machine refuses the second, and its code reaches the caller.
    const results = await Promise.allSettled([
      broker(1).catalog.createTopic(spec('raced', 2, 2)),
      broker(2).catalog.createTopic(spec('raced', 2, 2)),
    ]);
    const codes = results.map((r) =>
      r.status === 'fulfilled' ? 'ok' : isStreamBusError(r.reason) ? r.reason.code : String(r.reason),
    );
    expect(codes.sort()).toEqual(['TOPIC_ALREADY_EXISTS', 'ok']);
  });

  it('rejects invalid names, partition counts and configs before proposing anything', async () => {
    const member = await setup();
    const before = member.store.snapshotView().version;
    expect(await codeOf(() => broker(1).catalog.createTopic(spec('bad/name', 1, 1)))).toBe(
      'INVALID_TOPIC_NAME',
    );
    expect(await codeOf(() => broker(1).catalog.createTopic(spec('zero', 0, 1)))).toBe('INVALID_PARTITIONS');
    expect(
      await codeOf(() => broker(1).catalog.createTopic({ ...spec('cfg', 1, 1), configs: { nope: '1' } })),
    ).toBe('INVALID_TOPIC_CONFIG');
    // acks=all writes could never be accepted: more replicas required in sync than the topic has.
    const tooMany = caughtBy(() =>
      broker(1).catalog.validateTopic({ ...spec('strict', 1, 1), configs: { min_insync_replicas: '2' } }),
    );
    expect(tooMany).toMatchObject({ code: 'INVALID_TOPIC_CONFIG' });
    expect((tooMany as Error).message).toContain('replication factor 1');
    expect(
      await codeOf(() =>
        broker(1).catalog.createTopic({ ...spec('strict', 1, 1), configs: { min_insync_replicas: '2' } }),
      ),
    ).toBe('INVALID_TOPIC_CONFIG');
    expect(member.store.snapshotView().version).toBe(before);
  });
});

describe('Configs through the cluster catalog', () => {
  const entryOf = (entries: { key: string; value: string; source: string }[], key: string) =>
    entries.find((e) => e.key === key);

  it('a cluster default and a topic override written on one broker are what every broker describes, and reach every replica store', async () => {
    const member = await setup();
    await broker(1).catalog.createTopic(spec('cfg', 1, 3));
    await settled();

    await broker(2).catalog.alterConfigs(
      { type: 'cluster', name: '', set: { retention_ms: '120000' }, delete: [] },
      false,
    );
    await broker(3).catalog.alterConfigs(
      { type: 'topic', name: 'cfg', set: { segment_ms: '5000' }, delete: [] },
      false,
    );
    await waitFor('every broker applied both changes', () =>
      brokers.every((b) => entryOf(b.catalog.describeConfigs({ type: 'topic', name: 'cfg' }), 'segment_ms'))
        ? true
        : undefined,
    );
    for (const b of brokers) {
      const topic = b.catalog.describeConfigs({ type: 'topic', name: 'cfg' });
      expect(entryOf(topic, 'retention_ms'), `broker ${b.id}`).toEqual({
        key: 'retention_ms',
        value: '120000',
        source: 'cluster',
      });
      expect(entryOf(topic, 'segment_ms')).toEqual({ key: 'segment_ms', value: '5000', source: 'topic' });
      // DescribeTopics (topic describe) lists the topic's own overrides, not the cluster default it inherits.
      expect(b.catalog.topic('cfg')?.configs).toEqual({ segment_ms: '5000' });
      expect(entryOf(topic, 'retention_bytes')).toEqual({
        key: 'retention_bytes',
        value: String(DEFAULT_LOG_CONFIG.retentionBytes),
        source: 'default',
      });
      const cluster = b.catalog.describeConfigs({ type: 'cluster', name: '' });
      expect(entryOf(cluster, 'retention_ms')?.source).toBe('cluster');
      expect(entryOf(cluster, 'segment_ms')?.source).toBe('default');
    }
    await settled();
    for (const b of brokers) {
      for (const store of b.stores.values()) {
        expect(store.config?.retentionMs, `broker ${b.id}`).toBe(120_000);
        expect(store.config?.segmentMs).toBe(5000);
      }
    }
    expect(member.store.snapshotView().clusterConfig).toEqual({ retention_ms: '120000' });

    // Deleting the override lets the cluster default show through again.
    await broker(1).catalog.alterConfigs(
      { type: 'cluster', name: '', set: { segment_ms: '7000' }, delete: ['retention_ms'] },
      false,
    );
    await broker(1).catalog.alterConfigs(
      { type: 'topic', name: 'cfg', set: {}, delete: ['segment_ms'] },
      false,
    );
    const after = broker(1).catalog.describeConfigs({ type: 'topic', name: 'cfg' });
    expect(entryOf(after, 'segment_ms')).toEqual({ key: 'segment_ms', value: '7000', source: 'cluster' });
    expect(entryOf(after, 'retention_ms')?.source).toBe('default');
  });

  it('a replica leader refuses a gzip bomb (records inflating past the bound) with BATCH_TOO_LARGE, writing nothing', async () => {
    const member = await setup();
    await broker(1).catalog.createTopic(spec('gz', 1, 3));
    await published(member, 'gz', 1);
    await waitFor('a leader', () => raftLeader('gz', 0));
    const bomb = encodeRecordBatch([{ value: Buffer.alloc(DECOMPRESSED_RECORDS_BYTES_MAX + 1024) }], {
      baseTimestamp: Date.now(),
      compression: 'gzip',
    });
    expect(await codeOf(() => raftLeader('gz', 0)!.replica.append(bomb))).toBe('BATCH_TOO_LARGE');
    const outcome = await raftLeader('gz', 0)!.replica.append(batchOf(['after']));
    expect(outcome.baseOffset).toBe(0);
  });

  it('a replica leader proposes appends in the order they arrived, although a gzip batch is inflated first', async () => {
    const member = await setup();
    await broker(1).catalog.createTopic(spec('order', 1, 3));
    await published(member, 'order', 1);
    await waitFor('a leader', () => raftLeader('order', 0));
    const leader = raftLeader('order', 0)!.replica;
    const gzip = encodeRecordBatch([{ value: Buffer.alloc(32 * 1024 * 1024) }], {
      baseTimestamp: Date.now(),
      compression: 'gzip',
    });
    const outcomes = await Promise.all(
      [gzip, batchOf(['b']), batchOf(['c'])].map((b) => leader.append(b, 1)),
    );
    expect(outcomes.map((o) => o.baseOffset)).toEqual([0, 1, 2]);
  });

  it('a lowered max_message_bytes reaches the open replica: its leader refuses a batch it accepted before', async () => {
    const member = await setup();
    await broker(1).catalog.createTopic(spec('big', 1, 3));
    await published(member, 'big', 1);
    const batch = batchOf(['v'.repeat(500)]);
    await waitFor('a leader', () => raftLeader('big', 0));
    await raftLeader('big', 0)!.replica.append(batch);

    await broker(2).catalog.alterConfigs(
      { type: 'topic', name: 'big', set: { max_message_bytes: '200' }, delete: [] },
      false,
    );
    await settled();
    expect(await codeOf(() => raftLeader('big', 0)!.replica.append(batch))).toBe('BATCH_TOO_LARGE');
    await broker(3).catalog.alterConfigs(
      { type: 'topic', name: 'big', set: {}, delete: ['max_message_bytes'] },
      false,
    );
    await settled();
    await raftLeader('big', 0)!.replica.append(batch);
  });

  it('rejects unknown keys, bad values and unknown topics, and validateOnly changes nothing', async () => {
    const member = await setup();
    await broker(1).catalog.createTopic(spec('cfg', 1, 1));
    const before = member.store.snapshotView().version;
    const alter = (
      type: 'topic' | 'cluster',
      name: string,
      set: Record<string, string>,
      del: string[] = [],
    ) => codeOf(() => broker(1).catalog.alterConfigs({ type, name, set, delete: del }, false));
    expect(await alter('cluster', '', { nope: '1' })).toBe('INVALID_TOPIC_CONFIG');
    expect(await alter('topic', 'cfg', { retention_ms: 'soon' })).toBe('INVALID_TOPIC_CONFIG');
    expect(await alter('topic', 'cfg', {}, ['nope'])).toBe('INVALID_TOPIC_CONFIG');
    expect(await alter('topic', 'cfg', { segment_ms: '10' }, ['segment_ms'])).toBe('INVALID_TOPIC_CONFIG');
    expect(await alter('topic', 'missing', { segment_ms: '10' })).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await alter('topic', 'cfg', { min_insync_replicas: '2' })).toBe('INVALID_TOPIC_CONFIG'); // RF 1
    await broker(1).catalog.alterConfigs(
      { type: 'topic', name: 'cfg', set: { segment_ms: '10' }, delete: [] },
      true,
    );
    expect(member.store.snapshotView().version).toBe(before);
    expect(
      caughtBy(() => broker(1).catalog.describeConfigs({ type: 'topic', name: 'missing' })),
    ).toMatchObject({
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
  });
});

describe('Metadata and DescribeTopics from the cluster catalog', () => {
  it('report the metadata placement; a partition led by a failed broker is LEADER_NOT_AVAILABLE, stats only where served', async () => {
    const member = await setup();
    await broker(1).catalog.createTopic(spec('placed', 3, 2));
    const leaders = await published(member, 'placed', 3);
    for (let p = 0; p < 3; p++) {
      await broker(leaders[p] ?? -1)
        .catalog.partition('placed', p)
        .append(batchOf([`v${p}`]));
    }
    // Round-robin replica sets of two over three brokers share no broker among all three partitions, so at
    // least two brokers lead: one serves here, another is failed.
    const here = leaders[0] ?? -1;
    const failed = leaders.find((id) => id !== here) ?? -1;
    expect(failed).not.toBe(-1);
    await member.store.updateBroker({ brokerId: failed, state: 'failed' });
    const record = member.store.snapshotView().topics.get('placed');

    const ctx = {
      catalog: broker(here).catalog,
      clusterId: () => 'test-cluster',
    } as unknown as HandlerContext;
    const md = handleMetadata(ctx, { topics: ['placed'] });
    expect(md.controllerId).toBe(1);
    expect(md.brokers.map((b) => b.id)).toEqual([1, 2, 3].filter((id) => id !== failed));
    expect(md.topics[0]?.partitions).toHaveLength(3);
    for (const p of md.topics[0]?.partitions ?? []) {
      const want = record?.partitions[p.partition];
      expect(p).toMatchObject({ leaderId: leaders[p.partition], replicas: want?.replicas, isr: want?.isr });
      expect(wireCodeOf(p.error), `partition ${p.partition}`).toBe(
        leaders[p.partition] === failed ? 'LEADER_NOT_AVAILABLE' : null,
      );
    }

    const described = handleDescribeTopics(ctx, { topics: ['placed'] }).topics[0];
    expect(described?.partitions).toHaveLength(3);
    for (const p of described?.partitions ?? []) {
      const servedHere = leaders[p.partition] === here;
      expect(p.leaderId).toBe(leaders[p.partition]);
      expect(p.highWatermark, `partition ${p.partition}`).toBe(servedHere ? 1 : -1);
      expect(p.logStartOffset).toBe(servedHere ? 0 : -1);
      expect(p.sizeBytes > 0).toBe(servedHere);
    }
  });
});

describe('Fetch from followers through the cluster catalog (KIP-392)', () => {
  const RACKS: Readonly<Record<number, string>> = { 1: 'a', 2: 'b', 3: 'c' };

  /** A broker's fetch handler; `asFollower` counts the messages it read from its follower copy. */
  function fetcher(id: number): {
    fetch: (offset: number, rackId?: string, maxWaitMs?: number) => Promise<FetchPartitionResult>;
    fetchAll: (
      asks: readonly { topic: string; offset: number }[],
      rackId: string,
      maxWaitMs: number,
    ) => Promise<FetchPartitionResult[]>;
    asFollower: () => number;
  } {
    let asFollower = 0;
    const ctx = {
      catalog: broker(id).catalog,
      clock: { nowMs: () => Date.now() },
      limits: { fetchWaitMaxMs: 600_000, fetchBytesMax: 1 << 20 },
      observer: {
        onFetched: () => {},
        onFetchedAsFollower: (_topic: string, messages: number) => {
          asFollower += messages;
        },
      },
      shutdownSignal: new AbortController().signal,
    } as unknown as HandlerContext;
    const fetchAll = async (
      asks: readonly { topic: string; offset: number }[],
      rackId: string | undefined,
      maxWaitMs: number,
    ): Promise<FetchPartitionResult[]> => {
      const deadline = Deadline.fromTimeout(600_000, { operation: 'test.fetch' });
      const source: RequestSource = { clientId: 'c', clientHost: 'h', deadline };
      try {
        const request = {
          maxWaitMs,
          minBytes: 1,
          maxBytes: 1 << 20,
          partitions: asks.map((a) => ({
            topic: a.topic,
            partition: 0,
            fetchOffset: a.offset,
            partitionMaxBytes: 1 << 20,
          })),
          ...(rackId === undefined ? {} : { rackId }),
        };
        return (await handleFetch(ctx, request, source)).partitions;
      } finally {
        deadline.dispose();
      }
    };
    const fetch = async (offset: number, rackId?: string, maxWaitMs = 30_000) =>
      (await fetchAll([{ topic: 'near', offset }], rackId, maxWaitMs))[0]!;
    return { fetch, fetchAll, asFollower: () => asFollower };
  }

  const values = (r: FetchPartitionResult): (string | undefined)[] =>
    [...splitBatches(r.records)].flatMap((b) => decodeRecords(b).map((x) => x.value?.toString()));

  /** A topic `near` of one partition on brokers 1, 2, 3 (racks a, b, c) holding x, y, z. */
  async function nearTopic(): Promise<{ leader: number; follower: number; other: number }> {
    const member = await setup([1, 2, 3], [1, 2, 3], RACKS);
    await broker(1).catalog.createTopic(spec('near', 1, 3));
    const [leader] = (await published(member, 'near', 1)) as [number];
    await broker(leader)
      .catalog.partition('near', 0)
      .append(batchOf(['x', 'y', 'z']));
    const [follower, other] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    await waitFor('the follower committed x, y, z', () =>
      broker(follower).catalog.highWatermarkHere('near', 0) === 3 ? true : undefined,
    );
    return { leader, follower, other };
  }

  it('the leader points a consumer in a follower rack at that follower, with no records and without a long poll; in its own rack, or with no rack, it serves as before', async () => {
    const { leader, follower } = await nearTopic();
    const atLeader = fetcher(leader);

    const sent = await atLeader.fetch(0, RACKS[follower]);
    expect(sent).toMatchObject({ error: null, preferredReadReplica: follower, highWatermark: 3 });
    expect(sent.records.length).toBe(0);

    for (const rack of [RACKS[leader], '', undefined]) {
      const read = await atLeader.fetch(0, rack);
      expect(values(read), `rack ${rack}`).toEqual(['x', 'y', 'z']);
      expect(read.preferredReadReplica ?? -1).toBe(-1);
    }
    // An offset the leader does not hold is read (and refused, OFFSET_OUT_OF_RANGE) at the leader, which
    // decides it, never sent on to a follower.
    const past = await atLeader.fetch(9, RACKS[follower], 0);
    expect(past.preferredReadReplica ?? -1).toBe(-1);
    expect(atLeader.asFollower()).toBe(0);
  });

  it('a fetch that sends one partition elsewhere is answered at once, not held by the long poll of another partition read here', async () => {
    const { leader, follower } = await nearTopic();
    // `far` lives on the leader alone: read here, where it has nothing yet.
    await broker(1).catalog.createTopic({ ...spec('far', -1, -1), assignments: [[leader]] });
    await waitFor('far led', () => raftLeader('far', 0));
    // A long poll here would outlast the test's timeout: the answer must not wait for `far`.
    const [near, far] = await fetcher(leader).fetchAll(
      [
        { topic: 'near', offset: 0 },
        { topic: 'far', offset: 0 },
      ],
      RACKS[follower]!,
      600_000,
    );
    expect(near?.preferredReadReplica).toBe(follower);
    expect({ error: far?.error, records: far?.records.length }).toEqual({ error: null, records: 0 });
  });

  it('an in-sync follower serves a v1 fetch from its own copy and counts it; a v0 fetch there is NOT_LEADER as before', async () => {
    const { leader, follower } = await nearTopic();
    const atFollower = fetcher(follower);
    const read = await atFollower.fetch(0, RACKS[follower]);
    expect({ error: read.error, values: values(read) }).toEqual({ error: null, values: ['x', 'y', 'z'] });
    expect(atFollower.asFollower()).toBe(3);
    // At its high watermark: the long poll ends empty, without an error.
    const tail = await atFollower.fetch(3, RACKS[follower], 20);
    expect({ error: tail.error, records: tail.records.length }).toEqual({ error: null, records: 0 });

    const v0 = await atFollower.fetch(0);
    expect({ code: wireCodeOf(v0.error), leaderHint: v0.leaderHint }).toEqual({
      code: 'NOT_LEADER',
      leaderHint: leader,
    });
  });

  it('a follower dropped from the in-sync set, or cut off from its leader, answers NOT_LEADER naming the leader', async () => {
    const { leader, follower, other } = await nearTopic();
    const view = meta === undefined ? undefined : await waitFor('a metadata leader', () => leaderOf(meta!));
    const record = view?.store.snapshotView().topics.get('near')?.partitions[0];
    await view?.store.updateInSyncSets([
      { topic: 'near', partition: 0, expectedEpoch: record?.leaderEpoch ?? 0, leader, isr: [leader, other] },
    ]);
    const dropped = await fetcher(follower).fetch(0, RACKS[follower]);
    expect({ code: wireCodeOf(dropped.error), leaderHint: dropped.leaderHint }).toEqual({
      code: 'NOT_LEADER',
      leaderHint: leader,
    });
    const stillIn = await fetcher(other).fetch(0, RACKS[other]);
    expect(values(stillIn)).toEqual(['x', 'y', 'z']);

    // Cut off, it stops hearing from its leader: once its Raft lease runs out it sends consumers back.
    network.isolate(other);
    let answer = await fetcher(other).fetch(0, RACKS[other], 0);
    for (let i = 0; i < 400 && answer.error === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      answer = await fetcher(other).fetch(0, RACKS[other], 0);
    }
    expect({ code: wireCodeOf(answer.error), leaderHint: answer.leaderHint }).toEqual({
      code: 'NOT_LEADER',
      leaderHint: leader,
    });
  });
});
