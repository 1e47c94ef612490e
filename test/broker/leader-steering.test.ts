/**
 * LeaderSteering's reading of the partition record's leader hint: a broker named there after this replica
 * became leader is the coordinator's choice (transfer to it); the broker named when it became leader is
 * only the previous leader (publish over it). A choice that lands before the new leader's first publication
 * must not be overwritten by it.
 */
import { describe, expect, it } from 'vitest';
import {
  freshSteering,
  LeaderSteering,
  type SteeredReplica,
} from '../../src/broker/replica/leader-steering.js';
import type { PartitionReplica } from '../../src/broker/replica/partition-replica.js';
import { StreamBusError } from '../../src/errors/index.js';
import type { InSyncSetChange } from '../../src/metadata/commands.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { IN_SYNC_SET_ITEMS_MAX } from '../../src/metadata/in-sync-batches.js';
import type { MetadataView } from '../../src/metadata/state.js';
import type { InSyncSetResult, PartitionRecord } from '../../src/metadata/types.js';
import { silentLogger } from '../../src/observability/index.js';

const SELF = 1;

function harness(record: PartitionRecord, failTransfers = false, silent: readonly number[] = []) {
  const transfers: number[] = [];
  const published: { expectedEpoch: number; leader: number }[] = [];
  const inSyncWrites: InSyncSetChange[][] = [];
  const view = {
    version: 1,
    brokers: new Map([1, 2, 3].map((id) => [id, { id, state: 'alive' }])),
    topics: new Map([['t', { name: 't', createdVersion: 1, partitions: [record] }]]),
    moves: new Map(),
    clusterConfig: {},
  } as unknown as MetadataView;
  const replica = {
    isLeader: () => true,
    node: {
      status: () => ({ voters: [1, 2, 3], learners: [], commitIndex: 5 }),
      leadTransferee: () => 0,
      progress: () => [],
      transferLeadership: async (to: number) => {
        transfers.push(to);
        if (failTransfers) throw new Error('request timed out');
      },
    },
  } as unknown as PartitionReplica;
  const steering = new LeaderSteering({
    brokerId: SELF,
    metadata: {
      updateLeader: async (u: { expectedEpoch: number; leader: number }) => {
        published.push(u);
        return { ok: true, leaderEpoch: u.expectedEpoch + 1 } as never;
      },
      updateInSyncSets: async (items: readonly InSyncSetChange[]) => {
        inSyncWrites.push([...items]);
        const inSyncSets = items.map((i) => ({ ok: true, leaderEpoch: i.expectedEpoch + 1 }));
        return { ok: true, version: 1, inSyncSets } as never;
      },
    },
    nowMs: () => 0,
    transferBackoffMs: 10_000,
    peerAnswering: (id) => !silent.includes(id),
    log: silentLogger(),
    view: () => view,
    schedule: () => {},
    retryLater: () => {},
  });
  const h: SteeredReplica = {
    topic: 't',
    partition: 0,
    createdVersion: 1,
    replica,
    ...freshSteering(),
  };
  return { steering, h, view, transfers, published, inSyncWrites };
}

const record = (leader: number, leaderEpoch: number): PartitionRecord => ({
  partition: 0,
  replicas: [1, 2, 3],
  leader,
  leaderEpoch,
  isr: [1, 2, 3],
});

describe('LeaderSteering', () => {
  it('follows a choice written after it became leader, even before its first publication', async () => {
    const p = record(2, 8);
    const { steering, h, view, transfers, published } = harness(p);
    h.leaderSinceEpoch = 7; // the record named this broker (or the old leader) at epoch 7
    steering.steer(h, view, p);
    await steering.publishLeader(h);
    expect(transfers).toEqual([2]);
    expect(published).toEqual([]);
  });

  it('publishes itself over a choice it could not follow (the transfer failed: it still leads)', async () => {
    const p = record(2, 8);
    const { steering, h, view, transfers, published } = harness(p, true);
    h.leaderSinceEpoch = 7;
    steering.steer(h, view, p);
    await new Promise((r) => setImmediate(r));
    expect(transfers).toEqual([2]);
    expect(published).toEqual([expect.objectContaining({ expectedEpoch: 8, leader: SELF })]);
  });

  it('publishes itself over the same choice made again while the backoff after a failed transfer holds', async () => {
    // The coordinator chooses broker 2 again after the failed transfer (its balance spacing is shorter than
    // the transfer backoff): this broker still leads, and metadata naming 2 would send clients there.
    const first = record(2, 8);
    const { steering, h, view, transfers, published } = harness(first, true);
    h.leaderSinceEpoch = 7;
    steering.steer(h, view, first);
    await new Promise((r) => setImmediate(r));
    expect(published).toEqual([expect.objectContaining({ expectedEpoch: 8, leader: SELF })]);
    h.publishedEpoch = 9;
    const again = record(2, 10);
    (view.topics.get('t')!.partitions as PartitionRecord[])[0] = again;
    steering.steer(h, view, again);
    await new Promise((r) => setImmediate(r));
    expect(transfers).toEqual([2]);
    expect(published).toHaveLength(2);
    expect(published[1]).toEqual(expect.objectContaining({ expectedEpoch: 10, leader: SELF }));
  });

  it('publishes nothing over a choice while its transfer is still under way', async () => {
    const p = record(2, 8);
    const { steering, h, view, transfers, published } = harness(p);
    h.leaderSinceEpoch = 7;
    let transferee = 0;
    h.replica.node.leadTransferee = () => transferee;
    h.replica.node.transferLeadership = (to: number) => {
      transferee = to; // under way: Raft's leadTransferee, until it ends (here: never)
      return new Promise<void>(() => {});
    };
    steering.steer(h, view, p);
    steering.steer(h, view, p);
    await new Promise((r) => setImmediate(r));
    expect(transferee).toBe(2);
    expect(transfers).toEqual([]);
    expect(published).toEqual([]);
  });

  it('publishes itself over a choice of a broker that is not alive (it cannot be followed)', async () => {
    const p = record(2, 8);
    const { steering, h, view, transfers, published } = harness(p);
    (view.brokers as unknown as Map<number, { id: number; state: string }>).set(2, {
      id: 2,
      state: 'failed',
    });
    h.leaderSinceEpoch = 7;
    steering.steer(h, view, p);
    await new Promise((r) => setImmediate(r));
    expect(transfers).toEqual([]);
    expect(published).toEqual([expect.objectContaining({ expectedEpoch: 8, leader: SELF })]);
  });

  it('publishes itself over a choice of a broker that does not answer, without starting a transfer', async () => {
    // Alive in metadata (not marked failed yet) but paused: a transfer to it could not finish, and the
    // leader would refuse writes until it timed out.
    const p = record(2, 8);
    const { steering, h, view, transfers, published } = harness(p, false, [2]);
    h.leaderSinceEpoch = 7;
    steering.steer(h, view, p);
    await new Promise((r) => setImmediate(r));
    expect(transfers).toEqual([]);
    expect(published).toEqual([expect.objectContaining({ expectedEpoch: 8, leader: SELF })]);
  });

  it('a replica moved away hands leadership to an answering replica, skipping a silent choice', () => {
    // Metadata moved the partition to 2 and 3 (this broker retires); the chosen leader 2 does not answer.
    const p = { ...record(2, 8), replicas: [2, 3] };
    const { steering, h, view, transfers } = harness(p, false, [2]);
    steering.handOver(h, view, p);
    expect(transfers).toEqual([3]);
  });

  it('publishes itself over the previous leader named when its leadership began', async () => {
    const p = record(3, 7);
    const { steering, h, view, transfers, published } = harness(p);
    h.leaderSinceEpoch = 7;
    steering.steer(h, view, p);
    await new Promise((r) => setImmediate(r));
    expect(transfers).toEqual([]);
    expect(published).toEqual([expect.objectContaining({ expectedEpoch: 7, leader: SELF })]);
  });

  describe('in-sync set during a replica move (3 moved to 4: the group still has 3 as a voter)', () => {
    const moving: PartitionRecord = {
      partition: 0,
      replicas: [1, 2, 4],
      leader: SELF,
      leaderEpoch: 9,
      isr: [1, 2],
    };

    function publishing(voters: number[], ownInSync: number[]) {
      const rig = harness(moving);
      rig.h.replica.node.status = () => ({ voters, learners: [], commitIndex: 5 }) as never;
      const change = rig.steering.inSyncChange(rig.h, moving, ownInSync);
      rig.steering.publishInSyncSets(change === undefined ? [] : [change]);
      return rig.inSyncWrites.flat();
    }

    it('drops a replica that fell out of sync mid-move, so metadata does not list it in sync until the move ends', () => {
      // Broker 2 stopped answering while 4 was still catching up; without this, `topic describe` and the
      // under-replicated count went on showing 2 in sync for as long as the move lasted.
      expect(publishing([1, 2, 3], [1, 3]).map((u) => u.isr)).toEqual([[1]]);
    });

    it('adds the new replica only once the group dropped the old voter (its appearance completes the move)', () => {
      expect(publishing([1, 2, 3, 4], [1, 2, 3, 4])).toEqual([]);
      expect(publishing([1, 2, 3, 4], [1, 3, 4]).map((u) => u.isr)).toEqual([[1]]);
      expect(publishing([1, 2, 4], [1, 2, 4]).map((u) => u.isr)).toEqual([[1, 2, 4]]);
    });
  });
});

describe('LeaderSteering in-sync sets of many partitions changed in one check', () => {
  /**
   * `n` partitions led here whose follower 3 fell out of sync; metadata answers each write with `answer`. At a
   * cluster feature level below the batches' (`featureLevel`), each set is its own updateLeader, recorded in
   * `singles` (a refused one throws, as the store does).
   */
  function partitionsLedHere(
    n: number,
    answer: (items: readonly InSyncSetChange[]) => Promise<InSyncSetResult[]>,
    featureLevel: number = FEATURE.inSyncSetBatches,
  ) {
    const writes: InSyncSetChange[][] = [];
    const singles: InSyncSetChange[] = [];
    const records = Array.from(
      { length: n },
      (_, partition): PartitionRecord => ({
        partition,
        replicas: [1, 2, 3],
        leader: SELF,
        leaderEpoch: 4,
        isr: [1, 2, 3],
      }),
    );
    const replica = {
      isLeader: () => true,
      node: { status: () => ({ voters: [1, 2, 3], learners: [], commitIndex: 5 }) },
    } as unknown as PartitionReplica;
    const steering = new LeaderSteering({
      brokerId: SELF,
      metadata: {
        updateLeader: async (u) => {
          const item = u as InSyncSetChange;
          singles.push(item);
          const [result] = await answer([item]);
          if (result?.ok !== true) throw new StreamBusError(result?.code ?? 'METADATA_CONFLICT');
          applyToRecord(item, result);
          return { ok: true, version: 2, leaderEpoch: result.leaderEpoch } as never;
        },
        updateInSyncSets: async (items: readonly InSyncSetChange[]) => {
          writes.push([...items]);
          const inSyncSets = await answer(items);
          for (const [i, item] of items.entries()) applyToRecord(item, inSyncSets[i]);
          return { ok: true, version: 2, inSyncSets } as never;
        },
      },
      nowMs: () => 0,
      transferBackoffMs: 10_000,
      log: silentLogger(),
      // The in-sync publication reads only the cluster's feature level.
      view: () => ({ featureLevel }) as MetadataView,
      schedule: () => {},
      retryLater: () => {},
    });
    /** As metadata would: an applied item's record now holds its set, at the next epoch. */
    function applyToRecord(item: InSyncSetChange, result: InSyncSetResult | undefined): void {
      if (result?.ok !== true) return;
      const record = records[item.partition]!;
      records[item.partition] = { ...record, isr: [...item.isr], leaderEpoch: result.leaderEpoch };
    }
    const hs = records.map(
      (p): SteeredReplica => ({
        topic: 't',
        partition: p.partition,
        createdVersion: 1,
        replica,
        ...freshSteering(),
      }),
    );
    /** One in-sync check as ReplicaManager runs it: collect every led partition's change, then publish. */
    const check = () =>
      steering.publishInSyncSets(hs.flatMap((h, i) => steering.inSyncChange(h, records[i]!, [1, 2]) ?? []));
    return { writes, singles, hs, check };
  }

  const applied = async (items: readonly InSyncSetChange[]): Promise<InSyncSetResult[]> =>
    items.map((i) => ({ ok: true, leaderEpoch: i.expectedEpoch + 1 }));
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('publishes the sets of every partition that changed in one check as one metadata write', async () => {
    const { writes, hs, check } = partitionsLedHere(50, applied);
    check();
    await settle();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveLength(50);
    expect(writes[0]![7]).toEqual({ topic: 't', partition: 7, expectedEpoch: 4, leader: SELF, isr: [1, 2] });
    expect(hs.map((h) => h.publishedEpoch)).toEqual(hs.map(() => 5));
    expect(hs.some((h) => h.publishingIsr)).toBe(false);
  });

  it('a refused item holds back no other, and its partition is published again by the next check', async () => {
    const { writes, hs, check } = partitionsLedHere(5, async (items) =>
      items.map((i) =>
        i.partition === 3
          ? { ok: false, code: 'METADATA_CONFLICT' }
          : { ok: true, leaderEpoch: i.expectedEpoch + 1 },
      ),
    );
    check();
    await settle();
    expect(hs.map((h) => h.publishedEpoch)).toEqual([5, 5, 5, undefined, 5]);
    check();
    await settle();
    // Only the refused partition: the others' records now hold their sets.
    expect(writes).toHaveLength(2);
    expect(writes[1]!.map((i) => i.partition)).toEqual([3]);
  });

  it('publishes no partition again while the write carrying it is in flight', async () => {
    let release = () => {};
    const { writes, check } = partitionsLedHere(
      4,
      // Refused, so the records keep their sets and the check after the write settles publishes again.
      (items) =>
        new Promise(
          (resolve) =>
            (release = () => resolve(items.map(() => ({ ok: false, code: 'METADATA_CONFLICT' as const })))),
        ),
    );
    check();
    check();
    await settle();
    expect(writes).toHaveLength(1);
    release();
    await settle();
    check();
    await settle();
    expect(writes).toHaveLength(2);
  });

  it('below the feature level of the batch command, publishes each set as its own updateLeader, as older builds read', async () => {
    const { writes, singles, hs, check } = partitionsLedHere(
      4,
      async (items) =>
        items.map((i) =>
          i.partition === 2
            ? { ok: false, code: 'METADATA_CONFLICT' }
            : { ok: true, leaderEpoch: i.expectedEpoch + 1 },
        ),
      FEATURE.inSyncSetBatches - 1,
    );
    check();
    check(); // nothing again while the writes are in flight
    await settle();
    expect(writes).toEqual([]);
    expect(singles).toHaveLength(4);
    expect(singles[1]).toEqual({ topic: 't', partition: 1, expectedEpoch: 4, leader: SELF, isr: [1, 2] });
    expect(hs.map((h) => h.publishedEpoch)).toEqual([5, 5, undefined, 5]);
    expect(hs.some((h) => h.publishingIsr)).toBe(false);
    check();
    await settle();
    expect(singles.map((i) => i.partition)).toEqual([0, 1, 2, 3, 2]);
  });

  it('splits a check with more changes than one command holds into bounded commands', async () => {
    const { writes, check } = partitionsLedHere(IN_SYNC_SET_ITEMS_MAX + 1, applied);
    check();
    await settle();
    expect(writes.map((w) => w.length)).toEqual([IN_SYNC_SET_ITEMS_MAX, 1]);
  });
});
