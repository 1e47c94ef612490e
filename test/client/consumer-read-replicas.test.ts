/**
 * Fetch from followers in the SDK (Kafka's KIP-392): a consumer with `clientRack` sends it with each fetch
 * (Fetch v1), follows the leader's preferredReadReplica for that partition, reads there, and goes back to
 * the leader when the replica answers an error, cannot be reached, or metadata no longer lists it in sync;
 * nothing is lost or read twice on the way. Two fake brokers share one log: broker 1 leads, broker 2 is the
 * replica in rack "b".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { ReadReplicas } from '../../src/client/read-replicas.js';
import { StreamBusError } from '../../src/errors/index.js';
import { ApiKey, type FetchRequest, type FetchResponse, wireErrorOf } from '../../src/protocol/index.js';
import { FakeBroker, NO_REPLY, shareClusterMetadata } from './fake-broker.js';

const brokers: FakeBroker[] = [];
const clusters: Cluster[] = [];
const consumers: Consumer[] = [];

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
  for (const c of clusters.splice(0)) await c.close();
  for (const b of brokers.splice(0)) await b.stop();
});

interface Setup {
  leader: FakeBroker;
  replica: FakeBroker;
  /** While true, the leader sends a consumer in rack "b" to broker 2. */
  redirect: { on: boolean };
  /** The in-sync replicas metadata lists. */
  isr: number[];
}

async function leaderAndReplica(): Promise<Setup> {
  const pair = [await FakeBroker.start(), await FakeBroker.start()] as [FakeBroker, FakeBroker];
  brokers.push(...pair);
  const [leader, replica] = pair;
  leader.createTopic('t', 1);
  replica.topics.set('t', leader.topics.get('t')!); // one log, two copies
  shareClusterMetadata(pair, () => 1);
  const setup: Setup = { leader, replica, redirect: { on: true }, isr: [1, 2] };
  for (const b of pair) {
    const shared = b.handlers[ApiKey.Metadata]!;
    b.handlers[ApiKey.Metadata] = async (body, header) => {
      const md = await shared(body, header);
      if (typeof md === 'symbol') return md;
      return {
        ...md,
        topics: md.topics.map((t) => ({
          ...t,
          partitions: t.partitions.map((p) => ({ ...p, isr: setup.isr })),
        })),
      };
    };
  }
  leader.handlers[ApiKey.Fetch] = (body: FetchRequest): Promise<FetchResponse> | FetchResponse => {
    if (!setup.redirect.on || body.rackId !== 'b') return leader.fetch(body);
    return {
      partitions: body.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        error: null,
        highWatermark: leader.topics.get(p.topic)![p.partition]!.nextOffset,
        logStartOffset: 0,
        leaderHint: -1,
        records: Buffer.alloc(0),
        preferredReadReplica: 2,
      })),
    };
  };
  return setup;
}

function newCluster(bootstrap: string): Cluster {
  const c = new Cluster({ bootstrap: [bootstrap] });
  clusters.push(c);
  return c;
}

async function produce(to: FakeBroker, values: readonly string[]): Promise<void> {
  const producer = new Producer(newCluster(to.bootstrap), { lingerMs: 0 });
  await producer.send({ topic: 't', messages: values.map((value) => ({ partition: 0, value })) });
  await producer.close();
}

async function consumeUntil(consumer: Consumer, count: number, seen: string[]): Promise<void> {
  for (let i = 0; i < 500 && seen.length < count; i++) {
    for (const m of await consumer.poll()) seen.push(String(m.value));
  }
}

const fetchesAt = (b: FakeBroker): number => b.requestsOf(ApiKey.Fetch).length;

function rackConsumer(setup: Setup): Consumer {
  const consumer = new Consumer(newCluster(setup.leader.bootstrap), {
    autoOffsetReset: 'earliest',
    maxWaitMs: 20,
    clientRack: 'b',
  });
  consumers.push(consumer);
  return consumer;
}

describe('Consumer with clientRack', () => {
  it('sends its rack at Fetch v1, reads the partition from the replica the leader names, and goes back to the leader when that replica answers an error', async () => {
    const setup = await leaderAndReplica();
    await produce(setup.leader, ['m0', 'm1', 'm2']);
    const consumer = rackConsumer(setup);
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const seen: string[] = [];
    await consumeUntil(consumer, 3, seen);
    expect(seen).toEqual(['m0', 'm1', 'm2']);
    const first = setup.leader.requestsOf(ApiKey.Fetch)[0]!;
    expect(first.header.apiVersion).toBe(1);
    expect((first.body as FetchRequest).rackId).toBe('b');
    expect(fetchesAt(setup.replica)).toBeGreaterThan(0);

    // The replica falls out of sync: it answers NOT_LEADER, and the leader now serves the partition itself.
    setup.replica.handlers[ApiKey.Fetch] = (body: FetchRequest) => ({
      partitions: body.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        error: wireErrorOf('NOT_LEADER'),
        highWatermark: -1,
        logStartOffset: -1,
        leaderHint: 1,
        records: Buffer.alloc(0),
      })),
    });
    setup.redirect.on = false;
    await produce(setup.leader, ['m3', 'm4']);
    const atLeaderBefore = fetchesAt(setup.leader);
    await consumeUntil(consumer, 5, seen);
    expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(fetchesAt(setup.leader)).toBeGreaterThan(atLeaderBefore);
  });

  it('goes back to the leader when the replica cannot be reached, losing and repeating nothing', async () => {
    const setup = await leaderAndReplica();
    await produce(setup.leader, ['m0', 'm1']);
    const consumer = rackConsumer(setup);
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const seen: string[] = [];
    await consumeUntil(consumer, 2, seen);
    expect(fetchesAt(setup.replica)).toBeGreaterThan(0);

    await setup.replica.stop();
    setup.redirect.on = false;
    await produce(setup.leader, ['m2', 'm3']);
    await consumeUntil(consumer, 4, seen);
    expect(seen).toEqual(['m0', 'm1', 'm2', 'm3']);
  });

  it('reads from the leader while the replica holds a fetch unanswered (paused), once the leader stops naming it', async () => {
    const setup = await leaderAndReplica();
    await produce(setup.leader, ['m0']);
    // A request timeout past the test's: only the leader can deliver what follows in time.
    const consumer = new Consumer(newCluster(setup.leader.bootstrap), {
      autoOffsetReset: 'earliest',
      maxWaitMs: 20,
      clientRack: 'b',
      requestTimeoutMs: 120_000,
    });
    consumers.push(consumer);
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const seen: string[] = [];
    await consumeUntil(consumer, 1, seen);
    expect(fetchesAt(setup.replica)).toBeGreaterThan(0);

    // Paused: it takes fetches and answers none. The leader names it a while longer, then reads itself.
    setup.replica.handlers[ApiKey.Fetch] = () => NO_REPLY;
    await produce(setup.leader, ['m1']);
    setTimeout(() => {
      setup.redirect.on = false;
    }, 1_500);
    await consumeUntil(consumer, 2, seen);
    expect(seen).toEqual(['m0', 'm1']);
  });

  it('stops reading from the replica once refreshed metadata no longer lists it in sync', async () => {
    const setup = await leaderAndReplica();
    await produce(setup.leader, ['m0']);
    const cluster = newCluster(setup.leader.bootstrap);
    const consumer = new Consumer(cluster, { autoOffsetReset: 'earliest', maxWaitMs: 20, clientRack: 'b' });
    consumers.push(consumer);
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const seen: string[] = [];
    await consumeUntil(consumer, 1, seen);
    expect(fetchesAt(setup.replica)).toBeGreaterThan(0);

    // The replica, still answering, leaves the in-sync set; the client's next metadata shows it.
    setup.isr = [1];
    setup.redirect.on = false;
    await cluster.refreshMetadata();
    const atReplica = fetchesAt(setup.replica);
    await produce(setup.leader, ['m1', 'm2']);
    await consumeUntil(consumer, 3, seen);
    for (let i = 0; i < 5; i++) await consumer.poll();
    expect(seen).toEqual(['m0', 'm1', 'm2']);
    // At most the fetch a prefetched round had already sent there.
    expect(fetchesAt(setup.replica)).toBeLessThanOrEqual(atReplica + 1);
  });

  it('asks a broker that predates Fetch v1 (UNSUPPORTED_VERSION) at v0, from the leader', async () => {
    const setup = await leaderAndReplica();
    await produce(setup.leader, ['m0', 'm1']);
    setup.leader.handlers[ApiKey.Fetch] = (body: FetchRequest, header) => {
      if (header.apiVersion > 0) throw new StreamBusError('UNSUPPORTED_VERSION', { message: 'fetch v1' });
      return setup.leader.fetch(body);
    };
    const consumer = rackConsumer(setup);
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const seen: string[] = [];
    await consumeUntil(consumer, 2, seen);
    expect(seen).toEqual(['m0', 'm1']);
    expect(setup.leader.requestsOf(ApiKey.Fetch).some((f) => f.header.apiVersion === 0)).toBe(true);
  });

  it('without a rack, fetches leaders at Fetch v0 as before', async () => {
    const setup = await leaderAndReplica();
    await produce(setup.leader, ['m0']);
    const consumer = new Consumer(newCluster(setup.leader.bootstrap), {
      autoOffsetReset: 'earliest',
      maxWaitMs: 20,
    });
    consumers.push(consumer);
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const seen: string[] = [];
    await consumeUntil(consumer, 1, seen);
    expect(seen).toEqual(['m0']);
    const fetches = setup.leader.requestsOf(ApiKey.Fetch);
    expect(
      fetches.every((f) => f.header.apiVersion === 0 && (f.body as FetchRequest).rackId === undefined),
    ).toBe(true);
    expect(fetchesAt(setup.replica)).toBe(0);
  });
});

describe('ReadReplicas', () => {
  it('keeps a named replica until it expires, metadata drops it from the in-sync set, or it is forgotten', () => {
    let nowMs = 0;
    const replicas = new ReadReplicas(1_000, () => nowMs);
    expect(replicas.replicaFor('t', 0, [1, 2])).toBeUndefined();
    replicas.note('t', 0, 2);
    expect(replicas.replicaFor('t', 0, [1, 2])).toBe(2);
    expect(replicas.replicaFor('t', 1, [1, 2])).toBeUndefined();
    nowMs = 999;
    expect(replicas.replicaFor('t', 0, [1, 2])).toBe(2);
    nowMs = 1_000;
    expect(replicas.replicaFor('t', 0, [1, 2])).toBeUndefined();

    replicas.note('t', 0, 2);
    expect(replicas.replicaFor('t', 0, [1, 3])).toBeUndefined();
    expect(replicas.replicaFor('t', 0, [1, 2])).toBeUndefined(); // dropped, not merely skipped
    replicas.note('t', 0, 2);
    replicas.forget('t', 0);
    expect(replicas.replicaFor('t', 0, [1, 2])).toBeUndefined();
  });
});
