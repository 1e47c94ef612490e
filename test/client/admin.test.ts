import { afterEach, describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey, type CreateTopicsRequest, wireErrorOf } from '../../src/protocol/index.js';
import { FakeBroker, shareClusterMetadata } from './fake-broker.js';

let broker: FakeBroker;
let client: StreamBusClient;

afterEach(async () => {
  await client?.close();
  await broker?.stop();
});

describe('Admin', () => {
  it('createTopic sends defaults to the controller and raises a per-topic error', async () => {
    broker = await FakeBroker.start();
    broker.handlers[ApiKey.CreateTopics] = (body) => ({
      topics: body.topics.map((t) => {
        const exists = broker.topics.has(t.name);
        if (!exists) broker.createTopic(t.name, t.partitions);
        return { name: t.name, error: exists ? wireErrorOf('TOPIC_ALREADY_EXISTS') : null };
      }),
    });
    client = createClient({ bootstrap: broker.bootstrap });
    const admin = client.admin();
    await admin.createTopic({ name: 'orders', partitions: 3 });
    const sent = broker.requestsOf(ApiKey.CreateTopics)[0]!.body as CreateTopicsRequest;
    expect(sent.topics).toEqual([
      { name: 'orders', partitions: 3, replicationFactor: -1, configs: {}, assignments: null },
    ]);
    const err = await admin.createTopic({ name: 'orders' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamBusError);
    expect((err as StreamBusError).code).toBe('TOPIC_ALREADY_EXISTS');
    // Metadata was invalidated: the new topic is immediately usable by a producer.
    const results = await client
      .producer({ lingerMs: 0 })
      .send({ topic: 'orders', messages: [{ key: 'k', value: 'v' }] });
    expect(results[0]!.offset).toBe(0);
  });

  it('a controller that refuses connections is given up on at once: the request goes to another broker', async () => {
    // Without this, cached metadata kept naming the dead controller until it aged out (5 minutes).
    const a = await FakeBroker.start();
    broker = await FakeBroker.start();
    shareClusterMetadata([a, broker], () => 1);
    broker.handlers[ApiKey.CreateTopics] = (body) => ({
      topics: body.topics.map((t) => ({ name: t.name, error: null })),
    });
    client = createClient({ bootstrap: [a.bootstrap, broker.bootstrap] });
    const admin = client.admin();
    expect((await admin.metadata()).controllerId).toBe(1); // broker a, now cached
    await a.stop();
    await admin.createTopic({ name: 'orders', partitions: 1 });
    expect(broker.requestsOf(ApiKey.CreateTopics)).toHaveLength(1);
  });

  it('listOffsets asks the new leader once the cached one refuses connections', async () => {
    // Without this, cached metadata kept naming the dead leader and every call (group describe's lag too)
    // failed until the cache aged out (5 minutes).
    const a = await FakeBroker.start();
    broker = await FakeBroker.start();
    for (const b of [a, broker]) b.createTopic('t', 1);
    let leader = 1;
    shareClusterMetadata([a, broker], () => leader);
    client = createClient({ bootstrap: [a.bootstrap, broker.bootstrap] });
    const admin = client.admin();
    const latest = [{ topic: 't', partition: 0, timestamp: -1 }];
    expect((await admin.listOffsets(latest))[0]?.error).toBeNull(); // broker a, now cached as the leader
    await a.stop();
    leader = 2;
    const [end] = await admin.listOffsets(latest);
    expect(end?.error).toBeNull();
    expect(broker.requestsOf(ApiKey.ListOffsets)).toHaveLength(1);
  });

  it('listOffsets, metadata and apiVersions pass through the broker answers', async () => {
    broker = await FakeBroker.start();
    broker.createTopic('t', 2);
    client = createClient({ bootstrap: [broker.bootstrap] });
    const admin = client.admin();
    await client.producer({ lingerMs: 0 }).send({
      topic: 't',
      messages: [
        { partition: 1, value: 'a' },
        { partition: 1, value: 'b' },
      ],
    });
    const offsets = await admin.listOffsets([
      { topic: 't', partition: 1, timestamp: -1 },
      { topic: 't', partition: 0, timestamp: -2 },
    ]);
    expect(offsets.map((o) => [o.partition, o.offset])).toEqual([
      [1, 2],
      [0, 0],
    ]);
    const both = await admin.listOffsets([
      { topic: 't', partition: 1, timestamp: -2 },
      { topic: 't', partition: 1, timestamp: -1 },
    ]);
    expect(both.map((o) => o.offset)).toEqual([0, 2]);
    expect((await admin.metadata(['t'])).topics[0]?.partitions).toHaveLength(2);
    expect((await admin.apiVersions()).brokerVersion).toBe('fake');
  });
});

describe('createClient', () => {
  it('rejects a bootstrap entry that is not host:port with INVALID_CONFIG', () => {
    expect(() => createClient({ bootstrap: 'localhost' })).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    expect(() => createClient({ bootstrap: [] })).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });
});
