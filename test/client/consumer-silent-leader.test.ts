/**
 * A consumer whose partitions are led by two brokers, one of which stops answering without closing its
 * connection (a paused process): the other broker's messages keep coming.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/index.js';
import { FakeBroker, NO_REPLY, shareClusterMetadata } from './fake-broker.js';

const brokers: FakeBroker[] = [];
const clusters: Cluster[] = [];

afterEach(async () => {
  for (const c of clusters.splice(0)) await c.close();
  for (const b of brokers.splice(0)) await b.stop();
});

/** Two brokers of one cluster: broker 1 leads partition 0 of `t`, broker 2 partition 1. */
async function twoLeaders(): Promise<[FakeBroker, FakeBroker]> {
  const pair = [await FakeBroker.start(), await FakeBroker.start()] as [FakeBroker, FakeBroker];
  brokers.push(...pair);
  for (const b of pair) b.createTopic('t', 2);
  shareClusterMetadata(pair, (partition) => partition + 1);
  return pair;
}

function newCluster(bootstrap: string): Cluster {
  const c = new Cluster({ bootstrap: [bootstrap] });
  clusters.push(c);
  return c;
}

/** What `poll()` returns within `ms`, or 'still waiting'. */
async function pollWithin(consumer: Consumer, ms: number): Promise<string[] | 'still waiting'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'still waiting'>((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), ms);
  });
  const polled = consumer.poll().then((ms) => ms.map((m) => String(m.value)));
  try {
    return await Promise.race([polled, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Consumer with a leader that stops answering', () => {
  it("keeps delivering the other leader's partitions, and does not ask the silent one again meanwhile", async () => {
    const [one, two] = await twoLeaders();
    const producer = new Producer(newCluster(one.bootstrap), { lingerMs: 0 });
    for (const partition of [0, 1]) {
      await producer.send({
        topic: 't',
        messages: [0, 1, 2].map((i) => ({ partition, value: `p${partition}-${i}` })),
      });
    }
    // Broker 2 is paused: its connection stays open and fetches get no answer (30 s request timeout).
    two.handlers[ApiKey.Fetch] = () => NO_REPLY;
    const consumer = new Consumer(newCluster(one.bootstrap), { autoOffsetReset: 'earliest', maxWaitMs: 100 });
    await consumer.assign([{ topic: 't' }]);

    const seen: string[] = [];
    for (let i = 0; i < 20 && seen.length < 3; i++) {
      const got = await pollWithin(consumer, 5_000);
      expect(got).not.toBe('still waiting');
      seen.push(...(got as string[]));
    }
    expect(seen).toEqual(['p0-0', 'p0-1', 'p0-2']);

    // New messages on broker 1 arrive while broker 2 still holds its first fetch, which is not repeated.
    await producer.send({ topic: 't', messages: [{ partition: 0, value: 'p0-3' }] });
    const later: string[] = [];
    for (let i = 0; i < 20 && later.length < 1; i++) {
      const got = await pollWithin(consumer, 5_000);
      expect(got).not.toBe('still waiting');
      later.push(...(got as string[]));
    }
    expect(later).toEqual(['p0-3']);
    expect(two.requestsOf(ApiKey.Fetch)).toHaveLength(1);
    await consumer.close();
  });
});
