/**
 * A broker refuses a request over its limits.frame_bytes_max unread and answers FRAME_TOO_LARGE with its
 * limit. The producer, whose maxRequestBytes (64 MiB by default) cannot know a broker's lower limit, then
 * fails a record too large for any request with BATCH_TOO_LARGE naming that limit, instead of resending it on
 * every new connection until its delivery timeout; and it sends a request too large only as a whole again in
 * smaller ones. An acks=0 request, which expects no answer, is told apart from a protocol error. Against a
 * real in-process broker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../../src/client/connection.js';
import type { StreamBusError } from '../../src/errors/index.js';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { aliveInMetadata, type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

const FRAME_BYTES_MAX = 256 * 1024;
/** Far beyond the test's own timeout: a send that fails here failed for its size, not by running out of time. */
const DELIVERY_TIMEOUT_MS = 30 * 60_000;

describe("Producer against a broker whose frame limit is below the producer's maxRequestBytes", () => {
  let broker: InProcessBroker;
  let client: StreamBusClient;
  afterEach(async () => {
    await client?.close();
    await broker?.destroy();
  });

  async function start(topic: string, partitions: number): Promise<void> {
    broker = await startInProcessBroker({
      'limits.frame_bytes_max': FRAME_BYTES_MAX,
      'limits.batch_bytes_max': FRAME_BYTES_MAX,
    });
    await aliveInMetadata(broker);
    client = createClient({ bootstrap: broker.bootstrap });
    await client.admin().createTopic({ name: topic, partitions });
  }

  it('a record over the frame limit fails its send with BATCH_TOO_LARGE naming the limit; the producer goes on', async () => {
    await start('big', 1);
    const producer = client.producer({ deliveryTimeoutMs: DELIVERY_TIMEOUT_MS });
    const refused = producer.send({ topic: 'big', messages: [{ value: Buffer.alloc(300 * 1024, 1) }] });
    await expect(refused).rejects.toMatchObject({
      code: 'BATCH_TOO_LARGE',
      message: expect.stringContaining(`limits.frame_bytes_max of ${FRAME_BYTES_MAX} bytes`),
      cause: expect.objectContaining({ code: 'FRAME_TOO_LARGE' }),
    });
    expect((await producer.send({ topic: 'big', messages: [{ value: 'after' }] }))[0]!.offset).toBe(0);
    // The producer keeps to the limit it was told: the next such record fails before it is sent.
    await expect(
      producer.send({ topic: 'big', messages: [{ value: Buffer.alloc(300 * 1024, 2) }] }),
    ).rejects.toThrow(/more than a request may carry \(262144 bytes/);
    expect((await producer.send({ topic: 'big', messages: [{ value: 'last' }] }))[0]!.offset).toBe(1);
  });

  it('a request over the limit only as a whole goes again as smaller requests: every record is written', async () => {
    await start('wide', 4);
    const producer = client.producer({ deliveryTimeoutMs: DELIVERY_TIMEOUT_MS });
    // Four ~100 KB batches, one per partition, all led by the one broker: sealed at once (each is over
    // batchBytes), they go out together in one ~400 KB request, which the broker refuses.
    const sent = await producer.send({
      topic: 'wide',
      messages: [0, 1, 2, 3].map((partition) => ({ partition, value: Buffer.alloc(100 * 1024, partition) })),
    });
    expect(sent.map((r) => [r.partition, r.offset])).toEqual([0, 1, 2, 3].map((p) => [p, 0]));
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 50 });
    await consumer.assign([{ topic: 'wide' }]);
    const read = new Map<number, Buffer | null>();
    for await (const m of consumer) {
      read.set(m.partition, m.value);
      if (read.size === 4) break;
    }
    await consumer.close();
    for (const p of [0, 1, 2, 3]) expect(read.get(p)?.equals(Buffer.alloc(100 * 1024, p))).toBe(true);
  });
});

describe('an acks=0 Produce over the frame limit', () => {
  it('closes the connection saying it was refused for its size, and the next connection serves', async () => {
    const broker = await startInProcessBroker({
      'limits.frame_bytes_max': FRAME_BYTES_MAX,
      'limits.batch_bytes_max': FRAME_BYTES_MAX,
    });
    try {
      const [host, port] = broker.bootstrap.split(':') as [string, string];
      const c = await Connection.connect({ host, port: Number(port) });
      const closed = new Promise<StreamBusError>((resolve) => c.onClose(resolve));
      // No answer is expected for acks=0: the request settles as soon as it is written.
      await c.request(ApiKey.Produce, {
        acks: 0,
        timeoutMs: 1000,
        partitions: [{ topic: 'any', partition: 0, records: Buffer.alloc(FRAME_BYTES_MAX + 1024, 1) }],
      });
      const reason = await closed;
      expect(reason.code).toBe('CONNECTION_CLOSED');
      expect(reason.cause).toMatchObject({
        code: 'FRAME_TOO_LARGE',
        message: expect.stringContaining('acks=0'),
      });
      const next = await Connection.connect({ host, port: Number(port) });
      await expect(next.request(ApiKey.ApiVersions, {})).resolves.toBeDefined();
      await next.close();
    } finally {
      await broker.destroy();
    }
  });
});
