/**
 * Three real broker processes in cluster mode serve topics from the replicated metadata: a topic created
 * through one broker is placed over all three, every broker reports the same leaders, the SDK (bootstrapped
 * with one broker) routes produce and fetch to each partition's leader, and a non-leader answers NOT_LEADER.
 * Needs `npm run build` first (the tests spawn dist/cmd/streambus.js).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { createClient, partitionForKey, type StreamBusClient } from '../../src/index.js';
import { ApiKey, type MetadataResponse } from '../../src/protocol/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker-process.js';
import { freePorts, HOST } from '../helpers/cluster-processes.js';
import { batchOf, codeOf, connectTo } from '../helpers/wire.js';

const CONVERGE_TIMEOUT_MS = 20_000;
const POLL_MS = 100;
const TOPIC = 'spread';
const PARTITIONS = 6;
const MESSAGES = 600;

/** Polls until `probe` returns a value (not undefined) or the bound passes. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${CONVERGE_TIMEOUT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Partition -> leader id, once the topic is known with a leader for every partition and no errors, each
 * published by the partition's Raft group (leader epoch above the creation's 0).
 */
function leadersOf(md: MetadataResponse): number[] | undefined {
  const t = md.topics.find((x) => x.name === TOPIC);
  if (t === undefined || t.error !== null || t.partitions.length !== PARTITIONS) return undefined;
  if (t.partitions.some((p) => p.error !== null || p.replicas.length !== 3 || p.leaderEpoch === 0)) {
    return undefined;
  }
  return [...t.partitions].sort((a, b) => a.partition - b.partition).map((p) => p.leaderId);
}

describe('cluster data plane over three broker processes', () => {
  const dirs = [tempDir('streambus-dp-1-'), tempDir('streambus-dp-2-'), tempDir('streambus-dp-3-')];
  const running: BrokerProcess[] = [];
  const connections: Connection[] = [];
  let client: StreamBusClient | undefined;
  let peerPorts: number[] = [];
  const start = (id: number): Promise<BrokerProcess> =>
    startBroker({
      dataDir: dirs[id - 1],
      env: {
        STREAMBUS_BROKER_ID: String(id),
        STREAMBUS_CLUSTER_ENABLED: 'true',
        STREAMBUS_CLUSTER_PEER_LISTEN: `${HOST}:${peerPorts[id - 1]}`,
        STREAMBUS_CLUSTER_VOTERS: peerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(','),
      },
    });
  /** The broker that led partition 0 at the end of the first test. */
  let leaderOfFirst = 0;
  let sent: string[] = [];

  afterAll(async () => {
    await client?.close();
    for (const c of connections) await c.close().catch(() => {});
    // Each process by its own handle (its PID), never by pattern.
    await Promise.all(running.map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });

  it('places a 6-partition RF-3 topic over all three brokers, routes 600 keyed messages to the leaders and reads them all back', async () => {
    peerPorts = await freePorts(3);
    running.push(...(await Promise.all([start(1), start(2), start(3)])));
    const [first] = running as [BrokerProcess];
    for (const b of running) connections.push(await connectTo(b));
    const metadataFrom = (i: number, topics: string[] | null): Promise<MetadataResponse> =>
      (connections[i] as Connection).request(ApiKey.Metadata, { topics });

    // Every broker registered and alive, as broker 1 sees it: then RF 3 can be placed.
    await until('three alive brokers in broker 1 metadata', async () => {
      const md = await metadataFrom(0, null);
      return md.brokers.length === 3 && md.controllerId > 0 ? md : undefined;
    });
    const brokers = (await metadataFrom(0, null)).brokers;
    for (const [i, b] of running.entries()) {
      expect(brokers.find((x) => x.id === i + 1)).toMatchObject({ host: HOST, port: b.port });
    }
    // One cluster id on every broker (each data dir was made with its own; the coordinator records one).
    const clusterId = await until('one cluster id from every broker', async () => {
      const ids = new Set(
        (await Promise.all([0, 1, 2].map((i) => metadataFrom(i, [])))).map((md) => md.clusterId),
      );
      return ids.size === 1 ? [...ids][0] : undefined;
    });
    expect(clusterId).toMatch(/^[0-9a-f-]{36}$/);

    client = createClient({ bootstrap: first.bootstrap, clientId: 'cluster-data-plane' });
    await client.admin().createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });

    // Every broker answers Metadata from its own replica of the metadata store: the same leaders everywhere.
    const agreedLeaders = async (): Promise<number[] | undefined> => {
      const views = await Promise.all([0, 1, 2].map((i) => metadataFrom(i, [TOPIC])));
      const seen = views.map(leadersOf);
      const [one] = seen;
      // Raft elects the leaders; the coordinator evens out an uneven election by leadership transfers.
      const even = one !== undefined && [1, 2, 3].every((id) => one.filter((l) => l === id).length === 2);
      return even && seen.every((l) => JSON.stringify(l) === JSON.stringify(one)) ? one : undefined;
    };
    const leaders = await until('the topic with leaders on every broker', agreedLeaders);
    expect(new Set(leaders)).toEqual(new Set([1, 2, 3]));
    for (const id of [1, 2, 3]) expect(leaders.filter((l) => l === id)).toHaveLength(PARTITIONS / 3);

    const producer = client.producer({ acks: 1 });
    const messages = Array.from({ length: MESSAGES }, (_, i) => ({ key: `user-${i % 53}`, value: `m${i}` }));
    const results = await producer.send({ topic: TOPIC, messages });
    results.forEach((r, i) => {
      expect(r.partition).toBe(partitionForKey(`user-${i % 53}`, PARTITIONS));
    });
    await producer.close();

    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    await consumer.assign([{ topic: TOPIC }]);
    const consumed = [];
    for await (const m of consumer) {
      consumed.push(m);
      if (consumed.length === MESSAGES) break;
    }
    await consumer.close();
    expect(consumed.map((m) => `${m.key?.toString()}=${m.value?.toString()}`).sort()).toEqual(
      messages.map((m) => `${m.key}=${m.value}`).sort(),
    );
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = consumed.filter((m) => m.partition === p).map((m) => m.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
      expect(offsets.length).toBeGreaterThan(0);
    }
    // Exactly the messages sent: nothing more arrived behind them.
    const ends = await client
      .admin()
      .listOffsets(
        Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition, timestamp: -1 })),
      );
    expect(ends.reduce((sum, r) => sum + r.offset, 0)).toBe(MESSAGES);

    // A partition asked of a broker that does not lead it: NOT_LEADER naming the leader for produce and fetch, and only
    // the leader reports the partition's offsets in DescribeTopics. The leader is looked up again here, not
    // taken from before the writes: the coordinator may have moved leadership since (metadata names its choice
    // before the Raft group has followed it). A fetch, which changes nothing, confirms the broker asked is not
    // the leader right before the produce that would otherwise land a message in the topic.
    const { leader, other, fetched } = await until('a broker that does not lead partition 0', async () => {
      const now = await agreedLeaders();
      if (now === undefined) return undefined;
      const leader = now[0] as number;
      const other = [1, 2, 3].find((id) => id !== leader) as number;
      const fetched = await (connections[other - 1] as Connection).request(ApiKey.Fetch, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
      });
      const answer = fetched.partitions[0];
      const refused = codeOf(answer?.error ?? null) === 'NOT_LEADER' && answer?.leaderHint === leader;
      return refused ? { leader, other, fetched } : undefined;
    });
    const otherConn = connections[other - 1] as Connection;
    const produced = await otherConn.request(ApiKey.Produce, {
      acks: 1,
      timeoutMs: 5_000,
      partitions: [{ topic: TOPIC, partition: 0, records: batchOf(['misrouted']) }],
    });
    expect(codeOf(produced.partitions[0]?.error ?? null)).toBe('NOT_LEADER');
    // Its replica's Raft group knows the leader: the answer names it (the client goes there next).
    expect(produced.partitions[0]?.leaderHint).toBe(leader);
    expect(codeOf(fetched.partitions[0]?.error ?? null)).toBe('NOT_LEADER');
    expect(fetched.partitions[0]?.leaderHint).toBe(leader);
    const fromOther = await otherConn.request(ApiKey.DescribeTopics, { topics: [TOPIC] });
    const fromLeader = await (connections[leader - 1] as Connection).request(ApiKey.DescribeTopics, {
      topics: [TOPIC],
    });
    expect(fromOther.topics[0]?.partitions[0]).toMatchObject({ leaderId: leader, highWatermark: -1 });
    expect(fromLeader.topics[0]?.partitions[0]?.highWatermark).toBe(
      consumed.filter((m) => m.partition === 0).length,
    );
    // RF 3: every broker holds a replica of every partition.
    for (const b of running)
      expect(b.logs.filter((l) => l.includes('"replica opened"'))).toHaveLength(PARTITIONS);
    leaderOfFirst = leader;
    sent = messages.map((m) => `${m.key}=${m.value}`).sort();
  });

  // Continues from the cluster and topic of the test above.
  it('a leader restarted with SIGTERM keeps its replica data, deletes nothing, and everything stays readable', async () => {
    const index = leaderOfFirst - 1;
    const restarted = running[index] as BrokerProcess;
    expect(await restarted.stop('SIGTERM')).toBe(0);
    (connections[index] as Connection).close().catch(() => {});
    const again = await start(index + 1);
    running[index] = again;

    const survivor = running[(index + 1) % 3] as BrokerProcess;
    const fresh = createClient({ bootstrap: survivor.bootstrap, clientId: 'cluster-data-plane-2' });
    try {
      await until('the restarted broker alive again at its new address', async () => {
        const md = await fresh.admin().metadata([TOPIC]);
        const b = md.brokers.find((x) => x.id === index + 1);
        return b?.port === again.port && leadersOf(md) !== undefined ? true : undefined;
      });
      const consumer = fresh.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
      await consumer.assign([{ topic: TOPIC }]);
      const consumed = [];
      for await (const m of consumer) {
        consumed.push(`${m.key?.toString()}=${m.value?.toString()}`);
        if (consumed.length === MESSAGES) break;
      }
      await consumer.close();
      expect(consumed.sort()).toEqual(sent);
      expect(again.logs.filter((l) => l.includes('data removed'))).toEqual([]);
    } finally {
      await fresh.close();
    }
  });
});
