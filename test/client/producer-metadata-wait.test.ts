/**
 * send() while no broker answers (a whole-cluster restart) waits for metadata within the delivery timeout,
 * as Kafka's send() blocks up to max.block.ms: a QA run saw sends made while every broker was down fail at
 * once with NETWORK_ERROR, while the batches queued before them waited and were written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Producer } from '../../src/client/producer.js';
import { eventually, FakeBroker, ManualTimers } from './fake-broker.js';

let broker: FakeBroker | undefined;
let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.close();
  await broker?.stop();
});

const fast = { retryBackoffMs: 20, retryBackoffMaxMs: 50 };

describe('Producer send() while no broker answers', () => {
  it('waits for a broker to come back, then delivers', async () => {
    const down = await FakeBroker.start();
    const port = down.port;
    await down.stop();
    cluster = new Cluster({
      bootstrap: [`127.0.0.1:${port}`],
      reconnectBackoffMs: 10,
      reconnectBackoffMaxMs: 50,
    });
    const producer = new Producer(cluster, { ...fast, lingerMs: 0, deliveryTimeoutMs: 10_000 });
    let outcome: string | undefined;
    const sent = producer.send({ topic: 't', messages: [{ value: 'during the restart' }] }).then(
      (r) => {
        outcome = `ok ${r[0]!.offset}`;
      },
      (err: { code: string }) => {
        outcome = `failed ${err.code}`;
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(outcome).toBeUndefined();
    broker = await FakeBroker.start(port);
    broker.createTopic('t', 1);
    await sent;
    expect(outcome).toBe('ok 0');
    expect(broker.records('t', 0).map((r) => r.value?.toString())).toEqual(['during the restart']);
  });

  it('fails with the connection error once the delivery timeout has passed, naming every broker tried', async () => {
    const a = await FakeBroker.start();
    const b = await FakeBroker.start();
    const addresses = [a.bootstrap, b.bootstrap];
    await a.stop();
    await b.stop();
    cluster = new Cluster({ bootstrap: addresses, reconnectBackoffMs: 10, reconnectBackoffMaxMs: 50 });
    const producer = new Producer(cluster, { ...fast, deliveryTimeoutMs: 400 });
    const started = Date.now();
    const err = await producer.send({ topic: 't', messages: [{ value: 'x' }] }).catch((e: Error) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(err).toMatchObject({ code: 'NETWORK_ERROR' });
    expect((err as Error).message).toMatch(/no broker answered for \d+ ms; delivery timeout 400 ms/);
    for (const address of addresses) expect((err as Error).message).toContain(address);
  });

  it('fails at the delivery timeout even while a reconnect backoff inside the attempt would wait longer', async () => {
    const down = await FakeBroker.start();
    const address = down.bootstrap;
    await down.stop();
    // Time stands still and timers fire only when told: which wait ends the send is certain.
    const timers = new ManualTimers();
    const clock = { nowMs: () => 0 };
    const random = () => 0.99;
    cluster = new Cluster({
      bootstrap: [address],
      reconnectBackoffMs: 10_000,
      reconnectBackoffMaxMs: 10_000,
      timers,
      clock,
      random,
    });
    const producer = new Producer(cluster, { ...fast, deliveryTimeoutMs: 5_000, timers, clock, random });
    let outcome: unknown;
    void producer.send({ topic: 't', messages: [{ value: 'x' }] }).catch((e: unknown) => {
      outcome = e;
    });
    // The first attempt is refused; the producer's own backoff (under 50 ms) precedes the second, whose
    // reconnect then waits out the broker's backoff (9.9 s).
    await eventually(() => [...timers.pending.values()].some((t) => t.ms < 50), 'the retry backoff');
    for (const [id, t] of timers.pending) {
      if (t.ms < 50) {
        timers.pending.delete(id);
        t.fn();
      }
    }
    await eventually(
      () => [...timers.pending.values()].some((t) => t.ms === 9_900),
      'the reconnect backoff inside the second attempt',
    );
    expect(outcome).toBeUndefined();
    expect(timers.fireSetFor(5_000)).toBe(1);
    await eventually(() => outcome !== undefined, 'the send to fail');
    expect(outcome).toMatchObject({ code: 'NETWORK_ERROR' });
    expect((outcome as Error).message).toMatch(/delivery timeout 5000 ms/);

    // Closing the client ends the reconnect backoff still pending (nothing keeps a closed CLI alive).
    await cluster.close();
    expect([...timers.pending.values()].filter((t) => t.ms === 9_900)).toEqual([]);
  });

  it('an unknown topic still fails at once', async () => {
    broker = await FakeBroker.start();
    cluster = new Cluster({ bootstrap: [broker.bootstrap] });
    const producer = new Producer(cluster, { ...fast, deliveryTimeoutMs: 60_000 });
    await expect(producer.send({ topic: 'nowhere', messages: [{ value: 'x' }] })).rejects.toMatchObject({
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
  });
});
