import { afterAll, beforeAll, expect, test } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

let b: InProcessBroker;
let client: StreamBusClient;
beforeAll(async () => {
  b = await startInProcessBroker();
  client = createClient({ bootstrap: b.bootstrap });
});
afterAll(async () => {
  await client.close();
  await b.destroy();
});

test('ListOffsets by timestamp finds the exact record inside a batch, not just the batch', async () => {
  await client.admin().createTopic({ name: 'by-time', partitions: 1 });
  const t0 = 1_700_000_000_000;
  // One send with a long linger: all ten records travel in one batch.
  const producer = client.producer({ lingerMs: 50 });
  const sent = await producer.send({
    topic: 'by-time',
    messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, timestamp: t0 + i * 1000 })),
  });
  expect(sent.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const [middle, between, before, after] = await client.admin().listOffsets([
    { topic: 'by-time', partition: 0, timestamp: t0 + 5000 },
    { topic: 'by-time', partition: 0, timestamp: t0 + 6500 },
    { topic: 'by-time', partition: 0, timestamp: t0 - 1 },
    { topic: 'by-time', partition: 0, timestamp: t0 + 60_000 },
  ]);
  expect([middle?.offset, middle?.timestamp]).toEqual([5, t0 + 5000]);
  expect([between?.offset, between?.timestamp]).toEqual([7, t0 + 7000]);
  expect(before?.offset).toBe(0);
  expect(after?.offset).toBe(-1);
});
