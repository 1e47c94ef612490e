/**
 * ClusterTopicCatalog against a real MetadataStore (one-voter in-memory Raft) shared by three "brokers",
 * each with its own catalog and real LogManager: placement is recorded in the metadata, local logs follow
 * it, only the leader serves a partition, and the reconciler never deletes from a stale replica.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterTopicCatalog } from '../../src/broker/cluster-catalog.js';
import type { HandlerContext } from '../../src/broker/handlers/context.js';
import { handleDescribeTopics, handleMetadata } from '../../src/broker/handlers/topics.js';
import { PartitionReconciler } from '../../src/broker/partition-reconciler.js';
import { isStreamBusError } from '../../src/errors/index.js';
import { MetadataState } from '../../src/metadata/state.js';
import { silentLogger } from '../../src/observability/index.js';
import type { CreateTopicSpec } from '../../src/protocol/messages.js';
import { MemoryHub } from '../../src/raft/transport/memory-transport.js';
import { systemTimers } from '../../src/resilience/index.js';
import { DEFAULT_STORAGE_CONFIG } from '../../src/storage/config.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { scratchDir } from '../helpers/scratch-dir.js';
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

interface Node {
  id: number;
  logs: LogManager;
  catalog: ClusterTopicCatalog;
}

let meta: MetaCluster | undefined;
let nodes: Node[] = [];
const extraLogs: LogManager[] = [];

afterEach(async () => {
  for (const n of nodes) await n.catalog.stop();
  for (const l of [...nodes.map((n) => n.logs), ...extraLogs.splice(0)]) await l.close();
  nodes = [];
  await stopMetaCluster(meta);
  meta = undefined;
});

async function openLogs(id: number): Promise<LogManager> {
  return LogManager.open(
    { ...DEFAULT_STORAGE_CONFIG, dataDir: scratchDir(`streambus-catalog-${id}-`) },
    { clock: { nowMs: () => Date.now() }, randomId: () => 'cluster-test' },
  );
}

/** Registers `ids` in a one-voter metadata group, marks `alive` alive, gives each broker a catalog. */
async function setup(ids = [1, 2, 3], alive = ids): Promise<MetaMember> {
  meta = await startMetaCluster(new MemoryHub(), [1]);
  const member = await waitFor('a metadata leader', () => (meta ? leaderOf(meta) : undefined));
  for (const id of ids) {
    await member.store.registerBroker({
      brokerId: id,
      clientAddress: addr(9000 + id),
      peerAddress: addr(9100 + id),
    });
    if (alive.includes(id)) await member.store.updateBroker({ brokerId: id, state: 'alive' });
  }
  for (const id of ids) {
    const logs = await openLogs(id);
    const catalog = new ClusterTopicCatalog({
      store: member.store,
      logs,
      brokerId: id,
      logger: silentLogger(),
      raftLeaderId: () => member.node.status().leaderId,
      heartbeatTimeoutMs: 1_000,
      reconcileRetryIntervalMs: 20,
    });
    catalog.start();
    nodes.push({ id, logs, catalog });
  }
  return member;
}

function node(id: number): Node {
  const n = nodes.find((x) => x.id === id);
  if (n === undefined) throw new Error(`no broker ${id}`);
  return n;
}

async function settled(): Promise<void> {
  for (const n of nodes) await n.catalog.reconciler.settled();
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

describe('ClusterTopicCatalog', () => {
  it('records a round-robin placement in the metadata: distinct replicas, leaders spread evenly, the same from every broker', async () => {
    const member = await setup();
    await node(2).catalog.createTopic({ ...spec('orders', 6, 3), configs: { retention_ms: '60000' } });

    const record = member.store.snapshotView().topics.get('orders');
    expect(record?.replicationFactor).toBe(3);
    expect(record?.configs).toEqual({ retention_ms: '60000' });
    const leaders = new Map<number, number>();
    for (const p of record?.partitions ?? []) {
      expect(new Set(p.replicas).size).toBe(3);
      expect(p.leader).toBe(p.replicas[0]);
      leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
    }
    expect([...leaders.entries()].sort()).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    for (const n of nodes) {
      expect(n.catalog.topic('orders')).toMatchObject({
        partitions: 6,
        replicationFactor: 3,
        internal: false,
      });
      expect(n.catalog.topic('orders')?.configs.retention_ms).toBe('60000');
      for (let p = 0; p < 6; p++) {
        expect(n.catalog.placement('orders', p)).toEqual({
          leaderId: record?.partitions[p]?.leader,
          leaderEpoch: 0,
          replicas: record?.partitions[p]?.replicas,
          isr: record?.partitions[p]?.isr,
        });
      }
      expect(n.catalog.brokers().map((b) => `${b.id}@${b.host}:${b.port}`)).toEqual([
        '1@127.0.0.1:9001',
        '2@127.0.0.1:9002',
        '3@127.0.0.1:9003',
      ]);
      expect(n.catalog.controllerId()).toBe(1);
    }
  });

  it('a broker opens local logs only for topics in which it holds a replica', async () => {
    const member = await setup();
    await node(1).catalog.createTopic(spec('single', 1, 1));
    await node(1).catalog.createTopic(spec('everywhere', 3, 3));
    await settled();

    const owner = member.store.snapshotView().topics.get('single')?.partitions[0]?.leader;
    for (const n of nodes) {
      expect(n.logs.topic('single') !== undefined, `broker ${n.id} holds 'single'`).toBe(n.id === owner);
      expect(n.logs.topic('everywhere')?.partitions).toBe(3);
    }
  });

  it('serves a partition only on its leader: NOT_LEADER elsewhere, UNKNOWN_TOPIC_OR_PARTITION when metadata does not know it', async () => {
    const member = await setup();
    await node(3).catalog.createTopic(spec('events', 3, 3));
    await settled();
    const record = member.store.snapshotView().topics.get('events');
    for (let p = 0; p < 3; p++) {
      const leader = record?.partitions[p]?.leader;
      for (const n of nodes) {
        if (n.id === leader) {
          const served = n.catalog.partition('events', p);
          const { baseOffset } = await served.append(batchOf(['a', 'b']));
          expect(baseOffset).toBe(0);
          expect(served.highWatermark()).toBe(2);
        } else {
          let caught: unknown;
          try {
            n.catalog.partition('events', p);
          } catch (err) {
            caught = err;
          }
          expect(isStreamBusError(caught) && caught.code).toBe('NOT_LEADER');
          expect(isStreamBusError(caught) && caught.metadata.leaderId).toBe(leader);
        }
      }
    }
    expect(await codeOf(() => node(1).catalog.partition('events', 3))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await codeOf(() => node(1).catalog.partition('missing', 0))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('deleting a topic removes it from the metadata and its local data from every broker', async () => {
    const member = await setup();
    await waitFor('every reconciler caught up', () => nodes.every((n) => n.catalog.reconciler.isCaughtUp));
    await node(1).catalog.createTopic(spec('doomed', 3, 3));
    await settled();
    const leader = member.store.snapshotView().topics.get('doomed')?.partitions[0]?.leader ?? -1;
    await node(leader)
      .catalog.partition('doomed', 0)
      .append(batchOf(['x']));
    expect(existsSync(join(node(leader).logs.dataDir, 'doomed-0'))).toBe(true);

    await node(2).catalog.deleteTopic('doomed');
    expect(member.store.snapshotView().topics.has('doomed')).toBe(false);
    await settled();
    for (const n of nodes) {
      expect(n.logs.topic('doomed')).toBeUndefined();
      expect(existsSync(join(n.logs.dataDir, 'doomed-0'))).toBe(false);
      expect(n.catalog.topic('doomed')).toBeUndefined();
    }
    expect(await codeOf(() => node(1).catalog.deleteTopic('doomed'))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('refuses a replication factor above the alive brokers with INVALID_REPLICATION_FACTOR; -1 means min(3, alive)', async () => {
    const member = await setup([1, 2, 3], [1, 2]);
    let caught: unknown;
    try {
      await node(1).catalog.createTopic(spec('wide', 2, 3));
    } catch (err) {
      caught = err;
    }
    expect(isStreamBusError(caught) && caught.code).toBe('INVALID_REPLICATION_FACTOR');
    expect((caught as Error).message).toContain('2 are alive (1, 2)');
    expect(await codeOf(() => node(1).catalog.validateTopic(spec('wide', 2, 3)))).toBe(
      'INVALID_REPLICATION_FACTOR',
    );
    expect(member.store.snapshotView().topics.has('wide')).toBe(false);

    await node(1).catalog.createTopic(spec('defaulted', 2, -1));
    const record = member.store.snapshotView().topics.get('defaulted');
    expect(record?.replicationFactor).toBe(2);
    expect(record?.partitions.every((p) => !p.replicas.includes(3))).toBe(true);
  });

  it('answers TOPIC_ALREADY_EXISTS, also when two brokers race to create the same topic', async () => {
    await setup();
    await node(1).catalog.createTopic(spec('taken', 1, 1));
    expect(await codeOf(() => node(2).catalog.createTopic(spec('taken', 1, 1)))).toBe('TOPIC_ALREADY_EXISTS');
    expect(await codeOf(() => node(2).catalog.validateTopic(spec('taken', 1, 1)))).toBe(
      'TOPIC_ALREADY_EXISTS',
    );

    // Both pass the local check; the state machine refuses the second, and its code reaches the caller.
    const results = await Promise.allSettled([
      node(1).catalog.createTopic(spec('raced', 2, 2)),
      node(2).catalog.createTopic(spec('raced', 2, 2)),
    ]);
    const codes = results.map((r) =>
      r.status === 'fulfilled' ? 'ok' : isStreamBusError(r.reason) ? r.reason.code : String(r.reason),
    );
    expect(codes.sort()).toEqual(['TOPIC_ALREADY_EXISTS', 'ok']);
  });

  it('rejects invalid names, partition counts and configs before proposing anything', async () => {
    const member = await setup();
    const before = member.store.snapshotView().version;
    expect(await codeOf(() => node(1).catalog.createTopic(spec('bad/name', 1, 1)))).toBe(
      'INVALID_TOPIC_NAME',
    );
    expect(await codeOf(() => node(1).catalog.createTopic(spec('zero', 0, 1)))).toBe('INVALID_PARTITIONS');
    expect(
      await codeOf(() => node(1).catalog.createTopic({ ...spec('cfg', 1, 1), configs: { nope: '1' } })),
    ).toBe('INVALID_TOPIC_CONFIG');
    expect(member.store.snapshotView().version).toBe(before);
  });
});

describe('Metadata and DescribeTopics from the cluster catalog', () => {
  it('report the metadata placement; a partition led by a failed broker is LEADER_NOT_AVAILABLE, stats only where served', async () => {
    const member = await setup();
    await node(1).catalog.createTopic(spec('placed', 3, 2));
    await settled();
    const record = member.store.snapshotView().topics.get('placed');
    const ledBy3 = record?.partitions.filter((p) => p.leader === 3).map((p) => p.partition) ?? [];
    expect(ledBy3.length).toBe(1);
    await member.store.updateBroker({ brokerId: 3, state: 'failed' });

    const ctx = { catalog: node(1).catalog, clusterId: 'test-cluster' } as unknown as HandlerContext;
    const md = handleMetadata(ctx, { topics: ['placed'] });
    expect(md.controllerId).toBe(1);
    expect(md.brokers.map((b) => b.id)).toEqual([1, 2]);
    for (const p of md.topics[0]?.partitions ?? []) {
      const want = record?.partitions[p.partition];
      expect(p).toMatchObject({ leaderId: want?.leader, replicas: want?.replicas, isr: want?.isr });
      expect(wireCodeOf(p.error)).toBe(ledBy3.includes(p.partition) ? 'LEADER_NOT_AVAILABLE' : null);
    }

    const described = handleDescribeTopics(ctx, { topics: ['placed'] }).topics[0];
    for (const p of described?.partitions ?? []) {
      const servedHere = record?.partitions[p.partition]?.leader === 1;
      expect(p.highWatermark, `partition ${p.partition}`).toBe(servedHere ? 0 : -1);
      expect(p.logStartOffset).toBe(servedHere ? 0 : -1);
    }
  });
});

describe('PartitionReconciler', () => {
  it('retries a failed pass on its timer, without a metadata change, and never throws', async () => {
    const logs = await openLogs(8);
    extraLogs.push(logs);
    const state = new MetadataState();
    state.apply({
      type: 'registerBroker',
      brokerId: 8,
      clientAddress: addr(9008),
      peerAddress: addr(9108),
      rack: null,
      capacityHint: 1,
      atMs: 0,
    });
    // A cluster default the local log manager refuses: creating the local log fails until it is fixed.
    state.apply({ type: 'setClusterConfig', set: { retention_ms: 'soon' }, delete: [] });
    state.apply({
      type: 'createTopic',
      name: 'later',
      replicationFactor: 1,
      assignment: [[8]],
      configs: {},
      internal: false,
    });
    const reconciler = new PartitionReconciler({
      logs,
      brokerId: 8,
      view: () => state.view(),
      subscribe: () => () => {},
      catchUp: async () => {},
      logger: silentLogger(),
      retryIntervalMs: 10,
      timers: systemTimers,
    });
    reconciler.start();
    await reconciler.settled();
    expect(logs.topic('later')).toBeUndefined();

    state.apply({ type: 'setClusterConfig', set: {}, delete: ['retention_ms'] });
    await waitFor('the retry to create the local topic', () => logs.topic('later') !== undefined);
    await reconciler.stop();
  });

  it('does not delete local topics until the metadata replica is confirmed current', async () => {
    const logs = await openLogs(7);
    extraLogs.push(logs);
    await logs.createTopic('precious', 1);
    let confirm: () => void = () => {};
    const confirmed = new Promise<void>((resolve) => {
      confirm = resolve;
    });
    const emptyView = new MetadataState().view();
    const reconciler = new PartitionReconciler({
      logs,
      brokerId: 7,
      view: () => emptyView,
      subscribe: () => () => {},
      catchUp: () => confirmed,
      logger: silentLogger(),
      retryIntervalMs: 20,
      timers: systemTimers,
    });
    reconciler.start();
    await reconciler.settled();
    expect(logs.topic('precious')).toBeDefined();

    confirm();
    await waitFor('the topic deleted once caught up', () => logs.topic('precious') === undefined);
    await reconciler.stop();
  });
});
