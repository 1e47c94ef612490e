/**
 * A topic deleted while consumers read it (QA: poll() threw UNKNOWN_TOPIC_OR_PARTITION for ~3 s, and ended a
 * for-await loop, stopping the other topics too). As in Kafka, poll() does not throw and the other topics
 * keep flowing: a group member's partitions of the deleted topic sit out until the group's leader sees the
 * topic gone and rebalances without it; a consumer without a group drops them from its assignment and says
 * so (onDeleted), and once nothing is left poll() says which topics were deleted.
 */
import { describe, expect, it } from 'vitest';
import type { Consumer, ConsumerMessage, StreamBusClient, TopicPartition } from '../../src/index.js';
import { perTestBroker } from '../helpers/in-process-broker.js';

const FAST_GROUPS = {
  'broker.listen': '127.0.2.1:0',
  'health.http.bind_address': '127.0.2.1',
  'groups.initial_rebalance_delay': 100,
  'groups.offsets_partitions': 1,
};
const GROUP = { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 5_000 };

const env = perTestBroker();

async function send(client: StreamBusClient, topic: string, values: readonly string[]): Promise<void> {
  const producer = client.producer({ lingerMs: 0 });
  await producer.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) });
  await producer.close();
}

/** Polls (any throw fails the test) until `done` holds, collecting the values read. */
async function pollUntil(consumer: Consumer, seen: string[], done: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out; read ${JSON.stringify(seen)}`);
    const messages: ConsumerMessage[] = await consumer.poll();
    for (const m of messages) seen.push(`${m.topic}:${m.value?.toString()}`);
  }
}

const topicsOf = (tps: readonly TopicPartition[]) => [...new Set(tps.map((tp) => tp.topic))].sort();

describe('a topic deleted while it is consumed', () => {
  it('a group member keeps polling the other topics; the group rebalances without the deleted one', async () => {
    await env.start(FAST_GROUPS);
    const client = env.client();
    const admin = client.admin();
    await admin.createTopic({ name: 'dA', partitions: 2 });
    await admin.createTopic({ name: 'dB', partitions: 1 });
    await send(client, 'dA', ['a0']);
    await send(client, 'dB', ['b0']);
    const consumer = client.consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      group: { groupId: 'g-deleted', ...GROUP },
    });
    consumer.subscribe(['dA', 'dB']);
    const seen: string[] = [];
    await pollUntil(consumer, seen, () => seen.includes('dA:a0') && seen.includes('dB:b0'));

    await admin.deleteTopic('dA');
    await send(client, 'dB', ['b1', 'b2']);
    await pollUntil(
      consumer,
      seen,
      () => seen.includes('dB:b2') && topicsOf(consumer.assignment()).join() === 'dB',
    );
    expect(seen.filter((v) => v.startsWith('dB:'))).toEqual(['dB:b0', 'dB:b1', 'dB:b2']);
  });

  it('a consumer without a group drops the deleted topic, says so, and reads the rest', async () => {
    await env.start(FAST_GROUPS);
    const client = env.client();
    const admin = client.admin();
    for (const name of ['dA', 'dB', 'dC']) await admin.createTopic({ name, partitions: 1 });
    await send(client, 'dB', ['b0']);
    const deleted: TopicPartition[] = [];
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    // dA whole, dB and dC by partition; dC is deleted before its position is known (first poll).
    await consumer.assign([{ topic: 'dA' }, { topic: 'dB', partition: 0 }, { topic: 'dC', partition: 0 }], {
      onDeleted: (partitions) => deleted.push(...partitions),
    });
    await admin.deleteTopic('dC');
    const seen: string[] = [];
    await pollUntil(consumer, seen, () => seen.includes('dB:b0') && deleted.length === 1);
    expect(deleted).toEqual([{ topic: 'dC', partition: 0 }]);

    await admin.deleteTopic('dA');
    await send(client, 'dB', ['b1']);
    await pollUntil(consumer, seen, () => seen.includes('dB:b1') && deleted.length === 2);
    expect(deleted).toEqual([
      { topic: 'dC', partition: 0 },
      { topic: 'dA', partition: 0 },
    ]);
    expect(consumer.assignment()).toEqual([{ topic: 'dB', partition: 0 }]);

    // With every assigned topic deleted, poll() says so instead of waiting forever.
    await admin.deleteTopic('dB');
    await expect(pollUntil(consumer, seen, () => false)).rejects.toMatchObject({
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
      message: expect.stringMatching(/nothing left to poll: the assigned topics were deleted \(dC, dA, dB\)/),
    });
  });
});
