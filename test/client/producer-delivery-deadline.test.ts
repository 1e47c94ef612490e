/**
 * A produce request waits no longer than its batches' delivery timeout (Kafka's producer expires in-flight
 * batches too): before, a leader that never answered held a send for the whole ack timeout (30 s by
 * default) plus a second, whatever `deliveryTimeoutMs` said (QA: 10.5 s for a 5 s delivery timeout).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/index.js';
import { FakeBroker, failAll } from './fake-broker.js';

let broker: FakeBroker;
let cluster: Cluster;
let release: () => void = () => undefined;

afterEach(async () => {
  release();
  await cluster?.close();
  await broker?.stop();
});

describe('a produce to a leader that never answers', () => {
  it('fails at the delivery timeout, not after the ack timeout, and tells the broker the shorter wait', async () => {
    broker = await FakeBroker.start();
    broker.createTopic('t', 1);
    broker.handlers[ApiKey.Produce] = (req) =>
      new Promise((resolve) => {
        const earlier = release;
        release = () => {
          earlier();
          resolve(broker.produce(req));
        };
      });
    cluster = new Cluster({ bootstrap: [broker.bootstrap] });
    // An ack timeout of a minute: the test's own 15 s timeout fails it unless the delivery timeout ends it.
    const producer = new Producer(cluster, { lingerMs: 0, deliveryTimeoutMs: 500, ackTimeoutMs: 60_000 });
    const err = await producer.send({ topic: 't', messages: [{ value: 'x' }] }).then(
      () => null,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(err?.code).toBe('REQUEST_TIMED_OUT');
    expect(err?.message).toMatch(/delivery timeout/);
    const sent = broker.requestsOf(ApiKey.Produce)[0]!.body as { timeoutMs: number };
    expect(sent.timeoutMs).toBeLessThanOrEqual(500);
    release();
    await producer.close();
  }, 15_000);

  it('fails with the error it was retried for when the timeout comes while a retry waits for its answer', async () => {
    broker = await FakeBroker.start();
    broker.createTopic('t', 1);
    let attempts = 0;
    broker.handlers[ApiKey.Produce] = (req) => {
      attempts++;
      // The first attempt is refused (retriable); the retry is never answered.
      if (attempts === 1) return failAll(req, 'NOT_LEADER');
      return new Promise((resolve) => {
        const earlier = release;
        release = () => {
          earlier();
          resolve(broker.produce(req));
        };
      });
    };
    cluster = new Cluster({ bootstrap: [broker.bootstrap] });
    const producer = new Producer(cluster, {
      lingerMs: 0,
      retryBackoffMs: 5,
      retryBackoffMaxMs: 10,
      deliveryTimeoutMs: 500,
      ackTimeoutMs: 60_000,
    });
    const err = await producer.send({ topic: 't', messages: [{ value: 'x' }] }).then(
      () => null,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(attempts).toBe(2);
    expect(err?.code).toBe('NOT_LEADER');
    expect(err?.message).toMatch(/delivery timeout of 500 ms/);
    release();
    await producer.close();
  }, 15_000);
});
