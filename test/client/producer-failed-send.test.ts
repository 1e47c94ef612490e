/**
 * A send() that fails fails alone and cleanly: its caller's promise carries the error (a StreamBusError),
 * no promise the producer made for it goes unhandled (Node ends the process on one), and other sends go on.
 * Against a real in-process broker whose batch limit refuses the send's records (BATCH_TOO_LARGE).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { ManualTimers } from './fake-broker.js';

const LIMIT = 64 * 1024;
const small = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ value: `small-${from + i}` }));

/** Runs `body`, returning what it returns and the rejections left unhandled meanwhile (Node's default ends the process on one). */
async function unhandledDuring<T>(body: () => Promise<T>): Promise<{ result: T; unhandled: unknown[] }> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    const result = await body();
    // Node reports an unhandled rejection after the microtasks of the turn it happened in: let them run.
    await new Promise((resolve) => setImmediate(resolve));
    return { result, unhandled };
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

describe('a send() that fails fails alone and cleanly (real broker)', () => {
  let broker: InProcessBroker;
  let client: StreamBusClient;
  afterEach(async () => {
    await client?.close();
    await broker?.destroy();
  });

  async function start(): Promise<void> {
    broker = await startInProcessBroker({ 'limits.batch_bytes_max': LIMIT });
    client = createClient({ bootstrap: broker.bootstrap });
    await client.admin().createTopic({ name: 't', partitions: 1 });
  }

  async function readValues(count: number): Promise<{ offset: number; value: string }[]> {
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 50 });
    await consumer.assign([{ topic: 't' }]);
    const out: { offset: number; value: string }[] = [];
    for await (const m of consumer) {
      out.push({ offset: m.offset, value: m.value?.toString() ?? '' });
      if (out.length === count) break;
    }
    await consumer.close();
    return out;
  }

  async function highWatermark(): Promise<number> {
    const [topic] = await client.admin().describeTopics(['t']);
    return topic!.partitions[0]!.highWatermark;
  }

  it('a send larger than the buffer whose records are refused rejects with BATCH_TOO_LARGE, leaving no unhandled rejection, and the send behind it succeeds', async () => {
    await start();
    // The QA case: 400 records of 100 KB (40 MB) outgrow the 32 MiB buffer, so the send waits for room
    // while its first batches are refused: each record alone is over the 64 KiB limit.
    const producer = client.producer();
    const { result: acked, unhandled } = await unhandledDuring(async () => {
      const large = producer.send({
        topic: 't',
        messages: Array.from({ length: 400 }, () => ({ value: Buffer.alloc(100_000, 1) })),
      });
      const behind = producer.send({ topic: 't', messages: small(0, 10) });
      await expect(large).rejects.toMatchObject({ name: 'StreamBusError', code: 'BATCH_TOO_LARGE' });
      return await behind;
    });
    expect(unhandled).toEqual([]);
    expect(acked.map((r) => r.offset)).toEqual(acked.map((_, i) => i));
    expect((await readValues(10)).map((m) => m.value)).toEqual(small(0, 10).map((m) => m.value));
  });

  it("a failed send's records not yet sent when it failed are never sent; another send's records in their batch are", async () => {
    await start();
    // Batches close only at flush() (manual timers), except the refused record's own: it fills its batch.
    const producer = client.producer({
      idempotent: false,
      batchBytes: LIMIT,
      lingerMs: 60_000,
      timers: new ManualTimers(),
    });
    const failed = producer.send({
      topic: 't',
      messages: [{ value: Buffer.alloc(LIMIT * 2, 1) }, ...small(0, 20)],
    });
    const other = producer.send({ topic: 't', messages: small(100, 5) });
    await expect(failed).rejects.toMatchObject({ name: 'StreamBusError', code: 'BATCH_TOO_LARGE' });
    // The failed send's 20 small records share the open batch with the other send's 5.
    await producer.flush();
    expect((await other).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(await highWatermark()).toBe(5);
    expect((await readValues(5)).map((m) => m.value)).toEqual(small(100, 5).map((m) => m.value));
  });
});
