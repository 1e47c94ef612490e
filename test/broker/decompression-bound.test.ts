/**
 * What a batch's records may decompress to, on produce: a gzip batch (which declares no size) is inflated by
 * the broker and refused past the bound, as the other codecs' declared sizes are, so a gzip bomb is never
 * stored for consumers to choke on; its record count must be what the header says. The bound follows a
 * raised limits.frame_bytes_max (decompressedRecordsBytesMax), and the SDK consumer's follows its
 * `decompressedBytesMax` option.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/client/client.js';
import type { Connection } from '../../src/client/connection.js';
import { StreamBusError } from '../../src/errors/index.js';
import type { Compression } from '../../src/protocol/compression.js';
import { ApiKey, LATEST_TIMESTAMP } from '../../src/protocol/index.js';
import { DECOMPRESSED_RECORDS_BYTES_MAX } from '../../src/protocol/limits.js';
import {
  BATCH_HEADER_BYTES,
  encodeRecordBatch,
  OFF_LAST_OFFSET_DELTA,
  OFF_RECORD_COUNT,
} from '../../src/protocol/record-batch.js';
import { withBody } from '../helpers/batch-bytes.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { codeOf, connectTo } from '../helpers/wire.js';

const HOST = '127.0.3.2';
const MiB = 1024 * 1024;

let broker: InProcessBroker | undefined;
let conn: Connection | undefined;
const clients: StreamBusClient[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await conn?.close();
  conn = undefined;
  await broker?.destroy();
  broker = undefined;
});

async function start(overrides: Record<string, unknown> = {}): Promise<Connection> {
  broker = await startInProcessBroker({
    'broker.listen': `${HOST}:0`,
    'health.http.bind_address': HOST,
    ...overrides,
  });
  conn = await connectTo(broker);
  const created = await conn.request(ApiKey.CreateTopics, {
    topics: [{ name: 't', partitions: 1, replicationFactor: 1, configs: {} }],
    timeoutMs: 5_000,
    validateOnly: false,
  });
  expect(codeOf(created.topics[0]!.error)).toBeNull();
  return conn;
}

async function produce(records: Buffer): Promise<string | null> {
  const res = await conn!.request(ApiKey.Produce, {
    acks: -1,
    timeoutMs: 10_000,
    partitions: [{ topic: 't', partition: 0, records }],
  });
  return codeOf(res.partitions[0]!.error);
}

async function latest(): Promise<number> {
  const res = await conn!.request(ApiKey.ListOffsets, {
    partitions: [{ topic: 't', partition: 0, timestamp: LATEST_TIMESTAMP }],
  });
  return res.partitions[0]!.offset;
}

/** One record of `bytes` zero bytes: compresses to a tiny fraction of that. */
function zeros(bytes: number, compression: Compression): Buffer {
  return encodeRecordBatch([{ value: Buffer.alloc(bytes) }], { baseTimestamp: Date.now(), compression });
}

describe('gzip batches on produce', () => {
  it('a gzip bomb (records inflating past the bound) is refused with BATCH_TOO_LARGE and nothing is stored', async () => {
    await start();
    const bomb = zeros(DECOMPRESSED_RECORDS_BYTES_MAX + MiB, 'gzip');
    expect(bomb.length).toBeLessThan(MiB); // within limits.batch_bytes_max: only its inflation is too large
    expect(await produce(bomb)).toBe('BATCH_TOO_LARGE');
    expect(await latest()).toBe(0);
    // A normal gzip batch still goes through.
    expect(await produce(zeros(MiB, 'gzip'))).toBeNull();
    expect(await latest()).toBe(1);
  });

  it('a gzip batch whose header declares another record count than its records hold is INVALID_BATCH', async () => {
    await start();
    const batch = encodeRecordBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }], {
      baseTimestamp: Date.now(),
      compression: 'gzip',
    });
    // A consistent header (count 2, last offset delta 1) over three records: only inflating tells.
    const header = Buffer.from(batch);
    header.writeInt32BE(2, OFF_RECORD_COUNT);
    header.writeInt32BE(1, OFF_LAST_OFFSET_DELTA);
    expect(await produce(withBody(header, batch.subarray(BATCH_HEADER_BYTES)))).toBe('INVALID_BATCH');
    expect(await latest()).toBe(0);
  });
});

describe('pipelined produce requests with gzip', () => {
  it('are written in the order sent, although a gzip batch is inflated on the thread pool first', async () => {
    await start();
    // A: 32 MiB of zeros, gzip (inflated for its check); B and C: tiny and uncompressed, checked at once.
    // Sent back to back on one connection, they must take offsets in that order, as on a Kafka broker.
    const sent = [zeros(32 * MiB, 'gzip'), zeros(1, 'none'), zeros(1, 'gzip')].map((records) =>
      conn!.request(ApiKey.Produce, {
        acks: 1,
        timeoutMs: 10_000,
        partitions: [{ topic: 't', partition: 0, records }],
      }),
    );
    const answers = await Promise.all(sent);
    expect(answers.map((a) => [codeOf(a.partitions[0]!.error), a.partitions[0]!.baseOffset])).toEqual([
      [null, 0],
      [null, 1],
      [null, 2],
    ]);
  });
});

describe('the bound follows limits.frame_bytes_max', () => {
  it('a raised frame limit lets through batches between 100 MiB and it; the consumer reads them with its option', async () => {
    await start({ 'limits.frame_bytes_max': 200 * MiB });
    const valueBytes = 150 * MiB;
    expect(await produce(zeros(valueBytes, 'zstd'))).toBeNull();
    expect(await produce(zeros(valueBytes, 'gzip'))).toBeNull();
    expect(await latest()).toBe(2);

    const read = async (decompressedBytesMax?: number): Promise<number[]> => {
      const client = createClient({ bootstrap: broker!.bootstrap, requestTimeoutMs: 10_000 });
      clients.push(client);
      const consumer = client.consumer({
        autoOffsetReset: 'earliest',
        maxWaitMs: 100,
        retries: 0,
        ...(decompressedBytesMax === undefined ? {} : { decompressedBytesMax }),
      });
      await consumer.assign([{ topic: 't' }]);
      const sizes: number[] = [];
      while (sizes.length < 2) sizes.push(...(await consumer.poll()).map((m) => m.value!.length));
      return sizes;
    };
    expect(await read(200 * MiB)).toEqual([valueBytes, valueBytes]);
    const refused = await read().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StreamBusError);
    expect((refused as StreamBusError).code).toBe('BATCH_TOO_LARGE');
  });
});
