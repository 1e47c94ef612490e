/**
 * The request-time quota on a running single-node broker (loopback 127.0.3.1), set as a per-client-id
 * override (config alter --client ID --set request_percentage=...): a client id that keeps the broker busy
 * past its share of the event loop is throttled (kind="request"); a consumer whose fetches spend seconds
 * parked in the long-poll wait is not, although that wait is far beyond its share: only the broker's own
 * work counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';

const HOST = '127.0.3.1';

let b: InProcessBroker;

beforeAll(async () => {
  b = await startInProcessBroker({
    'broker.listen': `${HOST}:0`,
    'health.http.bind_address': HOST,
    'storage.flush_policy': 'never',
  });
});
afterAll(async () => {
  await b?.destroy();
});

async function throttledRequests(): Promise<number> {
  const text = await (await fetch(`http://${b.host}:${b.httpPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('streambus_quota_throttled_requests_total{') && l.includes('kind="request"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function asOperator(
  work: (admin: ReturnType<ReturnType<typeof createClient>['admin']>) => Promise<void>,
) {
  const operator = createClient({ bootstrap: [b.bootstrap], clientId: 'operator' });
  try {
    await work(operator.admin());
  } finally {
    await operator.close();
  }
}

describe('request-time quota on a running broker', () => {
  it('a long-poll wait does not count: a consumer parked in fetches for seconds is not throttled', async () => {
    await asOperator(async (admin) => {
      await admin.createTopic({ name: 'quiet', partitions: 1, replicationFactor: 1 });
      // 1% of the event loop: 100 ms over the 10 s span, against 5 s of fetches waiting for data.
      await admin.alterConfig({ type: 'client', name: 'poller' }, { set: { request_percentage: '1' } });
    });
    const client = createClient({ bootstrap: [b.bootstrap], clientId: 'poller' });
    try {
      const consumer = client.consumer({ maxWaitMs: 1_000, autoOffsetReset: 'earliest' });
      await consumer.assign([{ topic: 'quiet' }]);
      for (let i = 0; i < 5; i++) expect(await consumer.poll()).toEqual([]);
      await consumer.close();
    } finally {
      await client.close();
    }
    expect(await throttledRequests()).toBe(0);
  }, 30_000);

  it('a client id that keeps the broker busy past its share is throttled', async () => {
    // 0.01% of the event loop: 1 ms of the broker's time over the 10 s span.
    await asOperator((admin) =>
      admin.alterConfig({ type: 'client', name: 'busy' }, { set: { request_percentage: '0.01' } }),
    );
    const client = createClient({ bootstrap: [b.bootstrap], clientId: 'busy' });
    try {
      const admin = client.admin();
      // Each answer costs the broker tens of microseconds: a few hundred are well past 1 ms. Stop at the
      // first throttle (the next request would wait out the muted connection).
      for (let i = 0; i < 5_000 && (await throttledRequests()) === 0; i++) await admin.listTopics();
    } finally {
      await client.close();
    }
    expect(await throttledRequests()).toBeGreaterThan(0);
  }, 30_000);
});
