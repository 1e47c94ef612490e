/**
 * The `partitions` health check says what this broker has loaded in either mode: a single node's topics,
 * or in cluster mode the partition replicas it hosts (its log manager then holds no topic at all, and
 * "0 topics loaded" on a broker serving partitions misled operators).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import {
  aliveInMetadata,
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';

let broker: InProcessBroker | undefined;
let client: StreamBusClient | undefined;

afterEach(async () => {
  await client?.close();
  await broker?.destroy();
  client = undefined;
  broker = undefined;
});

async function partitionsMessage(b: InProcessBroker): Promise<string | undefined> {
  await b.broker.health.refresh('partitions');
  return b.broker.health.component('partitions')?.message;
}

describe('the partitions health check', () => {
  it('single node: counts the topics the log manager loaded', async () => {
    broker = await startInProcessBroker();
    client = createClient({ bootstrap: broker.bootstrap });
    await client.admin().createTopic({ name: 'orders', partitions: 3 });
    expect(await partitionsMessage(broker)).toBe('1 topics loaded');
  });

  it('cluster mode: counts the partition replicas hosted here and their topics', async () => {
    broker = await startInProcessBroker(await singleVoterCluster());
    await aliveInMetadata(broker);
    client = createClient({ bootstrap: broker.bootstrap });
    await client.admin().createTopic({ name: 'orders', partitions: 3 });
    await client.admin().createTopic({ name: 'audit', partitions: 2 });
    // Replicas open as this broker applies the placements; the check is refreshed until it counts them all.
    let message: string | undefined;
    for (const until = Date.now() + 10_000; Date.now() < until; ) {
      message = await partitionsMessage(broker);
      if (message?.startsWith('5 ')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(message).toBe('5 partition replicas of 2 topics hosted');
    expect(broker.broker.health.component('partitions')?.status).toBe('healthy');
  }, 30_000);
});
