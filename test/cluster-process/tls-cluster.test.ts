/**
 * Three broker processes whose client listeners serve mutual TLS. The metadata leader's health checker
 * probes each broker's client listener (broker-probe.ts): it must connect with the cluster's CA and its own
 * certificate, or every broker would be marked failed (stuck) after three probe intervals while its
 * heartbeats still arrive. Then a TLS client writes to and reads from a topic replicated on all three.
 *
 * With cluster.peer_tls the Raft link is mutual TLS too: the cluster forms and replicates over it, and a
 * broker whose certificate another CA signed cannot join (the voters refuse its handshake).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient, type StreamBusClient } from '../../src/index.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { brokerFleet, formedCluster, raftView, until } from '../helpers/cluster-processes.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'tls', name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MUTUAL_TLS = {
  STREAMBUS_BROKER_TLS_ENABLED: 'true',
  STREAMBUS_BROKER_TLS_CERT_FILE: fixture('broker.pem'),
  STREAMBUS_BROKER_TLS_KEY_FILE: fixture('broker-key.pem'),
  STREAMBUS_BROKER_TLS_CA_FILE: fixture('ca.pem'),
  STREAMBUS_BROKER_TLS_CLIENT_AUTH: 'required',
  // Probes every 200 ms: three missed ones would mark a broker failed within the watch below.
  STREAMBUS_CLUSTER_PROBE_INTERVAL: '200ms',
};

/** A client of `brokers` presenting the test client certificate. */
function tlsClient(brokers: readonly BrokerProcess[]): StreamBusClient {
  return createClient({
    bootstrap: brokers.map((b) => b.bootstrap),
    requestTimeoutMs: 10_000,
    tls: {
      ca: readFileSync(fixture('ca.pem')),
      cert: readFileSync(fixture('client.pem')),
      key: readFileSync(fixture('client-key.pem')),
    },
  });
}

/** Writes 100 values acks=all to a new topic replicated on all three brokers and reads them back. */
async function replicatedRoundTrip(client: StreamBusClient): Promise<void> {
  await client.admin().createTopic({ name: 'replicated', partitions: 2, replicationFactor: 3 });
  const producer = client.producer({ acks: -1 });
  const values = Array.from({ length: 100 }, (_, i) => `v${i}`);
  await producer.send({ topic: 'replicated', messages: values.map((value) => ({ value })) });
  const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 200 });
  await consumer.assign([{ topic: 'replicated' }]);
  const seen: string[] = [];
  await until(
    'all 100 read back',
    async () => {
      seen.push(...(await consumer.poll()).map((m) => m.value!.toString()));
      return seen.length >= 100 ? true : undefined;
    },
    30_000,
  );
  expect(seen.sort()).toEqual([...values].sort());
}

describe('a cluster whose client listeners serve mutual TLS', () => {
  const { running, clients, start } = brokerFleet('tls', 3, { env: MUTUAL_TLS });

  it('keeps every broker alive through its health probes, and serves a TLS client a replicated topic', async () => {
    const brokers = await Promise.all([start(1), start(2), start(3)]);
    await until(
      'a metadata leader seeing all three brokers alive',
      () => formedCluster([...running.values()]),
      30_000,
    );
    // Fifteen probe rounds: a probe that could not connect would have failed each broker three times over.
    await sleep(3_000);
    for (const b of brokers) {
      const states = ((await raftView(b)).brokers ?? []).map((x) => `${x.id}:${x.state}`);
      expect(states.sort()).toEqual(['1:alive', '2:alive', '3:alive']);
    }

    const client = tlsClient(brokers);
    clients.push(client);
    await replicatedRoundTrip(client);
  }, 120_000);
});

describe('a cluster whose Raft link is mutual TLS too (cluster.peer_tls)', () => {
  const { running, clients, start } = brokerFleet('peer-tls', 4, {
    env: { ...MUTUAL_TLS, STREAMBUS_CLUSTER_PEER_TLS: 'true' },
  });

  it('forms and replicates over it; a broker with a certificate of another CA cannot join', async () => {
    const brokers = await Promise.all([start(1), start(2), start(3)]);
    await until(
      'a metadata leader seeing all three brokers alive',
      () => formedCluster([...running.values()]),
      30_000,
    );
    const client = tlsClient(brokers);
    clients.push(client);
    await replicatedRoundTrip(client);

    const intruder = await start(4, {
      STREAMBUS_BROKER_TLS_CERT_FILE: fixture('intruder.pem'),
      STREAMBUS_BROKER_TLS_KEY_FILE: fixture('intruder-key.pem'),
    });
    await until('a voter refusing the intruder', async () =>
      brokers.some((b) => b.logs.some((l) => l.includes('raft peer TLS handshake failed')))
        ? true
        : undefined,
    );
    await sleep(2_000);
    const registered = ((await raftView(brokers[0]!)).brokers ?? []).map((b) => b.id).sort();
    expect(registered).toEqual([1, 2, 3]);
    expect(intruder.logs.some((l) => l.includes('"broker started"'))).toBe(true);
  }, 120_000);
});
