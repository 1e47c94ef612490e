/**
 * MetadataStore over three real RaftNodes (MemoryHub transport, 10 ms ticks): forwarding, failover,
 * partitions and the breaker, compare-and-set, linearizable reads, and restart from LevelRaftStorage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isStreamBusError, StreamBusError } from '../../src/errors/index.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import { LevelRaftStorage } from '../../src/raft/storage/level-storage.js';
import type { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import { MemoryHub } from '../../src/raft/transport/memory-transport.js';
import {
  addr,
  converged,
  followersOf,
  leaderOf,
  type MetaCluster,
  type MetaMember,
  startMetaCluster,
  startMetaMember,
  stopMember,
  stopMetaCluster,
  waitFor,
} from './cluster-helpers.js';

let cluster: MetaCluster | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await stopMetaCluster(cluster);
  cluster = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function elected(c: MetaCluster): Promise<MetaMember> {
  const leader = await waitFor('a leader', () => leaderOf(c));
  await waitFor('every member knows the leader', () =>
    [...c.members.values()].every((m) => m.node.status().leaderId === leader.id),
  );
  return leader;
}

async function registerBrokers(store: MetadataStore, ids = [1, 2, 3]): Promise<number> {
  let version = 0;
  for (const id of ids) {
    version = (
      await store.registerBroker({
        brokerId: id,
        clientAddress: addr(9000 + id),
        peerAddress: addr(9100 + id),
      })
    ).version;
  }
  return version;
}

describe('MetadataStore on a 3-node metadata group', () => {
  it('a follower forwards writes to the leader and every replica ends with the identical state', async () => {
    cluster = await startMetaCluster(new MemoryHub());
    await elected(cluster);
    const follower = followersOf(cluster)[0] as MetaMember;
    await registerBrokers(follower.store);
    const r = await follower.store.createTopic({
      name: 'orders',
      assignment: [
        [1, 2, 3],
        [2, 3, 1],
      ],
      configs: { 'retention.ms': '60000' },
    });
    expect(r).toEqual({ ok: true, version: 4 });
    const images = await converged(cluster, 4);
    expect(new Set(images).size).toBe(1);
    const t = follower.store.snapshotView().topics.get('orders');
    expect(t?.partitions.map((p) => p.replicas)).toEqual([
      [1, 2, 3],
      [2, 3, 1],
    ]);
    expect(follower.store.breaker.stats().failures).toBe(0);
  });

  it('after the leader is stopped, writes succeed once a new leader is elected (one attempt, no breaker failure)', async () => {
    cluster = await startMetaCluster(new MemoryHub(), [1, 2, 3], { attemptTimeoutMs: 3_000 });
    const old = await elected(cluster);
    await registerBrokers(old.store);
    await stopMember(cluster, old.id);
    const survivors = [...cluster.members.values()];
    // Both survivors still name the dead leader: the first forward fails and the attempt waits for the election.
    const results = await Promise.all(
      survivors.map((m, i) => m.store.updateBroker({ brokerId: i + 1, state: 'alive' })),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const leader = await waitFor('a new leader', () => leaderOf(cluster as MetaCluster));
    expect(leader.id).not.toBe(old.id);
    const images = await converged(cluster, 5);
    expect(new Set(images).size).toBe(1);
    for (const m of survivors)
      expect(m.store.breaker.stats()).toMatchObject({ state: 'closed', failures: 0 });
  });

  for (const who of ['follower', 'leader'] as const) {
    it(`a partitioned minority (${who}) cannot make changes: its breaker opens, rejects fast, and recovers after heal`, async () => {
      const hub = new MemoryHub();
      cluster = await startMetaCluster(hub, [1, 2, 3], {
        attemptTimeoutMs: 150,
        breaker: { failureThreshold: 3, openTimeoutMs: 400, successThreshold: 2, maxRequestsHalfOpen: 2 },
        retry: { baseDelayMs: 5, maxDelayMs: 20 },
      });
      const leader = await elected(cluster);
      await registerBrokers(leader.store);
      const minority = who === 'leader' ? leader : (followersOf(cluster)[0] as MetaMember);
      const transitions: string[] = [];
      minority.store.breaker.subscribe((e) => {
        if (e.type === 'state-change') transitions.push(`${e.from}>${e.to}`);
      });
      hub.isolate(minority.id);
      cluster.forwarder.isolate(minority.id);

      const err = await minority.store
        .createTopic({ name: 'lost', assignment: [[1]] })
        .catch((e: unknown) => e);
      expect(isStreamBusError(err, 'CIRCUIT_OPEN')).toBe(true);
      expect(transitions).toEqual(['closed>open']);
      const fast = await minority.store.deleteTopic('lost').catch((e: unknown) => e);
      expect(isStreamBusError(fast, 'CIRCUIT_OPEN')).toBe(true);
      expect(minority.store.breaker.stats().rejected).toBe(2);

      // The majority goes on (electing a new leader first if the minority held the lead).
      const majority = [...cluster.members.values()].find((m) => m !== minority) as MetaMember;
      const made = await majority.store.createTopic({ name: 'kept', assignment: [[2]] });
      expect(minority.store.snapshotView().topics.has('kept')).toBe(false);
      expect(minority.store.snapshotView().topics.has('lost')).toBe(false);

      hub.heal();
      cluster.forwarder.heal();
      await waitFor('the breaker timeout', () => minority.store.breaker.retryAfterMs() === 0);
      await minority.store.updateBroker({ brokerId: 3, state: 'alive' });
      await minority.store.updateBroker({ brokerId: 2, state: 'alive' });
      expect(transitions).toEqual(['closed>open', 'open>half-open', 'half-open>closed']);
      const images = await converged(cluster, made.version + 2);
      expect(new Set(images).size).toBe(1);
      expect(minority.store.snapshotView().topics.has('lost')).toBe(false);
    });
  }

  it('a write whose response is lost is retried with the same request id and applied once', async () => {
    cluster = await startMetaCluster(new MemoryHub());
    const leader = await elected(cluster);
    await registerBrokers(leader.store, [1]);
    const follower = followersOf(cluster)[0] as MetaMember;
    let lost = 0;
    // The leader commits, but the answer never reaches the follower (the connection drops on the way back).
    cluster.forwarder.register(leader.id, {
      handleForwarded: async (bytes, signal) => {
        const result = await leader.store.handleForwarded(bytes, signal);
        if (lost++ === 0) throw new StreamBusError('CONNECTION_CLOSED', { operation: 'test' });
        return result;
      },
    });
    const r = await follower.store.createTopic({ name: 'once', assignment: [[1]] });
    expect(lost).toBe(2);
    expect(r).toEqual({ ok: true, version: 2 });
    const images = await converged(cluster, 2);
    expect(new Set(images).size).toBe(1);
    expect(leader.sm.version).toBe(2);
  });

  it('concurrent compare-and-set updates with the same epoch: exactly one wins, the other gets METADATA_CONFLICT', async () => {
    cluster = await startMetaCluster(new MemoryHub());
    await elected(cluster);
    const [a, b] = [...cluster.members.values()] as [MetaMember, MetaMember];
    await registerBrokers(a.store);
    await a.store.createTopic({ name: 't', assignment: [[1, 2, 3]] });
    const outcomes = await Promise.allSettled([
      a.store.updateLeader({ topic: 't', partition: 0, expectedEpoch: 0, leader: 2 }),
      b.store.updateLeader({ topic: 't', partition: 0, expectedEpoch: 0, leader: 3 }),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(won[0]?.value.leaderEpoch).toBe(1);
    expect(isStreamBusError(lost[0]?.reason, 'METADATA_CONFLICT')).toBe(true);
    const view = await b.store.readLinearizable();
    expect(view.topics.get('t')?.partitions[0]?.leaderEpoch).toBe(1);
    await expect(
      b.store.updateReplicaSet({
        topic: 't',
        partition: 0,
        expectedEpoch: 1,
        replicas: [1, 2],
        isr: [1],
        leader: 1,
      }),
    ).resolves.toMatchObject({ leaderEpoch: 2 });
  });

  it('a linearizable read on a lagging follower sees a write committed just before it; a local read may not', async () => {
    cluster = await startMetaCluster(new MemoryHub());
    const leader = await elected(cluster);
    await registerBrokers(leader.store, [1]);
    const slow = followersOf(cluster)[0] as MetaMember;
    await converged(cluster, 1);
    // The slow follower persists (and so applies) 100 ms late; the leader commits with the other follower.
    const storage = slow.storage as MemoryRaftStorage;
    const save = storage.save.bind(storage);
    storage.save = async (u) => {
      await new Promise((r) => setTimeout(r, 100));
      save(u);
    };
    const written = await leader.store.createTopic({ name: 'fresh', assignment: [[1]] });
    expect(slow.store.snapshotView().version).toBeLessThan(written.version);
    const view = await slow.store.readLinearizable();
    expect(view.version).toBeGreaterThanOrEqual(written.version);
    expect(view.topics.has('fresh')).toBe(true);
  });

  it('restarting every node from LevelRaftStorage restores the state from snapshot plus log replay', async () => {
    const hub = new MemoryHub();
    const ids = [1, 2, 3];
    const paths = new Map(ids.map((id) => [id, mkdtempSync(join(tmpdir(), `metadata-level-${id}-`))]));
    dirs.push(...paths.values());
    const raftOptions = { snapshotIntervalEntries: 4, snapshotKeepEntries: 1 };
    const snapshotIndexAtStart = new Map<number, number>();
    const start = async (c: MetaCluster, bootstrap: boolean) => {
      for (const id of ids) {
        const storage = await LevelRaftStorage.open(paths.get(id) as string, bootstrap ? ids : undefined);
        snapshotIndexAtStart.set(id, storage.snapshot().metadata.index);
        const m = await startMetaMember(c, id, storage, {}, raftOptions);
        // start() restored the state machine from the stored snapshot before any log entry was replayed.
        expect(m.sm.appliedIndex).toBe(snapshotIndexAtStart.get(id));
      }
    };
    const { MemoryForwarder } = await import('../../src/metadata/forwarder.js');
    cluster = { hub, forwarder: MemoryForwarder.create(), members: new Map() };
    await start(cluster, true);
    const leader = await elected(cluster);
    await registerBrokers(leader.store);
    for (let i = 0; i < 6; i++) await leader.store.createTopic({ name: `t${i}`, assignment: [[1, 2]] });
    const last = await leader.store.alterTopicConfig('t0', { set: { 'cleanup.policy': 'compact' } });
    const before = await converged(cluster, last.version);
    expect(new Set(before).size).toBe(1);
    await stopMetaCluster(cluster);

    const again: MetaCluster = { hub, forwarder: MemoryForwarder.create(), members: new Map() };
    cluster = again;
    await start(again, false);
    const after = await converged(again, last.version);
    for (const m of again.members.values()) {
      // Snapshots were taken every 4 entries: each node started from one and replayed the log after it.
      const snapIndex = snapshotIndexAtStart.get(m.id) as number;
      expect(snapIndex).toBeGreaterThan(0);
      expect(m.sm.appliedIndex).toBeGreaterThan(snapIndex);
    }
    expect(after).toEqual(before);
    const next = await (await elected(again)).store.deleteTopic('t5');
    expect(next.version).toBe(last.version + 1);
  });
});
