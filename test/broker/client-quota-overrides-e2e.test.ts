/**
 * Per-client-id quota overrides on a running single-node broker (config alter --client): the broker config
 * sets no quota, so bytes are not even counted until an override exists; an override for one client id
 * throttles it at once while another client id goes unthrottled; deleting it lifts the throttle; and the
 * overrides survive a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { removeDir, tempDir } from '../helpers/broker-process.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

/** Bytes per second for the throttled client id. */
const QUOTA = 16 * 1024;
const VALUE = 'x'.repeat(1000);
/** One request carries about one second's worth at the quota. */
const PER_REQUEST = 16;
/** 13 seconds' worth at the quota: 10 go through at once, the rest are throttled. */
const REQUESTS = 13;
const LOOPBACK = { 'broker.listen': '127.0.2.1:0', 'health.http.bind_address': '127.0.2.1' };

const dataDir = tempDir();
let b: InProcessBroker;

beforeAll(async () => {
  b = await startInProcessBroker({ ...LOOPBACK, 'storage.flush_policy': 'never' }, dataDir);
});
afterAll(async () => {
  await b?.stop();
  removeDir(dataDir);
});

async function throttledProduces(): Promise<number> {
  const text = await (await fetch(`http://${b.host}:${b.httpPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('streambus_quota_throttled_requests_total{') && l.includes('kind="produce"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function produceAsFastAsAcked(clientId: string, topic: string): Promise<void> {
  const client = createClient({ bootstrap: [b.bootstrap], clientId });
  try {
    const producer = client.producer({ lingerMs: 0, acks: 1 });
    for (let r = 0; r < REQUESTS; r++) {
      const messages = Array.from({ length: PER_REQUEST }, (_, i) => ({ value: `${i}|${VALUE}` }));
      await producer.send({ topic, messages });
    }
    await producer.close();
  } finally {
    await client.close();
  }
}

describe('per-client-id quota overrides on a running broker', () => {
  it('an override throttles its client id at once, not another one; deleting it lifts the throttle', async () => {
    const admin = createClient({ bootstrap: [b.bootstrap], clientId: 'operator' });
    try {
      await admin.admin().createTopic({ name: 'q', partitions: 1, replicationFactor: 1, configs: {} });
      await admin
        .admin()
        .alterConfig({ type: 'client', name: 'limited' }, { set: { producer_byte_rate: String(QUOTA) } });
      expect(await admin.admin().describeConfig({ type: 'client', name: 'limited' })).toContainEqual({
        key: 'producer_byte_rate',
        value: String(QUOTA),
        source: 'client',
      });

      await produceAsFastAsAcked('free', 'q');
      expect(await throttledProduces(), 'a client id without an override').toBe(0);

      await produceAsFastAsAcked('limited', 'q');
      const throttled = await throttledProduces();
      expect(throttled, 'the client id with the override').toBeGreaterThan(0);

      await admin
        .admin()
        .alterConfig({ type: 'client', name: 'limited' }, { delete: ['producer_byte_rate'] });
      await produceAsFastAsAcked('limited', 'q');
      expect(await throttledProduces(), 'after its override was deleted').toBe(throttled);
    } finally {
      await admin.close();
    }
  }, 90_000);

  it('overrides survive a restart of the broker', async () => {
    const admin = createClient({ bootstrap: [b.bootstrap], clientId: 'operator' });
    try {
      await admin.admin().alterConfig({ type: 'client', name: '' }, { set: { consumer_byte_rate: '4096' } });
    } finally {
      await admin.close();
    }
    await b.stop();
    b = await startInProcessBroker({ ...LOOPBACK, 'storage.flush_policy': 'never' }, dataDir);
    const after = createClient({ bootstrap: [b.bootstrap], clientId: 'operator' });
    try {
      expect(await after.admin().describeConfig({ type: 'client', name: 'anyone' })).toContainEqual({
        key: 'consumer_byte_rate',
        value: '4096',
        source: 'client-default',
      });
    } finally {
      await after.close();
    }
  }, 60_000);
});
