/**
 * A send() that fails fails alone and cleanly: its caller's promise carries the error (a StreamBusError),
 * no promise the producer made for it goes unhandled (Node ends the process on one), and other sends go on.
 * Against a real in-process broker whose batch limit refuses the send's records (BATCH_TOO_LARGE).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

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
});
