/**
 * PartitionReplica on three in-memory nodes: the leader stamps offsets in log order, acks=all waits for a
 * majority while acks=1 waits only for the leader's write, reads stop at the high watermark, and after a
 * failover offsets continue where the committed log ends while a deposed leader's uncommitted tail is
 * replaced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { followerReads } from '../../src/broker/replica/follower-reads.js';
import {
  PartitionReplica,
  type PartitionReplicaOptions,
} from '../../src/broker/replica/partition-replica.js';
import { isStreamBusError } from '../../src/errors/index.js';
import type { Logger } from '../../src/observability/index.js';
import {
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  splitBatches,
} from '../../src/protocol/record-batch.js';
import { RaftHost } from '../../src/raft/host.js';
import { MemoryHub } from '../../src/raft/transport/memory-transport.js';
import { Deadline } from '../../src/resilience/deadline.js';
import { MemoryPartitionStore } from '../helpers/memory-partition-store.js';
import { waitFor } from '../helpers/wait-for.js';

const quiet = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  child: () => quiet,
} as unknown as Logger;

const IDS = [1, 2, 3];

/** A hub that calls `afterDelivery` right after a node took in a delivery, in the same turn. */
class ObservedHub extends MemoryHub {
  afterDelivery: ((to: number) => void) | null = null;

  override register(id: number, handler: Parameters<MemoryHub['register']>[1]): void {
    super.register(id, (from, envelopes) => {
      handler(from, envelopes);
      this.afterDelivery?.(id);
    });
  }
}

interface Node {
  id: number;
  host: RaftHost;
  store: MemoryPartitionStore;
  replica: PartitionReplica;
}

const running: Node[] = [];
afterEach(async () => {
  for (const n of running.splice(0)) {
    await n.replica.close();
    await n.host.stop();
  }
});

async function startNode(
  hub: MemoryHub,
  id: number,
  store: MemoryPartitionStore,
  recordedInSync?: () => readonly number[] | undefined,
  tickIntervalMs = 10,
  extra: Partial<PartitionReplicaOptions> = {},
): Promise<Node> {
  const host = new RaftHost({ nodeId: id, transport: hub.transport(id), tickIntervalMs });
  const replica = await PartitionReplica.open({
    topic: 't',
    partition: 0,
    groupId: 'p/t/0/1',
    store,
    host,
    logger: quiet,
    nowMs: () => Date.now(),
    batchBytesMax: () => 1 << 20,
    proposalTimeoutMs: 2_000,
    ...(recordedInSync === undefined ? {} : { recordedInSync }),
    ...extra,
  });
  const node = { id, host, store, replica };
  running.push(node);
  return node;
}

async function startGroup(
  hub: MemoryHub,
  recordedInSync?: () => readonly number[] | undefined,
  tickIntervalMs?: number,
  extra?: Partial<PartitionReplicaOptions>,
): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const id of IDS) {
    nodes.push(
      await startNode(hub, id, MemoryPartitionStore.bootstrapped(IDS), recordedInSync, tickIntervalMs, extra),
    );
  }
  return nodes;
}

async function leaderOf(nodes: readonly Node[]): Promise<Node> {
  let leader: Node | undefined;
  await waitFor('a leader', () => {
    leader = nodes.find((n) => n.replica.isLeader());
    return leader !== undefined;
  });
  return leader!;
}

function batch(values: string[]): Buffer {
  return encodeRecordBatch(
    values.map((v) => ({ key: null, value: Buffer.from(v) })),
    { baseTimestamp: 1_700_000_000_000 },
  );
}

async function readAll(node: Node): Promise<{ offset: number; value: string }[]> {
  const { records } = await node.replica.read(node.replica.logStartOffset(), 1 << 20);
  const out: { offset: number; value: string }[] = [];
  for (const b of splitBatches(records)) {
    for (const r of decodeRecords(b)) out.push({ offset: r.offset, value: r.value?.toString() ?? '' });
  }
  return out;
}

/** Base offset -> batch bytes of every data entry a node's store holds. */
function storedBatches(node: Node): Map<number, string> {
  const out = new Map<number, string>();
  for (const e of node.store.allEntries()) {
    if (e.type !== 'normal' || e.data.byteLength < 61) continue;
    const buf = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    out.set(readBatchHeader(buf).baseOffset, buf.toString('hex'));
  }
  return out;
}

describe('PartitionReplica', () => {
  it('stamps offsets in log order on the leader and replicates identical batches; followers refuse writes', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const leader = await leaderOf(nodes);
    const a = await leader.replica.append(batch(['a0', 'a1', 'a2']));
    const b = await leader.replica.append(Buffer.concat([batch(['b0', 'b1']), batch(['c0'])]));
    expect(a.baseOffset).toBe(0);
    expect(b.baseOffset).toBe(3);
    expect(leader.replica.highWatermark()).toBe(6);
    expect((await readAll(leader)).map((r) => `${r.offset}:${r.value}`)).toEqual([
      '0:a0',
      '1:a1',
      '2:a2',
      '3:b0',
      '4:b1',
      '5:c0',
    ]);
    await waitFor('followers caught up', () => nodes.every((n) => storedBatches(n).size === 3));
    const reference = storedBatches(leader);
    for (const n of nodes) expect(storedBatches(n)).toEqual(reference);

    const follower = nodes.find((n) => n !== leader)!;
    await expect(follower.replica.append(batch(['x']))).rejects.toSatisfy(
      (err: unknown) => isStreamBusError(err, 'NOT_LEADER') && err.metadata?.leaderId === leader.id,
    );
  });

  it('acks=1 is acknowledged on the leader alone; acks=all and the high watermark wait for a majority', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const leader = await leaderOf(nodes);
    await leader.replica.append(batch(['committed']));
    for (const n of nodes) if (n !== leader) hub.isolate(n.id);

    const one = await leader.replica.append(batch(['only-on-leader']), 1);
    expect(one.baseOffset).toBe(1);
    const state: { outcome: 'pending' | 'acked' | 'failed' } = { outcome: 'pending' };
    const all = leader.replica.append(batch(['needs-majority']), -1).then(
      () => {
        state.outcome = 'acked';
      },
      () => {
        state.outcome = 'failed';
      },
    );
    await new Promise((r) => setTimeout(r, 60));
    expect(state.outcome).toBe('pending');
    expect(leader.replica.highWatermark()).toBe(1);
    expect((await readAll(leader)).map((r) => r.value)).toEqual(['committed']);

    // Healed: the group settles on one log. Whether the cut-off leader's writes survive depends on who wins
    // the next election (acks=1 promises nothing more); an acks=all write is acknowledged only if it did.
    hub.heal();
    await all;
    const settled = await leaderOf(nodes);
    await waitFor('every replica holding the same log', () => {
      const ref = JSON.stringify([...storedBatches(settled)]);
      return nodes.every((n) => JSON.stringify([...storedBatches(n)]) === ref);
    });
    const values = (await readAll(settled)).map((r) => r.value);
    expect(values[0]).toBe('committed');
    if (state.outcome === 'acked') expect(values).toContain('needs-majority');
    else expect(state.outcome).toBe('failed');
  });

  it('after failover offsets continue from the committed end, and a deposed leader loses its uncommitted tail', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const first = await leaderOf(nodes);
    await first.replica.append(batch(['c0', 'c1']));
    await waitFor('replicated', () => nodes.every((n) => storedBatches(n).size === 1));

    // The leader, cut off, takes an acks=1 write nobody else sees.
    hub.isolate(first.id);
    const lost = await first.replica.append(batch(['lost']), 1);
    expect(lost.baseOffset).toBe(2);

    const others = nodes.filter((n) => n !== first);
    const second = await leaderOf(others);
    const next = await second.replica.append(batch(['n0']));
    expect(next.baseOffset).toBe(2); // the committed log ended at 2; the lost write never counted

    hub.heal();
    await waitFor(
      'the old leader following with the new log',
      () => storedBatches(first).get(2) === storedBatches(second).get(2),
    );
    expect(first.replica.isLeader()).toBe(false);
    for (const n of nodes) expect(storedBatches(n)).toEqual(storedBatches(second));
    expect((await readAll(second)).map((r) => r.value)).toEqual(['c0', 'c1', 'n0']);
  });

  it('tells its store to cache writes while it leads and to write around the cache while it follows', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const first = await leaderOf(nodes);
    await waitFor('every replica told its role', () =>
      nodes.every((n) => n.store.writesCached !== undefined),
    );
    for (const n of nodes) expect(n.store.writesCached).toBe(n === first);

    hub.isolate(first.id);
    const second = await leaderOf(nodes.filter((n) => n !== first));
    expect(second.store.writesCached).toBe(true);
    hub.heal();
    await waitFor('the old leader following', () => first.store.writesCached === false);
    for (const n of nodes) expect(n.store.writesCached).toBe(n === second);
  });

  it('does not lead before its leadership is taken up: Raft has won, the leader-change has not run yet', async () => {
    // Raft turns leader as the winning vote arrives; the driver reports it with the next Ready (a later turn
    // of the event loop, or later still behind a write). An append taken in between would be checked against
    // the producer state and in-sync set of the previous leadership, which the report then resets.
    const hub = new ObservedHub();
    const nodes = await startGroup(hub);
    const first = await leaderOf(nodes);
    const early: { isLeader?: boolean; append?: string } = {};
    hub.afterDelivery = (to) => {
      const n = nodes.find((x) => x.id === to && x !== first);
      if (n === undefined || n.replica.node.status().role !== 'leader' || early.isLeader !== undefined)
        return;
      early.isLeader = n.replica.isLeader();
      n.replica.append(batch(['too-early'])).then(
        () => {
          early.append = 'acknowledged';
        },
        (err: unknown) => {
          early.append = isStreamBusError(err) ? err.code : String(err);
        },
      );
    };
    hub.isolate(first.id);
    const second = await leaderOf(nodes.filter((n) => n !== first));
    await waitFor('the early append answered', () => early.append !== undefined);
    expect(early).toEqual({ isLeader: false, append: 'LEADER_NOT_AVAILABLE' });
    expect(second.store.writesCached).toBe(true);
    expect(second.replica.leadership()).toBe(second.replica.node.status().term);
  });

  it('a new leader keeps the recorded in-sync set: a stopped replica left out stays out, a live one rejoins once caught up', async () => {
    const hub = new MemoryHub();
    let recorded: readonly number[] = IDS;
    const nodes = await startGroup(hub, () => recorded);
    const first = await leaderOf(nodes);
    await first.replica.append(batch(['a']));
    await waitFor('replicated', () => nodes.every((n) => storedBatches(n).size === 1));
    const [stopped, next] = nodes.filter((n) => n !== first) as [Node, Node];

    // The stopped replica had dropped out (the old leader recorded it) before leadership moves on.
    hub.isolate(stopped.id);
    recorded = [first.id, next.id];
    await first.replica.node.transferLeadership(next.id);
    await waitFor('the transfer', () => next.replica.isLeader());
    // Starting with every voter in sync would put it back for the whole lag time (10 s).
    expect(next.replica.inSyncReplicas(Date.now())).toEqual([first.id, next.id].sort((a, b) => a - b));

    // A live replica the record leaves out joins at the first check after it caught up.
    hub.heal();
    recorded = [next.id];
    await next.replica.node.transferLeadership(stopped.id);
    await waitFor('the second transfer', () => stopped.replica.isLeader());
    // The record names only the old leader: the first one (live) starts outside the set.
    expect(stopped.replica.inSyncReplicas(Date.now())).toEqual([stopped.id, next.id].sort((a, b) => a - b));
    await stopped.replica.append(batch(['b']));
    await waitFor('the others caught up and counted in sync', () => {
      stopped.replica.trackFollowers(Date.now());
      return stopped.replica.inSyncReplicas(Date.now()).length === 3;
    });
  });

  it('an append during a leadership transfer waits for it: NOT_LEADER naming the new leader once it moved', async () => {
    const hub = new MemoryHub();
    // 50 ms ticks: the transfer is abandoned after an election timeout, which a loaded machine's 10 ms ticks
    // could let pass before the target's election.
    const nodes = await startGroup(hub, undefined, 50);
    const first = await leaderOf(nodes);
    const next = nodes.find((n) => n !== first)!;
    const transfer = first.replica.node.transferLeadership(next.id);
    expect(first.replica.node.leadTransferee()).toBe(next.id);
    // Refused at once with LEADERSHIP_TRANSFER_IN_PROGRESS before; now it waits for the outcome.
    const outcome = await first.replica.append(batch(['during'])).then(
      () => 'written here',
      (err: unknown) => err,
    );
    const moved = await transfer.then(
      () => true,
      () => false, // abandoned after an election timeout (a very loaded machine): written by the old leader
    );
    if (moved) {
      expect(outcome).toMatchObject({
        code: 'NOT_LEADER',
        metadata: expect.objectContaining({ leaderId: next.id }),
      });
      expect((await next.replica.append(batch(['after']))).baseOffset).toBe(0);
    } else {
      expect(outcome).toBe('written here');
    }
  });

  it('an append during a transfer names the new leader even when the old one hears of it a while after stepping down', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub, undefined, 50);
    const first = await leaderOf(nodes);
    const next = nodes.find((n) => n !== first)!;
    // The new leader's appends to the old one are lost: it steps down at the vote request and learns who
    // leads only from a heartbeat, a tick later.
    hub.dropWhere = (from, to, e) => from === next.id && to === first.id && e.message.type === 'app';
    const transfer = first.replica.node.transferLeadership(next.id);
    const outcome = await first.replica.append(batch(['during'])).then(
      () => 'written here',
      (err: unknown) => err,
    );
    hub.dropWhere = null;
    if (
      await transfer.then(
        () => true,
        () => false,
      )
    ) {
      expect(outcome).toMatchObject({
        code: 'NOT_LEADER',
        metadata: expect.objectContaining({ leaderId: next.id }),
      });
    } else {
      expect(outcome).toBe('written here'); // abandoned (a very loaded machine)
    }
  });

  it('an append during a transfer that cannot finish is written by the leader once the transfer is abandoned', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const first = await leaderOf(nodes);
    const [target, other] = nodes.filter((n) => n !== first) as [Node, Node];
    await first.replica.append(batch(['a']));
    await waitFor('replicated', () => nodes.every((n) => storedBatches(n).size === 1));
    hub.isolate(target.id); // paused: it never campaigns
    const transfer = first.replica.node.transferLeadership(target.id).catch((err: unknown) => err);
    expect(first.replica.node.leadTransferee()).toBe(target.id);
    const written = await first.replica.append(batch(['b']));
    expect(written.baseOffset).toBe(1);
    expect(first.replica.isLeader()).toBe(true);
    expect(await transfer).toBeInstanceOf(Error);
    expect((await readAll(first)).map((r) => r.value)).toEqual(['a', 'b']);
    expect(storedBatches(other).get(1)).toBe(storedBatches(first).get(1));
  });

  it('confirms leadership only while a quorum still follows: a replaced leader cut off from it is refused', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const first = await leaderOf(nodes);
    await first.replica.confirmLeadership();

    hub.isolate(first.id); // as a paused process: it learns nothing of the election that follows
    const second = await leaderOf(nodes.filter((n) => n !== first));
    await second.replica.confirmLeadership();
    // Whether or not it still believes it leads, the old leader cannot confirm it: a coordinator there must
    // not answer reads from its old state (group-shard.ts committedConfirmed).
    const refused = await first.replica.confirmLeadership().then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).not.toBeNull();
    expect(
      isStreamBusError(refused, 'NOT_LEADER') ||
        isStreamBusError(refused, 'LEADER_NOT_AVAILABLE') ||
        isStreamBusError(refused, 'REQUEST_TIMED_OUT'),
    ).toBe(true);
  });

  it('drops retried idempotent batches (also after failover), refuses gaps, and answers with the original offsets', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const first = await leaderOf(nodes);
    const seqBatch = (seq: number, values: string[]) =>
      encodeRecordBatch(
        values.map((v) => ({ key: null, value: Buffer.from(v) })),
        { baseTimestamp: 1_700_000_000_000, producerId: 42, producerEpoch: 0, baseSequence: seq },
      );
    const a = seqBatch(0, ['a0', 'a1']);
    const aRetry = Buffer.from(a);
    expect((await first.replica.append(a)).baseOffset).toBe(0);
    expect((await first.replica.append(aRetry)).baseOffset).toBe(0);
    // A retry while the original is still in flight waits for it rather than appending twice.
    const [b1, b2] = await Promise.all([
      first.replica.append(seqBatch(2, ['b'])),
      first.replica.append(seqBatch(2, ['b'])),
    ]);
    expect([b1.baseOffset, b2.baseOffset]).toEqual([2, 2]);
    await expect(first.replica.append(seqBatch(9, ['gap']))).rejects.toSatisfy((err: unknown) =>
      isStreamBusError(err, 'OUT_OF_ORDER_SEQUENCE'),
    );
    expect((await readAll(first)).map((r) => r.value)).toEqual(['a0', 'a1', 'b']);

    // A new leader knows the producer from the committed state: the retry of the last batch is a duplicate.
    await waitFor('replicated', () => nodes.every((n) => storedBatches(n).size === 2));
    hub.isolate(first.id);
    const second = await leaderOf(nodes.filter((n) => n !== first));
    expect((await second.replica.append(seqBatch(2, ['b']))).baseOffset).toBe(2);
    expect((await second.replica.append(seqBatch(3, ['c']))).baseOffset).toBe(3);
    expect((await readAll(second)).map((r) => r.value)).toEqual(['a0', 'a1', 'b', 'c']);
  });

  it('a follower copy serves consumers only what it committed: its uncommitted tail is not read, and an offset past its high watermark is "nothing yet", not OFFSET_OUT_OF_RANGE', async () => {
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const leader = await leaderOf(nodes);
    const [follower, other] = nodes.filter((n) => n !== leader) as [Node, Node];
    await leader.replica.append(batch(['a', 'b']));
    await waitFor('the follower applied a, b', () => follower.replica.highWatermark() === 2);
    // c reaches the follower's log, but nobody acknowledges it: uncommitted everywhere.
    hub.isolate(other.id);
    hub.cutLink(follower.id, leader.id);
    await leader.replica.append(batch(['c']), 1);
    await waitFor('c in the follower log', () => storedBatches(follower).size === 2);
    expect(follower.replica.highWatermark()).toBe(2);

    const reads = followerReads(follower.replica);
    const all = await reads.read(0, 1 << 20);
    const values = [...splitBatches(all.records)].flatMap((b) =>
      decodeRecords(b).map((r) => r.value?.toString()),
    );
    expect(values).toEqual(['a', 'b']);
    expect(all.highWatermark).toBe(2);
    expect((await reads.read(2, 1 << 20)).records.length).toBe(0);
    // The consumer read c at the leader (acks=1 there): here it is not committed yet, so nothing, no error.
    const ahead = await reads.read(3, 1 << 20);
    expect({ records: ahead.records.length, highWatermark: ahead.highWatermark }).toEqual({
      records: 0,
      highWatermark: 2,
    });

    hub.heal();
    await waitFor('c committed on the follower', () => follower.replica.highWatermark() === 3);
    const tail = await reads.read(2, 1 << 20);
    expect(
      [...splitBatches(tail.records)].flatMap((b) => decodeRecords(b).map((r) => r.value?.toString())),
    ).toEqual(['c']);
  });

  it("a new leader knows an idempotent batch from its uncommitted tail: the producer's retry commits it once, at its offset", async () => {
    // The old leader wrote E and replicated it to one follower, whose acknowledgement never came back: E is
    // in the follower's log but not committed (nor applied there) when that follower takes over.
    const hub = new MemoryHub();
    const nodes = await startGroup(hub);
    const first = await leaderOf(nodes);
    const [follower, other] = nodes.filter((n) => n !== first) as [Node, Node];
    const e = encodeRecordBatch([{ key: null, value: Buffer.from('e') }], {
      baseTimestamp: 1_700_000_000_000,
      producerId: 7,
      producerEpoch: 0,
      baseSequence: 0,
    });
    hub.isolate(other.id);
    hub.cutLink(follower.id, first.id);
    const acked = await first.replica.append(Buffer.from(e), 1);
    expect(acked.baseOffset).toBe(0);
    await waitFor('E in the follower log', () => storedBatches(follower).size === 1);
    expect(follower.replica.highWatermark()).toBe(0);

    // It wins the election, and its appends are lost on the way: E stays uncommitted while it leads.
    hub.heal();
    hub.isolate(first.id);
    hub.dropWhere = (from, _to, env) => from === follower.id && env.message.type === 'app';
    follower.replica.node.campaign();
    await waitFor('the follower leads', () => follower.replica.isLeader());
    expect(follower.replica.highWatermark()).toBe(0);
    const retry = await follower.replica.append(Buffer.from(e), 1);
    expect(retry.baseOffset).toBe(0);

    hub.dropWhere = null;
    await waitFor('E committed', () => follower.replica.highWatermark() > 0);
    expect((await readAll(follower)).map((r) => `${r.offset}:${r.value}`)).toEqual(['0:e']);
  });

  it('acks=all with min_insync_replicas 3 of 3 is acknowledged only once every replica holds the write, not on a commit by 2', async () => {
    const hub = new MemoryHub();
    let minInsync = 3;
    const nodes = await startGroup(hub, undefined, undefined, { minInsyncReplicas: () => minInsync });
    const leader = await leaderOf(nodes);
    expect((await leader.replica.append(batch(['all-three']))).baseOffset).toBe(0);

    // One follower dies: it stays in the in-sync set for the lag time (10 s), and a commit needs only 2.
    const cut = nodes.find((n) => n !== leader)!;
    hub.isolate(cut.id);
    expect(leader.replica.inSyncReplicas(Date.now())).toHaveLength(3);
    await expect(
      leader.replica.append(batch(['two-copies']), -1, Deadline.fromTimeout(300)),
    ).rejects.toSatisfy((err: unknown) => isStreamBusError(err, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND'));
    // Written all the same (as in Kafka): committed, readable, on the two live replicas.
    expect((await readAll(leader)).map((r) => r.value)).toEqual(['all-three', 'two-copies']);

    // min_insync_replicas 2 is what a commit already gives.
    minInsync = 2;
    expect(
      (await leader.replica.append(batch(['two-enough']), -1, Deadline.fromTimeout(300))).baseOffset,
    ).toBe(2);

    // An idempotent producer's write refused so, retried once the replica is back, gets its original offset.
    minInsync = 3;
    const idem = () =>
      encodeRecordBatch([{ key: null, value: Buffer.from('idem') }], {
        baseTimestamp: 1_700_000_000_000,
        producerId: 7,
        producerEpoch: 0,
        baseSequence: 0,
      });
    await expect(leader.replica.append(idem(), -1, Deadline.fromTimeout(300))).rejects.toSatisfy(
      (err: unknown) => isStreamBusError(err, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND'),
    );
    hub.heal();
    expect((await leader.replica.append(idem())).baseOffset).toBe(3);
    expect((await leader.replica.append(batch(['healed']))).baseOffset).toBe(4);
    expect((await readAll(leader)).map((r) => r.value)).toEqual([
      'all-three',
      'two-copies',
      'two-enough',
      'idem',
      'healed',
    ]);
  });
});
