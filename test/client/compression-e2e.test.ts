/**
 * Every compression codec end to end against a real in-process broker: a producer per codec writes batches
 * with keys, headers and timestamps, the broker accepts and stores them, a consumer reads back exactly what
 * was sent, and ListOffsets by timestamp (where the broker itself decompresses the batch to find the record)
 * answers the right record on a compressed topic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPRESSIONS, createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { connectTo } from '../helpers/wire.js';

const BASE_TIMESTAMP = 1_700_000_000_000;
const KAFKA_CODES = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

let broker: InProcessBroker;
let client: StreamBusClient;

beforeAll(async () => {
  broker = await startInProcessBroker();
  client = createClient({ bootstrap: broker.bootstrap, clientId: 'compression-e2e' });
});
afterAll(async () => {
  await client?.close();
  await broker?.destroy();
});

/** Twenty messages in one send (one batch): keys, a header, a timestamp a second apart each. */
function messagesFor(compression: string) {
  return Array.from({ length: 20 }, (_, i) => ({
    key: i % 2 === 0 ? `key-${i}` : null,
    value: `${compression} value ${i} `.repeat(20),
    headers: [{ key: 'i', value: Buffer.from(String(i)) }],
    timestamp: BASE_TIMESTAMP + i * 1000,
  }));
}

describe.each(COMPRESSIONS)('compression %s end to end', (compression) => {
  const topic = `compressed-${compression}`;

  beforeAll(async () => {
    await client.admin().createTopic({ name: topic, partitions: 1 });
    const producer = client.producer({ compression, lingerMs: 0 });
    await producer.send({ topic, messages: messagesFor(compression).map((m) => ({ ...m, partition: 0 })) });
  });

  it("the broker stores one batch with Kafka's codec bits and a consumer reads back what was sent", async () => {
    const conn = await connectTo(broker);
    const fetched = await conn.request(ApiKey.Fetch, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      partitions: [{ topic, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
    });
    await conn.close();
    const records = fetched.partitions[0]!.records;
    const codes = [...splitBatches(records)].map((b) => readBatchHeader(b).attributes & 0x07);
    // One batch: so the ListOffsets test below can only find offset 8 by decoding inside it.
    expect(codes).toEqual([KAFKA_CODES[compression]]);

    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    await consumer.assign([{ topic, partition: 0 }]);
    const got = [];
    for await (const m of consumer) {
      got.push(m);
      if (got.length === 20) break;
    }
    await consumer.close();
    const sent = messagesFor(compression);
    expect(
      got.map((m) => ({
        key: m.key?.toString() ?? null,
        value: m.value?.toString(),
        headers: m.headers.map((h) => ({ key: h.key, value: h.value?.toString() })),
        timestamp: m.timestamp,
        offset: m.offset,
      })),
    ).toEqual(
      sent.map((m, i) => ({
        key: m.key,
        value: m.value,
        headers: [{ key: 'i', value: String(i) }],
        timestamp: m.timestamp,
        offset: i,
      })),
    );
  });

  it('ListOffsets by timestamp finds the record inside the compressed batch', async () => {
    // 7.5 s after the base: the first record at or after it is offset 8 (inside the batch, not its start).
    const [found] = await client
      .admin()
      .listOffsets([{ topic, partition: 0, timestamp: BASE_TIMESTAMP + 7500 }]);
    expect(found).toMatchObject({ offset: 8, timestamp: BASE_TIMESTAMP + 8000 });
  });
});
