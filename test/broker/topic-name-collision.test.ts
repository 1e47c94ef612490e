/**
 * Topic names that differ only by '.' versus '_' collide (Kafka's InvalidTopicException "collides with
 * existing topic"): metric names map both characters alike, so the second such topic is refused with
 * INVALID_TOPIC_NAME naming the first, on a single node and in cluster mode, validateOnly included.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import {
  aliveInMetadata,
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';

describe.each([
  ['single node', async () => ({})],
  ['one-voter cluster', singleVoterCluster],
])('topic name collisions (%s)', (_name, mode) => {
  let broker: InProcessBroker | undefined;
  let client: StreamBusClient | undefined;
  afterEach(async () => {
    await client?.close();
    await broker?.destroy();
    client = undefined;
    broker = undefined;
  });

  it("refuses a topic equal to an existing one once '.' and '_' are alike, naming it; others are created", async () => {
    broker = await startInProcessBroker(await mode());
    await aliveInMetadata(broker);
    client = createClient({ bootstrap: broker.bootstrap });
    const admin = client.admin();
    await admin.createTopic({ name: 'a.b_c-d', partitions: 1 });
    await expect(admin.createTopic({ name: 'a_b.c-d', partitions: 1 })).rejects.toMatchObject({
      code: 'INVALID_TOPIC_NAME',
      message: expect.stringContaining("topic 'a_b.c-d' collides with existing topic 'a.b_c-d'"),
    });
    const [checked] = await admin.createTopics([{ name: 'a_b_c-d', partitions: 1 }], { validateOnly: true });
    expect(checked?.error).toMatchObject({ code: 'INVALID_TOPIC_NAME' });
    // '-' is not folded, and the exact name is still TOPIC_ALREADY_EXISTS.
    await admin.createTopic({ name: 'a.b_c.d', partitions: 1 });
    await expect(admin.createTopic({ name: 'a.b_c-d', partitions: 1 })).rejects.toMatchObject({
      code: 'TOPIC_ALREADY_EXISTS',
    });
    expect((await admin.listTopics()).map((t) => t.name).sort()).toEqual(['a.b_c-d', 'a.b_c.d']);
  }, 30_000);
});
