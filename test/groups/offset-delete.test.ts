/**
 * OffsetDelete end to end on an in-process broker, single node and as the one voter of a cluster (Kafka's
 * KIP-496 semantics): an Empty group's offsets are deleted and its next consumer starts per
 * autoOffsetReset; a topic a member subscribes to keeps its offsets while another topic's go; the deletion
 * is durable (tombstones in `__consumer_offsets`) through checkpoints and a restart; an unknown group is
 * GROUP_ID_NOT_FOUND. ApiVersions lists the API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import {
  aliveInMetadata,
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';
import { produceRoundRobin } from '../helpers/produce-values.js';
import { codeOf, connectTo } from '../helpers/wire.js';

/** Checkpoints every 500 ms (a quarter of the retention), so each test also goes through several. */
const SETTINGS = {
  'groups.initial_rebalance_delay': 100,
  'groups.offsets_partitions': 3,
  'groups.offsets_retention': 2_000,
};
const GROUP = { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 5_000 };

const COORDINATOR_LOADING = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let broker: InProcessBroker | undefined;
const clients: StreamBusClient[] = [];
const connections: Connection[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await broker?.destroy();
  broker = undefined;
  for (const d of dirs.splice(0)) removeDir(d);
});

function client(): StreamBusClient {
  const c = createClient({ bootstrap: broker!.bootstrap, requestTimeoutMs: 10_000 });
  clients.push(c);
  return c;
}

async function start(settings: Record<string, unknown>, dataDir: string): Promise<void> {
  broker = await startInProcessBroker(settings, dataDir);
  await aliveInMetadata(broker);
}

/** The one broker is every group's coordinator: its raw answers are what the SDK reads. */
async function connection(): Promise<Connection> {
  const c = await connectTo(broker!);
  connections.push(c);
  return c;
}

function produce(topic: string, count: number, partitions: number): Promise<void> {
  return produceRoundRobin(client(), topic, count, partitions);
}

/** A member of `groupId` reading `topics` from its committed offsets (earliest without) until `expected`. */
async function readWithGroup(groupId: string, topics: string[], expected: number): Promise<string[]> {
  const member = client().consumer({
    autoOffsetReset: 'earliest',
    maxWaitMs: 100,
    group: { groupId, ...GROUP },
  });
  member.subscribe(topics);
  const seen: string[] = [];
  const deadline = Date.now() + 20_000;
  while (seen.length < expected) {
    if (Date.now() > deadline) throw new Error(`read ${seen.length} of ${expected}`);
    const messages = await member.poll({ signal: AbortSignal.timeout(300) });
    seen.push(...messages.map((m) => `${m.topic}-${m.partition}:${m.offset}`));
  }
  await member.close(); // commits its positions
  return seen.sort();
}

/**
 * The group's committed offsets of `topic`'s partitions 0..count-1 (-1: none), as OffsetFetch answers;
 * asked again while the coordinator is still loading after a start (NOT_COORDINATOR, as the SDK retries).
 */
async function committedOffsets(groupId: string, topic: string, count: number): Promise<number[]> {
  const partitions = [...Array(count).keys()].map((partition) => ({ topic, partition }));
  const c = await connection();
  for (let attempt = 0; ; attempt++) {
    const res = await c.request(ApiKey.OffsetFetch, { groupId, partitions });
    const code = codeOf(res.error);
    if (code === null) return res.partitions.map((p) => p.offset);
    if (!COORDINATOR_LOADING.has(code) || attempt > 100) throw new Error(`OffsetFetch answered ${code}`);
    await sleep(100);
  }
}

for (const mode of ['single node', 'one-voter cluster'] as const) {
  const settingsFor = async () => ({
    ...SETTINGS,
    ...(mode === 'single node' ? {} : await singleVoterCluster()),
  });

  describe(`OffsetDelete (${mode})`, () => {
    it('an Empty group loses the offsets asked for; its next consumer starts them per autoOffsetReset', async () => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      await start(await settingsFor(), dataDir);
      const apis = (await (await connection()).request(ApiKey.ApiVersions, {})).apis;
      expect(apis).toContainEqual({ apiKey: ApiKey.OffsetDelete, minVersion: 0, maxVersion: 0 });

      await client().admin().createTopic({ name: 'orders', partitions: 2 });
      await produce('orders', 6, 2);
      expect(await readWithGroup('g-empty', ['orders'], 6)).toHaveLength(6);
      expect(await committedOffsets('g-empty', 'orders', 2)).toEqual([3, 3]);

      const groups = client().admin().groups();
      const deleted = await groups.deleteOffsets('g-empty', 'orders', [0]);
      expect(deleted).toEqual([{ topic: 'orders', partition: 0, committed: 3, error: null }]);
      expect(await committedOffsets('g-empty', 'orders', 2)).toEqual([-1, 3]);
      // Partition 0 again from the start (earliest), partition 1 from its commit: nothing new there.
      await produce('orders', 2, 2); // one more message in each partition
      expect(await readWithGroup('g-empty', ['orders'], 5)).toEqual([
        'orders-0:0',
        'orders-0:1',
        'orders-0:2',
        'orders-0:3',
        'orders-1:3',
      ]);
    });

    it('while a member subscribes to a topic its offsets are refused per partition; another topic’s go', async () => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      await start(await settingsFor(), dataDir);
      const admin = client().admin();
      await admin.createTopic({ name: 'orders', partitions: 2 });
      await admin.createTopic({ name: 'audit', partitions: 1 });
      await produce('orders', 4, 2);
      await produce('audit', 2, 1);
      expect(await readWithGroup('g-busy', ['audit'], 2)).toHaveLength(2); // commits audit-0 at 2

      const member = client().consumer({
        autoOffsetReset: 'earliest',
        maxWaitMs: 100,
        group: { groupId: 'g-busy', ...GROUP, autoCommit: false },
      });
      member.subscribe(['orders']);
      const deadline = Date.now() + 20_000;
      while (member.assignment().length < 2) {
        if (Date.now() > deadline) throw new Error('the member was never assigned');
        await member.poll({ signal: AbortSignal.timeout(300) });
      }
      await member.commit([
        { topic: 'orders', partition: 0, offset: 1 },
        { topic: 'orders', partition: 1, offset: 2 },
      ]);

      const groups = admin.groups();
      const refused = await groups.deleteOffsets('g-busy', 'orders');
      expect(refused.map((d) => [d.partition, d.committed, d.error?.code])).toEqual([
        [0, 1, 'GROUP_SUBSCRIBED_TO_TOPIC'],
        [1, 2, 'GROUP_SUBSCRIBED_TO_TOPIC'],
      ]);
      expect(await committedOffsets('g-busy', 'orders', 2)).toEqual([1, 2]);
      // The same request on the wire: no group-level error, one per partition.
      const raw = await (await connection()).request(ApiKey.OffsetDelete, {
        groupId: 'g-busy',
        partitions: [
          { topic: 'orders', partition: 1 },
          { topic: 'audit', partition: 0 },
        ],
      });
      expect(codeOf(raw.error)).toBeNull();
      expect(raw.partitions.map((p) => [p.topic, p.partition, codeOf(p.error)])).toEqual([
        ['orders', 1, 'GROUP_SUBSCRIBED_TO_TOPIC'],
        ['audit', 0, null],
      ]);
      expect(await committedOffsets('g-busy', 'audit', 1)).toEqual([-1]);
      expect(await committedOffsets('g-busy', 'orders', 2)).toEqual([1, 2]);

      await member.close();
      const freed = await groups.deleteOffsets('g-busy', 'orders');
      expect(freed.map((d) => [d.partition, d.committed, d.error])).toEqual([
        [0, 1, null],
        [1, 2, null],
      ]);
      expect(await committedOffsets('g-busy', 'orders', 2)).toEqual([-1, -1]);
    });

    it('a deletion survives checkpoints and a restart on the same data dir', async () => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      const settings = await settingsFor();
      await start(settings, dataDir);
      await client().admin().createTopic({ name: 'events', partitions: 3 });
      await produce('events', 9, 3);
      expect(await readWithGroup('g-durable', ['events'], 9)).toHaveLength(9);
      const deleted = await client().admin().groups().deleteOffsets('g-durable', 'events', [0, 2]);
      expect(deleted.map((d) => [d.partition, d.committed, d.error])).toEqual([
        [0, 3, null],
        [2, 3, null],
      ]);
      await sleep(1_500); // checkpoints run every 500 ms: none may write the deleted offsets back

      await Promise.allSettled(clients.splice(0).map((c) => c.close()));
      for (const c of connections.splice(0)) c.close();
      await broker!.stop();
      await start(settings, dataDir);
      expect(await committedOffsets('g-durable', 'events', 3)).toEqual([-1, 3, -1]);
      const view = await client().admin().groups().describeGroup('g-durable');
      expect(view.offsets.map((o) => [o.partition, o.committed])).toEqual([[1, 3]]);
    });

    it('an unknown group is GROUP_ID_NOT_FOUND; an unknown topic or partition with no offsets is UNKNOWN_TOPIC_OR_PARTITION', async () => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      await start(await settingsFor(), dataDir);
      await client().admin().createTopic({ name: 'orders', partitions: 1 });
      const groups = client().admin().groups();
      await expect(groups.deleteOffsets('nobody', 'orders')).rejects.toMatchObject({
        code: 'GROUP_ID_NOT_FOUND',
        message: 'no group "nobody"',
      });
      const raw = await (await connection()).request(ApiKey.OffsetDelete, {
        groupId: 'nobody',
        partitions: [{ topic: 'orders', partition: 0 }],
      });
      expect(codeOf(raw.error)).toBe('GROUP_ID_NOT_FOUND');

      await produce('orders', 1, 1);
      expect(await readWithGroup('g-known', ['orders'], 1)).toHaveLength(1);
      await expect(groups.deleteOffsets('g-known', 'no-such-topic')).rejects.toMatchObject({
        code: 'UNKNOWN_TOPIC_OR_PARTITION',
      });
      // A partition the topic does not have: UNKNOWN_TOPIC_OR_PARTITION (as Kafka), not "nothing committed".
      const [zero, five] = await groups.deleteOffsets('g-known', 'orders', [0, 5]);
      expect(zero).toEqual({ topic: 'orders', partition: 0, committed: 1, error: null });
      expect(five).toMatchObject({ topic: 'orders', partition: 5, committed: -1 });
      expect(five?.error).toMatchObject({
        code: 'UNKNOWN_TOPIC_OR_PARTITION',
        message: 'unknown topic or partition orders-5',
      });
      expect(await committedOffsets('g-known', 'orders', 1)).toEqual([-1]);
    });
  });
}
