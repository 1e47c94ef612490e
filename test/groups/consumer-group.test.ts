/**
 * Consumer groups end to end on one in-process broker: members share a topic's partitions, a member that
 * leaves hands its partitions to the others, committed offsets survive a broker restart and never go
 * backwards, and the admin view reports members, offsets and lag.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Consumer, createClient, partitionForKey, type StreamBusClient } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import {
  aliveInMetadata,
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';
import { produceRoundRobin } from '../helpers/produce-values.js';

const FAST = { 'groups.initial_rebalance_delay': 100, 'groups.offsets_partitions': 3 };
const GROUP = { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 5_000 };

let broker: InProcessBroker | undefined;
const clients: StreamBusClient[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await broker?.destroy();
  broker = undefined;
});

function client(): StreamBusClient {
  const c = createClient({ bootstrap: broker!.bootstrap, requestTimeoutMs: 10_000 });
  clients.push(c);
  return c;
}

function produce(topic: string, count: number, partitions: number): Promise<void> {
  return produceRoundRobin(client(), topic, count, partitions);
}

/** Polls every consumer in turn until `done` holds (each poll also heartbeats and rejoins as needed). */
async function pollUntil(
  consumers: readonly Consumer[],
  done: () => boolean,
  seen?: Set<string>,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out polling the group');
    await Promise.all(
      consumers.map(async (c) => {
        const messages = await c.poll({ signal: AbortSignal.timeout(300) });
        for (const m of messages) seen?.add(m.value?.toString() ?? '');
      }),
    );
  }
}

const sizes = (consumers: readonly Consumer[]) => consumers.map((c) => c.assignment().length).sort();

describe('consumer groups on one broker', () => {
  it('three members split six partitions two each; a leaving member hands its partitions over', async () => {
    broker = await startInProcessBroker(FAST);
    await client().admin().createTopic({ name: 'orders', partitions: 6 });
    const members = [0, 1, 2].map(() =>
      client().consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100, group: { groupId: 'g1', ...GROUP } }),
    );
    for (const m of members) m.subscribe(['orders']);
    await pollUntil(members, () => sizes(members).join() === '2,2,2');
    const owned = members.flatMap((m) => m.assignment().map((p) => `${p.topic}-${p.partition}`));
    expect(new Set(owned).size).toBe(6);
    // The broker's health report shows what it coordinates.
    await broker!.broker.health.refresh('groups');
    expect(broker!.broker.health.component('groups')?.message).toMatch(
      /^coordinating 1 consumer groups on 3 /,
    );

    await members[2]!.close();
    const rest = members.slice(0, 2);
    await pollUntil(rest, () => sizes(rest).join() === '3,3');
    expect(new Set(rest.flatMap((m) => m.assignment().map((p) => p.partition))).size).toBe(6);
  });

  it('a member that polls again only after its session timeout, within the rebalance timeout, keeps its place through a rebalance', async () => {
    broker = await startInProcessBroker(FAST);
    await client().admin().createTopic({ name: 'jobs', partitions: 2 });
    const group = { groupId: 'g-busy', ...GROUP, rebalanceTimeoutMs: 10_000 };
    const busy = client().consumer({ maxWaitMs: 100, group });
    busy.subscribe(['jobs']);
    await pollUntil([busy], () => busy.assignment().length === 2);
    const groups = client().admin().groups();
    const [before] = (await groups.describeGroup('g-busy')).members;

    // A second member starts a rebalance while `busy` is working (not polling) for longer than its
    // session timeout: its rejoin waits for its next poll, and only heartbeats keep its session meanwhile.
    const joiner = client().consumer({ maxWaitMs: 100, group });
    joiner.subscribe(['jobs']);
    await joiner.poll({ signal: AbortSignal.timeout(200) });
    await new Promise((r) => setTimeout(r, GROUP.sessionTimeoutMs + 2_000));
    const waiting = (await groups.describeGroup('g-busy')).members.map((m) => m.memberId).sort();
    expect(waiting).toContain(before?.memberId);
    // Each poll returns when its signal says, join pending or not: polled in turn, both members rejoin
    // (a poll stuck behind its own join would keep the other from rejoining until the rebalance timeout).
    await pollUntil([busy, joiner], () => sizes([busy, joiner]).join() === '1,1');
    const after = await groups.describeGroup('g-busy');
    expect(after.members.map((m) => m.memberId).sort()).toEqual(waiting);
  });

  it('a member left out of a rebalance past its timeout loses its partitions: onLost, no commit, it restarts from the group commits', async () => {
    broker = await startInProcessBroker(FAST);
    await client().admin().createTopic({ name: 'lost', partitions: 2 });
    await produce('lost', 10, 2);
    const options = { ...GROUP, rebalanceTimeoutMs: 1_500, autoCommit: false };
    const consumer = () =>
      client().consumer({
        autoOffsetReset: 'earliest',
        maxWaitMs: 100,
        group: { groupId: 'g-lost', ...options },
      });
    const events: string[] = [];
    const names = (ps: { partition: number }[]) => ps.map((p) => p.partition).join(',');
    const slow = consumer();
    slow.subscribe(['lost'], {
      onAssigned: (ps) => void events.push(`assigned ${names(ps)}`),
      onRevoked: (ps) => void events.push(`revoked ${names(ps)}`),
      onLost: (ps) => void events.push(`lost ${names(ps)}`),
    });
    const seenBySlow = new Set<string>();
    await pollUntil([slow], () => seenBySlow.size === 10, seenBySlow);
    await slow.commit(); // both partitions at 5
    const firstGeneration = slow.groupMetadata().generation;

    // Another member joins while `slow` does not poll for longer than the rebalance timeout: the group goes
    // on without it; the new member reads on, commits past where `slow` stopped, and leaves.
    const fast = consumer();
    fast.subscribe(['lost']);
    await pollUntil([fast], () => fast.assignment().length === 2);
    await produce('lost', 10, 2);
    const seenByFast = new Set<string>();
    await pollUntil([fast], () => seenByFast.size === 10, seenByFast);
    await fast.commit(); // both partitions at 10
    await fast.close();

    // `slow` polls again: it hears it lost both partitions and rejoins as a new member; alone in the group
    // it gets both back, starting at the group's commits (10), not at its own stale positions (5).
    await pollUntil([slow], () => slow.assignment().length === 2 && events.length === 3);
    expect(events).toEqual(['assigned 0,1', 'lost 0,1', 'assigned 0,1']);
    expect(slow.groupMetadata().generation).toBeGreaterThan(firstGeneration);
    await produce('lost', 4, 2); // values m0-m3 at offsets 10-11 of each partition
    const afterRejoin: string[] = [];
    const deadline = Date.now() + 10_000;
    while (afterRejoin.length < 4 && Date.now() < deadline) {
      const messages = await slow.poll({ signal: AbortSignal.timeout(300) });
      afterRejoin.push(...messages.map((m) => `${m.partition}:${m.offset}`));
    }
    // Only the new messages: what `fast` read and committed is not read twice.
    expect(afterRejoin.sort()).toEqual(['0:10', '0:11', '1:10', '1:11']);
  });

  it('commits survive a broker restart, start the next member where the last stopped, and never go backwards', async () => {
    const dataDir = tempDir();
    broker = await startInProcessBroker(FAST, dataDir);
    await client().admin().createTopic({ name: 'events', partitions: 2 });
    await produce('events', 20, 2);
    const first = client().consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      group: { groupId: 'g2', ...GROUP, autoCommit: false },
    });
    first.subscribe(['events']);
    const seen = new Set<string>();
    await pollUntil([first], () => seen.size === 20, seen);
    await first.commit();
    const committed = await first.committed();
    expect(committed.map((c) => c.offset).sort()).toEqual([10, 10]);
    await expect(first.commit([{ topic: 'events', partition: 0, offset: 3 }])).rejects.toMatchObject({
      code: 'OFFSET_REGRESSION',
    });
    await first.close();

    await broker.stop();
    broker = await startInProcessBroker(FAST, dataDir);
    await produce('events', 4, 2);
    const second = client().consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      group: { groupId: 'g2', ...GROUP },
    });
    second.subscribe(['events']);
    const after = new Set<string>();
    await pollUntil([second], () => after.size === 4, after);
    expect([...after].sort()).toEqual(['m0', 'm1', 'm2', 'm3']); // only the four new ones
    await second.close();

    const view = await client().admin().groups().describeGroup('g2');
    expect(view.state).toBe('Empty');
    expect(view.offsets.map((o) => [o.partition, o.committed, o.lag])).toEqual([
      [0, 12, 0],
      [1, 12, 0],
    ]);
    removeDir(dataDir);
  });

  it('an admin reset moves a stopped group backwards; a group with members refuses it', async () => {
    broker = await startInProcessBroker(FAST);
    await client().admin().createTopic({ name: 'logs', partitions: 1 });
    await produce('logs', 5, 1);
    const member = client().consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      group: { groupId: 'g3', ...GROUP },
    });
    member.subscribe(['logs']);
    const seen = new Set<string>();
    await pollUntil([member], () => seen.size === 5, seen);
    await member.commit();
    const groups = client().admin().groups();
    await expect(groups.resetOffsets('g3', 'logs', { to: 'earliest' })).rejects.toMatchObject({
      code: 'NON_EMPTY_GROUP',
    });
    await member.close();
    expect(await groups.resetOffsets('g3', 'logs', { to: 'earliest' })).toEqual([
      { partition: 0, offset: 0 },
    ]);
    expect((await groups.describeGroup('g3')).offsets[0]?.committed).toBe(0);
    // Outside the log: clamped into it (past the end it would hold the group's commits back).
    expect(await groups.resetOffsets('g3', 'logs', { to: 'offset', offset: 99 })).toEqual([
      { partition: 0, offset: 5 },
    ]);
    expect(await groups.resetOffsets('g3', 'logs', { to: 'offset', offset: -7 })).toEqual([
      { partition: 0, offset: 0 },
    ]);
    expect((await groups.listGroups()).map((g) => g.groupId)).toContain('g3');
    await groups.deleteGroup('g3');
    expect((await groups.listGroups()).map((g) => g.groupId)).not.toContain('g3');
  });

  for (const mode of ['single node', 'one-voter cluster'] as const) {
    it(`offsets committed for a deleted topic do not carry over to a new topic of the same name (${mode})`, async () => {
      broker = await startInProcessBroker({
        ...FAST,
        ...(mode === 'single node' ? {} : await singleVoterCluster()),
      });
      await aliveInMetadata(broker);
      const admin = client().admin();
      const readAll = async (expected: number) => {
        const member = client().consumer({
          autoOffsetReset: 'earliest',
          maxWaitMs: 100,
          group: { groupId: 'g-recreated', ...GROUP },
        });
        member.subscribe(['reborn']);
        const seen = new Set<string>();
        await pollUntil([member], () => seen.size === expected, seen);
        await member.close(); // commits its position
        return [...seen].sort();
      };
      await admin.createTopic({ name: 'reborn', partitions: 1 });
      await produce('reborn', 5, 1);
      expect(await readAll(5)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      const groups = admin.groups();
      expect((await groups.describeGroup('g-recreated')).offsets.map((o) => o.committed)).toEqual([5]);

      await admin.deleteTopic('reborn');
      // The old topic's offsets are still shown while no topic of that name exists, with no lag.
      expect((await groups.describeGroup('g-recreated')).offsets).toMatchObject([
        { topic: 'reborn', partition: 0, committed: 5, lag: null },
      ]);
      await admin.createTopic({ name: 'reborn', partitions: 1 });
      await produce('reborn', 2, 1);
      // The new topic starts per autoOffsetReset, not at 5, and its commits are not refused as below 5.
      expect(await readAll(2)).toEqual(['m0', 'm1']);
      expect((await groups.describeGroup('g-recreated')).offsets.map((o) => [o.committed, o.lag])).toEqual([
        [2, 0],
      ]);
    });
  }

  it('clients cannot write, create or delete the internal offsets topic', async () => {
    broker = await startInProcessBroker(FAST);
    const c = client();
    await expect(c.admin().createTopic({ name: '__consumer_offsets', partitions: 1 })).rejects.toMatchObject({
      code: 'INTERNAL_TOPIC',
    });
    const producer = c.producer({ retries: 0, lingerMs: 0, idempotent: false });
    await expect(
      producer.send({ topic: '__consumer_offsets', messages: [{ value: 'x' }] }),
    ).rejects.toBeDefined();
  });
});

describe('__consumer_offsets compaction', () => {
  it('retention drops superseded records while checkpoints keep every committed offset', async () => {
    const dataDir = tempDir();
    const settings = {
      ...FAST,
      'groups.offsets_retention': 2_000,
      'storage.segment_ms': 200,
      'storage.retention_check_interval_ms': 200,
    };
    broker = await startInProcessBroker(settings, dataDir);
    await client().admin().createTopic({ name: 'kept', partitions: 2 });
    await produce('kept', 10, 2);
    const member = client().consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      group: { groupId: 'keeper', ...GROUP, autoCommit: false },
    });
    member.subscribe(['kept']);
    const seen = new Set<string>();
    await pollUntil([member], () => seen.size === 10, seen);
    await member.commit();
    await member.close();

    // Another group on the same offsets partition keeps committing, so segments fill, roll and age out.
    const partitions = 3;
    const target = partitionForKey('keeper', partitions);
    let busy = 'busy-0';
    for (let i = 1; partitionForKey(busy, partitions) !== target; i++) busy = `busy-${i}`;
    const busyMember = client().consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      group: { groupId: busy, ...GROUP, autoCommit: false },
    });
    busyMember.subscribe(['kept']);
    await pollUntil([busyMember], () => busyMember.assignment().length === 2);
    const admin = client().admin();
    const start = async () =>
      (await admin.listOffsets([{ topic: '__consumer_offsets', partition: target, timestamp: -2 }]))[0]
        ?.offset ?? 0;
    const deadline = Date.now() + 20_000;
    // Several retention periods: the partition's first records are deleted.
    while ((await start()) === 0 || Date.now() < deadline - 12_000) {
      if (Date.now() > deadline) throw new Error('the offsets partition was never trimmed');
      await busyMember.commit([{ topic: 'kept', partition: 0, offset: 1 }]);
      await new Promise((r) => setTimeout(r, 50));
    }
    await busyMember.close();
    // ...and the group's offsets are still there, also for a coordinator loading them from scratch.
    await broker.stop();
    broker = await startInProcessBroker(settings, dataDir);
    const view = await client().admin().groups().describeGroup('keeper');
    expect(view.offsets.map((o) => [o.partition, o.committed])).toEqual([
      [0, 5],
      [1, 5],
    ]);
    removeDir(dataDir);
  });
});
