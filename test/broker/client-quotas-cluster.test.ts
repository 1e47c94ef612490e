/**
 * Client quota overrides in a cluster: three brokers in this process (cluster mode, loopback 127.0.2.2).
 * An override written through one broker is a metadata write, so every broker applies it: a partition led
 * by another broker throttles the client id, and every broker describes the override.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { freePorts, until } from '../helpers/cluster-processes.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

const HOST = '127.0.2.2';
const QUOTA = 16 * 1024;
const VALUE = 'x'.repeat(1000);
const PER_REQUEST = 16;
/** 13 seconds' worth at the quota: 10 go through at once, the rest are throttled. */
const REQUESTS = 13;

const brokers: InProcessBroker[] = [];

beforeAll(async () => {
  const peerPorts = await freePorts(3, HOST);
  const voters = peerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(',');
  for (let id = 1; id <= 3; id++) {
    brokers.push(
      await startInProcessBroker({
        'broker.id': id,
        'broker.listen': `${HOST}:0`,
        'health.http.bind_address': HOST,
        'cluster.enabled': true,
        'cluster.peer_listen': `${HOST}:${peerPorts[id - 1]}`,
        'cluster.voters': voters,
      }),
    );
  }
  await until(
    `feature level ${FEATURE.clientQuotas} on every broker`,
    async () =>
      brokers.every((b) => (b.broker.cluster?.store.snapshotView().featureLevel ?? 0) >= FEATURE.clientQuotas)
        ? true
        : undefined,
    30_000,
  );
}, 60_000);
afterAll(async () => {
  for (const b of brokers.reverse()) await b.destroy();
});

async function throttledProduces(b: InProcessBroker): Promise<number> {
  const text = await (await fetch(`http://${b.host}:${b.httpPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('streambus_quota_throttled_requests_total{') && l.includes('kind="produce"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('client quota overrides in a cluster', () => {
  it('an override written through broker 1 is applied by broker 3', async () => {
    const [first, , third] = brokers as [InProcessBroker, InProcessBroker, InProcessBroker];
    const operator = createClient({
      bootstrap: [first.bootstrap],
      clientId: 'operator',
      requestTimeoutMs: 10_000,
    });
    const limited = createClient({
      bootstrap: [third.bootstrap],
      clientId: 'limited',
      requestTimeoutMs: 10_000,
    });
    try {
      await operator.admin().createTopic({ name: 'on-three', assignments: [[3]] });
      await operator
        .admin()
        .alterConfig({ type: 'client', name: 'limited' }, { set: { producer_byte_rate: String(QUOTA) } });
      await until(
        'the override in every broker metadata image',
        async () =>
          brokers.every(
            (b) =>
              b.broker.cluster?.store.snapshotView().clientQuotas.get('limited')?.producer_byte_rate ===
              String(QUOTA),
          )
            ? true
            : undefined,
        15_000,
      );
      expect(await limited.admin().describeConfig({ type: 'client', name: 'limited' })).toContainEqual({
        key: 'producer_byte_rate',
        value: String(QUOTA),
        source: 'client',
      });

      const producer = limited.producer({ lingerMs: 0, acks: 1 });
      for (let r = 0; r < REQUESTS; r++) {
        const messages = Array.from({ length: PER_REQUEST }, (_, i) => ({ value: `${i}|${VALUE}` }));
        await producer.send({ topic: 'on-three', messages });
      }
      await producer.close();
      expect(await throttledProduces(third), 'broker 3 leads the partition').toBeGreaterThan(0);
      expect(await throttledProduces(first), 'broker 1 served no produce').toBe(0);
    } finally {
      await Promise.allSettled([operator.close(), limited.close()]);
    }
  }, 90_000);
});
