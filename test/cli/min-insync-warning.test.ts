/**
 * A cluster-wide min_insync_replicas above a topic's replication factor stops acks=all writes to that topic
 * for good (as in Kafka, which accepts such a default silently). QA met it as a 2-minute hang ending in an
 * unexplained NOT_ENOUGH_REPLICAS: the CLI now names the topics it stops when the default is set, and the
 * refusal says that no replica coming back can help, and what to change.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { topicsBelowMinInsync } from '../../cmd/commands/config.js';
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
});

describe("a cluster-wide min_insync_replicas above a topic's replication factor", () => {
  it('is named by the CLI for the topics that inherit it, and the refused write says why and what to change', async () => {
    broker = await startInProcessBroker(await singleVoterCluster());
    await aliveInMetadata(broker);
    client = createClient({ bootstrap: broker.bootstrap });
    const admin = client.admin();
    await admin.createTopic({ name: 'inherits', partitions: 1, replicationFactor: 1 });
    await admin.createTopic({
      name: 'overrides',
      partitions: 1,
      replicationFactor: 1,
      configs: { min_insync_replicas: '1' },
    });
    await admin.alterConfig({ type: 'cluster', name: '' }, { set: { min_insync_replicas: '2' } });
    expect(await topicsBelowMinInsync(admin, 2)).toEqual([{ name: 'inherits', replicas: 1 }]);
    expect(await topicsBelowMinInsync(admin, 1)).toEqual([]);

    const producer = client.producer({ deliveryTimeoutMs: 1_000, retryBackoffMs: 50 });
    const refused = await producer
      .send({ topic: 'inherits', messages: [{ value: 'x' }] })
      .catch((e: Error) => e);
    expect(refused).toMatchObject({ code: 'NOT_ENOUGH_REPLICAS' });
    expect((refused as Error).message).toContain(
      'min_insync_replicas is 2, more than its 1 replica(s): acks=all writes are refused until min_insync_replicas for inherits is at most 1',
    );
    expect((await producer.send({ topic: 'overrides', messages: [{ value: 'y' }] }))[0]!.offset).toBe(0);
  });

  it('leaves consumer groups working: __consumer_offsets needs at most its replica count, and the CLI does not name it', async () => {
    broker = await startInProcessBroker(await singleVoterCluster());
    await aliveInMetadata(broker);
    client = createClient({ bootstrap: broker.bootstrap });
    const admin = client.admin();
    await admin.createTopic({
      name: 'orders',
      partitions: 1,
      replicationFactor: 1,
      configs: { min_insync_replicas: '1' },
    });
    await admin.alterConfig({ type: 'cluster', name: '' }, { set: { min_insync_replicas: '2' } });
    await client.producer().send({ topic: 'orders', messages: [{ value: 'a' }] });

    // Joining creates __consumer_offsets (one replica here); the join and the commit are acks=all writes to it.
    const member = client.consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      group: { groupId: 'g', autoCommitIntervalMs: 60_000 },
    });
    member.subscribe(['orders']);
    const ended = AbortSignal.timeout(20_000);
    let values: string[] = [];
    while (values.length === 0 && !ended.aborted) {
      values = (await member.poll({ signal: ended }).catch(() => [])).map((m) => m.value!.toString());
    }
    expect(values).toEqual(['a']);
    await member.commit();
    expect(await member.committed([{ topic: 'orders', partition: 0 }])).toMatchObject([{ offset: 1 }]);
    await member.close();
    expect((await admin.listTopics()).map((t) => t.name)).toContain('__consumer_offsets');
    expect(await topicsBelowMinInsync(admin, 2)).toEqual([]);
  });
});
