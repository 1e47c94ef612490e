/** Writing test data through the SDK. */
import type { StreamBusClient } from '../../src/index.js';

/** Sends `m0`..`m{count-1}` one at a time, round-robin over `partitions` partitions, and waits for all. */
export async function produceRoundRobin(
  client: StreamBusClient,
  topic: string,
  count: number,
  partitions: number,
): Promise<void> {
  const producer = client.producer({ lingerMs: 0 });
  for (let i = 0; i < count; i++) {
    await producer.send({ topic, messages: [{ value: `m${i}`, partition: i % partitions }] });
  }
  await producer.flush();
}
