/**
 * Partitions added to a topic after the client cached its metadata: whoever names one (a group leader with
 * fresher metadata assigning it, an application sending to it) is believed over the cache, which is
 * refreshed instead of refusing the partition until metadataMaxAgeMs passes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/index.js';
import { FakeBroker } from './fake-broker.js';

let broker: FakeBroker | undefined;
let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  await broker?.stop();
  broker = undefined;
});

/** A one-partition topic the client has cached, then grown to three behind the client's back. */
async function grownBehindTheCache(): Promise<{ b: FakeBroker; c: Cluster; metadataRequests: () => number }> {
  const b = await FakeBroker.start();
  broker = b;
  b.createTopic('t', 1);
  // Metadata never ages out here: only an explicit refresh updates it.
  const c = new Cluster({ bootstrap: [b.bootstrap], metadataMaxAgeMs: 3_600_000 });
  cluster = c;
  expect(await c.partitionCount('t')).toBe(1);
  b.topics.get('t')!.push({ batches: [], nextOffset: 0 }, { batches: [], nextOffset: 0 });
  return { b, c, metadataRequests: () => b.requestsOf(ApiKey.Metadata).length };
}

describe('partitions added since the metadata was cached', () => {
  it('refreshes the partition count only for a partition the cache does not show', async () => {
    const { c, metadataRequests } = await grownBehindTheCache();
    const before = metadataRequests();
    expect(await c.partitionCount('t')).toBe(1);
    expect(await c.partitionCount('t', 0)).toBe(1);
    expect(metadataRequests()).toBe(before);
    expect(await c.partitionCount('t', 2)).toBe(3);
    expect(metadataRequests()).toBe(before + 1);
  });

  it('lets a consumer be assigned a new partition (as a group leader with fresher metadata assigns it)', async () => {
    const { c } = await grownBehindTheCache();
    const consumer = new Consumer(c, { autoOffsetReset: 'earliest' });
    await consumer.assign([{ topic: 't', partition: 2 }]);
    expect(consumer.assignment()).toEqual([{ topic: 't', partition: 2 }]);
    await consumer.close();
  });

  it('lets a producer send to a new partition by number', async () => {
    const { b, c } = await grownBehindTheCache();
    const producer = new Producer(c, { acks: 1, lingerMs: 0 });
    const [sent] = await producer.send({ topic: 't', messages: [{ partition: 2, value: 'new' }] });
    expect(sent).toMatchObject({ partition: 2, offset: 0 });
    expect(b.records('t', 2).map((r) => r.value?.toString())).toEqual(['new']);
    await producer.close();
  });

  it('still refuses a partition the brokers do not have either', async () => {
    const { c } = await grownBehindTheCache();
    const consumer = new Consumer(c);
    await expect(consumer.assign([{ topic: 't', partition: 3 }])).rejects.toMatchObject({
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    await consumer.close();
  });
});
