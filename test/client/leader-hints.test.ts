/**
 * Leader hints (KIP-951's idea): a NOT_LEADER answer names the leader its replica knows; the producer sends
 * there while metadata, slower to hear of the new leader, still names the old one, and goes back to
 * metadata once it shows a newer leader epoch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { LeaderHints } from '../../src/client/leader-hints.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/index.js';
import { FakeBroker, failAll } from './fake-broker.js';

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

describe('a producer following leader hints', () => {
  const brokers: FakeBroker[] = [];
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
    for (const b of brokers.splice(0)) await b.stop();
  });

  it('sends to the broker a NOT_LEADER answer names while metadata lags, and back once metadata moves on', async () => {
    const one = await FakeBroker.start();
    const two = await FakeBroker.start();
    brokers.push(one, two);
    for (const b of brokers) b.createTopic('t', 1);
    // Metadata (both brokers alike) names broker 1 as the leader, at `epoch`.
    let epoch = 7;
    for (const b of brokers) {
      b.handlers[ApiKey.Metadata] = (body) => {
        const md = b.metadata(body);
        return {
          ...md,
          brokers: brokers.map((x, i) => ({ id: i + 1, host: x.host, port: x.port, rack: null })),
          topics: md.topics.map((t) => ({
            ...t,
            partitions: t.partitions.map((p) => ({
              ...p,
              leaderId: 1,
              leaderEpoch: epoch,
              replicas: [1, 2],
              isr: [1, 2],
            })),
          })),
        };
      };
    }
    // Broker 2 was elected; broker 1 follows it and says so.
    one.handlers[ApiKey.Produce] = (body) => failAll(body, 'NOT_LEADER', 2);
    cluster = new Cluster({ bootstrap: [one.bootstrap] });
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
});
