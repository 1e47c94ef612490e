/**
 * Leader hints (KIP-951's idea): a NOT_LEADER answer names the leader its replica knows; the producer sends
 * there while metadata, slower to hear of the new leader, still names the old one, and goes back to
 * metadata once it shows a newer leader epoch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { LeaderHints } from '../../src/client/leader-hints.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey, wireErrorOf } from '../../src/protocol/index.js';
import { FakeBroker, failAll, shareClusterMetadata } from './fake-broker.js';

describe('LeaderHints', () => {
  it('holds while metadata shows the epoch it was noted against or an older one, and is forgotten after', () => {
    const hints = new LeaderHints();
    expect(hints.leaderFor('t', 0, 5)).toBeUndefined();
    hints.note('t', 0, 2, 5);
    expect(hints.leaderFor('t', 0, 5)).toBe(2);
    expect(hints.leaderFor('t', 0, 4)).toBe(2);
    expect(hints.leaderFor('t', 1, 5)).toBeUndefined();
    expect(hints.leaderFor('u', 0, 5)).toBeUndefined();
    expect(hints.leaderFor('t', 0, 6)).toBeUndefined();
    expect(hints.leaderFor('t', 0, 5)).toBeUndefined(); // passed once: gone
  });
});

describe('clients following leader hints', () => {
  const brokers: FakeBroker[] = [];
  const clusters: Cluster[] = [];
  afterEach(async () => {
    for (const c of clusters.splice(0)) await c.close();
    for (const b of brokers.splice(0)) await b.stop();
  });
  const newCluster = (bootstrap: string) => {
    const c = new Cluster({ bootstrap: [bootstrap] });
    clusters.push(c);
    return c;
  };

  /** Two brokers whose metadata names broker 1 as the leader of `t`'s one partition, at `epoch()`. */
  async function metadataNamingOne(epoch: () => number): Promise<[FakeBroker, FakeBroker]> {
    const one = await FakeBroker.start();
    const two = await FakeBroker.start();
    brokers.push(one, two);
    for (const b of brokers) b.createTopic('t', 1);
    shareClusterMetadata(brokers, () => 1, epoch);
    return [one, two];
  }

  it('sends to the broker a NOT_LEADER answer names while metadata lags, and back once metadata moves on', async () => {
    let epoch = 7;
    const [one, two] = await metadataNamingOne(() => epoch);
    // Broker 2 was elected; broker 1 follows it and says so.
    one.handlers[ApiKey.Produce] = (body) => failAll(body, 'NOT_LEADER', 2);
    const cluster = newCluster(one.bootstrap);
    const producer = new Producer(cluster, {
      lingerMs: 0,
      retries: 1,
      retryBackoffMs: 10,
      idempotent: false,
    });
    const [first] = await producer.send({ topic: 't', messages: [{ value: 'a', partition: 0 }] });
    expect(first?.offset).toBe(0);
    expect(one.requestsOf(ApiKey.Produce)).toHaveLength(1);
    expect(two.requestsOf(ApiKey.Produce)).toHaveLength(1);
    // Later sends go straight to broker 2 while metadata still names broker 1 at the same epoch.
    await producer.send({ topic: 't', messages: [{ value: 'b', partition: 0 }] });
    expect(one.requestsOf(ApiKey.Produce)).toHaveLength(1);
    expect(two.requestsOf(ApiKey.Produce)).toHaveLength(2);
    // A newer decision in metadata (broker 1 leads again, epoch 8) wins over the hint.
    delete one.handlers[ApiKey.Produce];
    epoch = 8;
    cluster.invalidateMetadata();
    await producer.send({ topic: 't', messages: [{ value: 'c', partition: 0 }] });
    expect(one.requestsOf(ApiKey.Produce)).toHaveLength(2);
    expect(two.requestsOf(ApiKey.Produce)).toHaveLength(2);
    await producer.close();
  });

  it('a consumer fetches from the broker a NOT_LEADER answer names while metadata lags', async () => {
    const [one, two] = await metadataNamingOne(() => 3);
    // The messages are on broker 2 (the leader); broker 1 follows and says who leads.
    one.handlers[ApiKey.Produce] = (body) => failAll(body, 'NOT_LEADER', 2);
    one.handlers[ApiKey.Fetch] = (body) => ({
      partitions: body.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        error: wireErrorOf('NOT_LEADER'),
        highWatermark: -1,
        logStartOffset: -1,
        leaderHint: 2,
        records: Buffer.alloc(0),
      })),
    });
    const producer = new Producer(newCluster(one.bootstrap), { lingerMs: 0, idempotent: false });
    await producer.send({ topic: 't', messages: ['a', 'b'].map((value) => ({ partition: 0, value })) });
    await producer.close();
    expect(two.requestsOf(ApiKey.Produce).length).toBeGreaterThan(0);

    const consumer = new Consumer(newCluster(one.bootstrap), { autoOffsetReset: 'earliest', maxWaitMs: 50 });
    await consumer.assign([{ topic: 't', partition: 0 }]);
    const seen: string[] = [];
    for (let i = 0; i < 20 && seen.length < 2; i++) {
      seen.push(...(await consumer.poll()).map((m) => String(m.value)));
    }
    expect(seen).toEqual(['a', 'b']);
    expect(two.requestsOf(ApiKey.Fetch).length).toBeGreaterThan(0);
    await consumer.close();
  });
});
