/**
 * Log compaction on a replicated partition: three brokers in this process (cluster mode, loopback
 * 127.0.2.1), a compacted topic with replication factor 3. Keyless records are refused by the leader's
 * replica; every replica's cleaner compacts its own copy (each broker's metrics count removed records),
 * including a replica that was down while the others compacted and caught up afterwards; consumers see the
 * latest value per key at increasing offsets, also from a new leader after the old one stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { freePorts, until } from '../helpers/cluster-processes.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { connectTo } from '../helpers/wire.js';

const HOST = '127.0.2.1';
const TOPIC = 'compacted-replicated';
const TP = { topic: TOPIC, partition: 0 };
const KEYS = 10;
const ROUNDS = 40;

const brokers: InProcessBroker[] = [];
let client: StreamBusClient;
let settingsOf: (id: number) => Record<string, unknown>;

beforeAll(async () => {
  const peerPorts = await freePorts(3, HOST);
  const voters = peerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(',');
  settingsOf = (id) => ({
    'broker.id': id,
    'broker.listen': `${HOST}:0`,
    'health.http.bind_address': HOST,
    'cluster.enabled': true,
    'cluster.peer_listen': `${HOST}:${peerPorts[id - 1]}`,
    'cluster.voters': voters,
    'storage.cleaner_interval': 100,
  });
  for (let id = 1; id <= 3; id++) brokers.push(await startInProcessBroker(settingsOf(id)));
  client = createClient({ bootstrap: brokers.map((b) => b.bootstrap), requestTimeoutMs: 10_000 });
  await until(
    'three brokers alive',
    async () => {
      const cluster = await client
        .admin()
        .describeCluster()
        .catch(() => undefined);
      return cluster !== undefined && cluster.brokers.filter((b) => b.state === 'alive').length === 3
        ? true
        : undefined;
    },
    30_000,
  );
  await client.admin().createTopic({
    name: TOPIC,
    partitions: 1,
    replicationFactor: 3,
    configs: { cleanup_policy: 'compact', segment_bytes: '1024', min_cleanable_dirty_ratio: '0' },
  });
}, 60_000);
afterAll(async () => {
  await client?.close();
  for (const b of brokers.reverse()) await b.destroy();
});

async function consume(): Promise<{ offset: number; key: string; value: string }[]> {
  const [end] = await client.admin().listOffsets([{ ...TP, timestamp: -1 }]);
  const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 50 });
  try {
    await consumer.assign([TP]);
    const out: { offset: number; key: string; value: string }[] = [];
    while ((consumer.position(TP) ?? 0) < end!.offset) {
      for (const m of await consumer.poll()) {
        out.push({ offset: m.offset, key: m.key?.toString() ?? '', value: m.value?.toString() ?? '' });
      }
    }
    return out;
  } finally {
    await consumer.close();
  }
}

/** The id of the broker whose replica of partition 0 serves a read now (the others answer NOT_LEADER). */
function leaderAnsweringReads(): Promise<number> {
  return until(
    'a broker serving reads of the partition',
    async () => {
      for (const [i, b] of brokers.entries()) {
        const conn = await connectTo(b);
        try {
          const fetched = await conn.request(ApiKey.Fetch, {
            maxWaitMs: 0,
            minBytes: 0,
            maxBytes: 1024,
            partitions: [{ ...TP, fetchOffset: 0, partitionMaxBytes: 1024 }],
          });
          if (fetched.partitions[0]?.error === null) return i + 1;
        } finally {
          await conn.close();
        }
      }
      return undefined;
    },
    30_000,
  );
}

async function removedOn(b: InProcessBroker): Promise<number> {
  const text = await (await fetch(`http://${HOST}:${b.httpPort}/metrics`)).text();
  const m = new RegExp(
    `^streambus_log_cleaner_records_removed_total\\{[^}]*topic="${TOPIC}"[^}]*\\} (\\S+)$`,
    'm',
  ).exec(text);
  return Number(m?.[1] ?? 0);
}

describe('a compacted topic with three replicas', () => {
  it('refuses records without a key at the leader', async () => {
    // Retries on: the topic was created a moment ago and its first replica may not lead yet (NOT_LEADER is
    // retried); a refused record is not retriable, so the send fails at once with the leader's answer.
    const producer = client.producer({ lingerMs: 0, deliveryTimeoutMs: 30_000 });
    await expect(
      producer.send({ topic: TOPIC, messages: [{ key: null, value: 'no key', partition: 0 }] }),
    ).rejects.toMatchObject({ code: 'INVALID_RECORD' });
  });

  it('is compacted by every replica, one that caught up afterwards too; consumers see the latest value per key', async () => {
    // Broker 3 is down while the topic is written and compacted; it catches up from the others after.
    const third = brokers[2]!;
    await third.stop();
    const producer = client.producer({ lingerMs: 0 });
    for (let round = 0; round < ROUNDS; round++) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: KEYS }, (_, k) => ({
          key: `k${k}`,
          value: `k${k}-v${round}-${'p'.repeat(60)}`,
          partition: 0,
        })),
      });
    }
    await until(
      'brokers 1 and 2 to compact their copies',
      async () =>
        (await Promise.all(brokers.slice(0, 2).map(removedOn))).every((n) => n > 0) ? true : undefined,
      30_000,
    );
    brokers[2] = await startInProcessBroker(settingsOf(3), third.dataDir);
    await until(
      'broker 3 to catch up and compact its copy',
      async () => ((await removedOn(brokers[2]!)) > 0 ? true : undefined),
      30_000,
    );
    expectLatestPerKey(await compactedView());

    // The leader goes: the new one's copy (compacted on its own) serves the same view. The leader is the one
    // that answers a read now: metadata may name the coordinator's choice before leadership has moved there.
    const leader = await leaderAnsweringReads();
    await brokers[leader - 1]!.stop();
    expectLatestPerKey(await compactedView());
  }, 120_000);
});

/** What a consumer reads once compaction has left less than half the records written. */
function compactedView(): Promise<{ offset: number; key: string; value: string }[]> {
  return until(
    'consumers to see the compacted log',
    async () => {
      const all = await consume().catch(() => undefined);
      return all !== undefined && all.length < (ROUNDS * KEYS) / 2 ? all : undefined;
    },
    30_000,
  );
}

function expectLatestPerKey(seen: { offset: number; key: string; value: string }[]): void {
  const offsets = seen.map((m) => m.offset);
  expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  for (let k = 0; k < KEYS; k++) {
    expect(seen.filter((m) => m.key === `k${k}`).at(-1)?.value).toBe(
      `k${k}-v${ROUNDS - 1}-${'p'.repeat(60)}`,
    );
  }
}
