/**
 * Client byte-rate quotas on a running broker (quotas.producer_byte_rate / quotas.consumer_byte_rate): a
 * client id over its quota is slowed, not refused. Every message is still acknowledged and read back; the
 * broker counts the throttled requests; and the client cannot go faster than the quota allows once its
 * first ten windows' worth is spent (the lower bound on the elapsed time is what the throttle adds: a slow
 * machine only makes it longer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

/** Bytes per second for each client id, either way. */
const QUOTA = 16 * 1024;
const VALUE = 'x'.repeat(1000);
/** One request carries about one second's worth at the quota. */
const PER_REQUEST = 16;
/** 13 seconds' worth at the quota: 10 go through at once, the rest are throttled. */
const REQUESTS = 13;

let b: InProcessBroker;

beforeAll(async () => {
  b = await startInProcessBroker({
    'quotas.producer_byte_rate': String(QUOTA),
    'quotas.consumer_byte_rate': String(QUOTA),
    'storage.flush_policy': 'never',
  });
});
afterAll(async () => {
  await b?.destroy();
});

async function metric(name: string, label = ''): Promise<number> {
  const text = await (await fetch(`http://${b.host}:${b.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
const throttled = (kind: 'produce' | 'fetch') =>
  metric('streambus_quota_throttled_requests_total', `kind="${kind}"`);

describe('client byte-rate quotas on a running broker', () => {
  it('slows a producer and a consumer over their quota, losing nothing', async () => {
    const client = createClient({ bootstrap: [b.bootstrap], clientId: 'greedy' });
    try {
      await client.admin().createTopic({ name: 'quota', partitions: 1, replicationFactor: 1, configs: {} });
      const producer = client.producer({ lingerMs: 0, acks: 1 });
      const started = Date.now();
      for (let r = 0; r < REQUESTS; r++) {
        const messages = Array.from({ length: PER_REQUEST }, (_, i) => ({
          value: `${r * PER_REQUEST + i}|${VALUE}`,
        }));
        const acked = await producer.send({ topic: 'quota', messages });
        expect(acked.map((m) => m.offset)).toEqual(messages.map((_, i) => r * PER_REQUEST + i));
      }
      const produceMs = Date.now() - started;
      console.log(`quota ${QUOTA} B/s: ${REQUESTS} produce requests took ${produceMs} ms`);
      await producer.close();
      expect(await throttled('produce')).toBeGreaterThan(0);
      // The time its connection went unread: at least the waits before the 12th and 13th requests, at most
      // the run and the last request's throttle (11 s at most) after it.
      const unreadS = await metric('streambus_quota_throttle_seconds_total');
      expect(unreadS).toBeGreaterThanOrEqual(2);
      expect(unreadS * 1000).toBeLessThanOrEqual(Date.now() - started + 11_000);
      // Past ten windows' worth, the 12th and 13th requests each wait for the excess before them (1 s, 2 s).
      expect(produceMs).toBeGreaterThanOrEqual(2_000);

      const consumer = client.consumer({ autoOffsetReset: 'earliest', maxBytes: PER_REQUEST * 1100 });
      await consumer.assign([{ topic: 'quota', partition: 0 }]);
      const seen: number[] = [];
      const deadline = Date.now() + 60_000;
      while (seen.length < REQUESTS * PER_REQUEST && Date.now() < deadline) {
        for (const m of await consumer.poll()) seen.push(Number(m.value!.toString().split('|')[0]));
      }
      await consumer.close();
      expect(seen).toEqual(Array.from({ length: REQUESTS * PER_REQUEST }, (_, i) => i));
      expect(await throttled('fetch')).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  }, 90_000);
});
