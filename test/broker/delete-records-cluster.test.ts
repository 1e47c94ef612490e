/**
 * DeleteRecords in cluster mode on one broker (its own single-voter cluster, in process): held back while the
 * operator holds the cluster below feature level 9 (cluster.feature_level_max), with the level named; at
 * level 9 the floor is written to the metadata partition record and the replica's log takes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { until } from '../helpers/cluster-processes.js';
import {
  aliveInMetadata,
  type InProcessBroker,
  singleVoterCluster,
  startInProcessBroker,
} from '../helpers/in-process-broker.js';

const HOST = '127.0.4.3';
let b: InProcessBroker | undefined;
let client: StreamBusClient | undefined;

afterEach(async () => {
  await client?.close();
  await b?.destroy();
});

async function start(settings: Record<string, unknown>): Promise<InProcessBroker> {
  const cluster = await singleVoterCluster();
  const peerPort = String(cluster['cluster.peer_listen']).split(':')[1];
  b = await startInProcessBroker({
    ...cluster,
    'broker.listen': `${HOST}:0`,
    'health.http.bind_address': HOST,
    'cluster.peer_listen': `${HOST}:${peerPort}`,
    'cluster.voters': `1@${HOST}:${peerPort}`,
    ...settings,
  });
  await aliveInMetadata(b);
  client = createClient({ bootstrap: [b.bootstrap], requestTimeoutMs: 10_000 });
  await client.admin().createTopic({ name: 'd', partitions: 1, replicationFactor: 1 });
  const producer = client.producer({ acks: -1, lingerMs: 0 });
  for (let i = 0; i < 10; i++) await producer.send({ topic: 'd', messages: [{ value: `v${i}` }] });
  await producer.close();
  return b;
}

const levelOf = (broker: InProcessBroker) => broker.broker.cluster?.store.snapshotView().featureLevel ?? 0;

describe('DeleteRecords in cluster mode', () => {
  it('is refused below feature level 9, naming the level', async () => {
    const held = FEATURE.deleteRecords - 1;
    const broker = await start({ 'cluster.feature_level_max': held });
    await until(`level ${held}`, async () => (levelOf(broker) === held ? true : undefined));
    const [r] = await client!.admin().deleteRecords([{ topic: 'd', partition: 0, offset: 5 }]);
    expect(r?.error?.code).toBe('FEATURE_NOT_FINALIZED');
    expect(r?.error?.message).toMatch(new RegExp(`level ${FEATURE.deleteRecords}`));
    const [earliest] = await client!.admin().listOffsets([{ topic: 'd', partition: 0, timestamp: -2 }]);
    expect(earliest?.offset).toBe(0);
  });

  it('at the delete-records level the floor is in the metadata partition record and the log starts there', async () => {
    const broker = await start({});
    await until(`level ${FEATURE.deleteRecords}`, async () =>
      levelOf(broker) >= FEATURE.deleteRecords ? true : undefined,
    );
    const [r] = await client!.admin().deleteRecords([{ topic: 'd', partition: 0, offset: -1 }]);
    expect(r).toMatchObject({ lowWatermark: 10, error: null });
    const record = broker.broker.cluster?.store.snapshotView().topics.get('d')?.partitions[0];
    expect(record?.logStartFloor).toBe(10);
    const [earliest] = await client!.admin().listOffsets([{ topic: 'd', partition: 0, timestamp: -2 }]);
    expect(earliest?.offset).toBe(10);
  });
});
