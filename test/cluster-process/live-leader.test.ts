/**
 * Metadata answers name a partition's new leader before metadata records it (broker/replica/live-leader.ts),
 * on real broker processes. Four brokers, metadata voters 1-3: the leader of a partition and the one metadata
 * voter that holds no replica of it are stopped (SIGSTOP), so the metadata group has no quorum and cannot
 * publish anything, while the partition's two other replicas elect a leader among themselves. Those two
 * brokers' Metadata answers name the new leader at the old leader epoch (nothing was published), and an
 * SDK producer bootstrapped with them writes to it with acks=all. Without the replicas' own view, metadata
 * would name the stopped broker until the metadata quorum came back.
 * Needs `npm run build` first (the tests spawn dist/cmd/streambus.js).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/client/connection.js';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey, type MetadataResponse } from '../../src/protocol/index.js';
import { type BrokerProcess, removeDir, tempDir } from '../helpers/broker-process.js';
import { agreedLeader, freePorts, HOST, startClusterBroker, until } from '../helpers/cluster-processes.js';
import { connectTo } from '../helpers/wire.js';

const TOPIC = 'live';
const PARTITIONS = 8;
const METADATA_VOTERS = [1, 2, 3];
const ENV = {
  // Stopped brokers are marked failed after 3 s; nothing may be reassigned meanwhile.
  STREAMBUS_CLUSTER_FAILED_GRACE: '120s',
};

interface Placed {
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
}

function placedOf(md: MetadataResponse): Placed[] | undefined {
  const t = md.topics.find((x) => x.name === TOPIC);
  if (t === undefined || t.error !== null || t.partitions.length !== PARTITIONS) return undefined;
  // Published by each partition's Raft group (epoch above the creation's 0), with every replica in sync, and
  // led by its first replica: the coordinator's choice while every broker is alive and in sync, so no leader
  // change (and no new leader epoch) comes between this look-up and the test stopping the leader.
  if (
    t.partitions.some(
      (p) => p.error !== null || p.leaderEpoch === 0 || p.isr.length !== 3 || p.leaderId !== p.replicas[0],
    )
  )
    return undefined;
  return t.partitions.map((p) => ({ ...p, replicas: [...p.replicas] }));
}

describe('Metadata answers from a partition replica while the metadata quorum is down', () => {
  const dirs = [1, 2, 3, 4].map((id) => tempDir(`streambus-live-leader-${id}-`));
  const running = new Map<number, BrokerProcess>();
  const clients: StreamBusClient[] = [];
  const connections: Connection[] = [];

  afterAll(async () => {
    for (const b of running.values()) b.child.kill('SIGCONT');
    for (const c of clients) await c.close();
    for (const c of connections) await c.close().catch(() => {});
    await Promise.all([...running.values()].map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });

  it('name the partition leader its replicas elected, and the SDK writes to it with acks=all', async () => {
    const peerPorts = await freePorts(4);
    const voters = METADATA_VOTERS.map((id) => `${id}@${HOST}:${peerPorts[id - 1]}`).join(',');
    await Promise.all(
      [1, 2, 3, 4].map(async (id) => {
        const b = await startClusterBroker({
          id,
          dataDir: dirs[id - 1] as string,
          peerPort: peerPorts[id - 1] as number,
          voters,
          env: ENV,
        });
        running.set(id, b);
      }),
    );
    const broker = (id: number): BrokerProcess => running.get(id) as BrokerProcess;
    await until('a metadata leader', () => agreedLeader(METADATA_VOTERS.map(broker)), 30_000);
    const admin = createClient({ bootstrap: [1, 2, 3, 4].map((id) => broker(id).bootstrap) });
    clients.push(admin);
    await until(
      'four alive brokers',
      async () => {
        const d = await admin
          .admin()
          .describeCluster()
          .catch(() => undefined);
        // Alive, not only registered: placement counts alive brokers, and a topic placed on three would
        // then have replicas moved onto the fourth while the test picks its partition.
        return d?.brokers.filter((b) => b.state === 'alive').length === 4 ? true : undefined;
      },
      30_000,
    );
    await admin.admin().createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    const conn = new Map<number, Connection>();
    for (const id of [1, 2, 3, 4]) {
      const c = await connectTo(broker(id));
      connections.push(c);
      conn.set(id, c);
    }
    const metadataFrom = (id: number): Promise<MetadataResponse> =>
      (conn.get(id) as Connection).request(ApiKey.Metadata, { topics: [TOPIC] });

    // A partition led by a metadata voter, with another metadata voter outside its replicas: stopping those
    // two leaves one metadata voter of three (no quorum) and two of the partition's three replicas.
    const choice = await until(
      'a partition led by one metadata voter and not hosted by another',
      async () => {
        const md = await metadataFrom(4).catch(() => undefined);
        const placed = md === undefined ? undefined : placedOf(md);
        for (const p of placed ?? []) {
          const outside = METADATA_VOTERS.find((v) => !p.replicas.includes(v));
          if (outside !== undefined && METADATA_VOTERS.includes(p.leaderId)) return { p, outside };
        }
        return undefined;
      },
      30_000,
    );
    const { p, outside } = choice;
    const survivors = p.replicas.filter((id) => id !== p.leaderId);
    expect(survivors).toHaveLength(2);
    expect(survivors).not.toContain(outside);

    // The producer gets its id while metadata works (producer ids are allocated through metadata).
    const client = createClient({ bootstrap: survivors.map((id) => broker(id).bootstrap) });
    clients.push(client);
    const producer = client.producer({ acks: -1 });
    await producer.send({ topic: TOPIC, messages: [{ value: 'before', partition: p.partition }] });

    for (const id of [p.leaderId, outside]) broker(id).child.kill('SIGSTOP');
    try {
      // Both surviving replicas name one of them, at the epoch metadata had: nothing was published.
      const named = await until(
        `a survivor's Metadata naming a new leader of ${TOPIC}/${p.partition}`,
        async () => {
          const views = await Promise.all(survivors.map((id) => metadataFrom(id)));
          const parts = views.map((md) =>
            md.topics.find((t) => t.name === TOPIC)?.partitions.find((x) => x.partition === p.partition),
          );
          const leaders = new Set(parts.map((x) => x?.leaderId));
          const [leader] = [...leaders];
          return leaders.size === 1 && leader !== undefined && survivors.includes(leader)
            ? { leader, epochs: parts.map((x) => x?.leaderEpoch) }
            : undefined;
        },
        20_000,
      );
      expect(named.epochs).toEqual([p.leaderEpoch, p.leaderEpoch]);
      const [result] = await producer.send({
        topic: TOPIC,
        messages: [{ value: 'while metadata is down', partition: p.partition }],
      });
      expect(result?.partition).toBe(p.partition);
      expect(result?.offset).toBe(1);
      // Still unpublished: the metadata group had no quorum all along.
      const after = (await metadataFrom(named.leader)).topics[0]?.partitions.find(
        (x) => x.partition === p.partition,
      );
      expect(after).toMatchObject({ leaderId: named.leader, leaderEpoch: p.leaderEpoch });
    } finally {
      for (const id of [p.leaderId, outside]) broker(id).child.kill('SIGCONT');
    }
    await producer.close();
  });
});
