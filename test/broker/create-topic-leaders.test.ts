/**
 * In a cluster, CreateTopics and CreatePartitions answer once the new partitions have leaders their Raft
 * groups published (as Kafka's controller does), not just the placement's hint: acks=0 writes sent right
 * after, which hear of no refusal, were all lost (a QA finding: 1,000 of 1,000).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import {
  aliveInMetadata,
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';
import { connectTo } from '../helpers/wire.js';

let broker: InProcessBroker;
let client: StreamBusClient;

afterEach(async () => {
  await client?.close();
  await broker?.destroy();
});

async function leaderEpochs(topic: string): Promise<number[]> {
  const conn = await connectTo(broker);
  try {
    const md = await conn.request(ApiKey.Metadata, { topics: [topic] });
    return md.topics[0]!.partitions.map((p) => p.leaderEpoch);
  } finally {
    await conn.close();
  }
}

async function readAll(topic: string, count: number): Promise<string[]> {
  const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 50 });
  await consumer.assign([{ topic }]);
  const values: string[] = [];
  for await (const m of consumer) {
    values.push(m.value?.toString() ?? '');
    if (values.length === count) break;
  }
  await consumer.close();
  return values;
}

describe('new partitions have published leaders when their creation is answered (cluster)', () => {
  it('acks=0 writes right after createTopic and createPartitions all arrive', async () => {
    broker = await startInProcessBroker(await singleVoterCluster());
    await aliveInMetadata(broker);
    client = createClient({ bootstrap: broker.bootstrap });
    const admin = client.admin();
    await admin.createTopic({ name: 'fresh', partitions: 4, replicationFactor: 1 });
    expect((await leaderEpochs('fresh')).every((e) => e > 0)).toBe(true);
    const producer = client.producer({ acks: 0 });
    const first = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: `a${i}` }));
    await producer.send({ topic: 'fresh', messages: first });
    await producer.flush();

    const [grown] = await admin.createPartitions({ fresh: 8 });
    expect(grown?.error).toBeNull();
    expect((await leaderEpochs('fresh')).every((e) => e > 0)).toBe(true);
    const added = Array.from({ length: 400 }, (_, i) => ({ partition: 4 + (i % 4), value: `b${i}` }));
    await producer.send({ topic: 'fresh', messages: added });
    await producer.flush();

    const read = await readAll('fresh', 1400);
    expect(read.sort()).toEqual([...first, ...added].map((m) => m.value).sort());
  });
});
