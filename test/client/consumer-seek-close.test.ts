/**
 * The consumer's API edges: seek() is async like the other seeks, so a bad offset rejects its promise
 * rather than throwing; and poll() after close() rejects (CLIENT_CLOSED "consumer closed") instead of
 * answering [] forever, while a poll already running when close() comes still resolves [] so that loops
 * (for await included) end cleanly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { ApiKey } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { FakeBroker } from './fake-broker.js';

let broker: FakeBroker;
let cluster: Cluster;
/** Releases fetches held by holdFetches(). */
let release: () => void = () => {};

afterEach(async () => {
  release();
  await cluster?.close();
  await broker?.stop();
});

async function start(): Promise<Consumer> {
  broker = await FakeBroker.start();
  broker.createTopic('t', 1);
  cluster = new Cluster({ bootstrap: [broker.bootstrap] });
  const consumer = new Consumer(cluster, { maxWaitMs: 10 });
  await consumer.assign([{ topic: 't', partition: 0 }]);
  return consumer;
}

/** Fetches wait until the test ends: a poll stays in flight for as long as the test needs. */
function holdFetches(): void {
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  broker.handlers[ApiKey.Fetch] = async (body) => {
    await held;
    return broker.fetch(body);
  };
}

const tp = { topic: 't', partition: 0 };

describe('consumer.seek', () => {
  it('a negative or fractional offset rejects the returned promise; nothing is thrown', async () => {
    const consumer = await start();
    await consumer.seek(tp, 3);
    for (const offset of [-5, 1.5, Number.NaN]) {
      let sought: Promise<void> | undefined;
      expect(() => {
        sought = consumer.seek(tp, offset);
      }).not.toThrow();
      await expect(sought).rejects.toMatchObject({
        code: 'OFFSET_OUT_OF_RANGE',
        message: `cannot seek t-0 to ${offset}: an offset is an integer >= 0`,
      });
    }
    expect(consumer.position(tp)).toBe(3);
    await consumer.close();
  });

  it('a partition not assigned rejects with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const consumer = await start();
    let sought: Promise<void> | undefined;
    expect(() => {
      sought = consumer.seek({ topic: 't', partition: 9 }, 0);
    }).not.toThrow();
    await expect(sought).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await consumer.close();
  });

  it('the position moves before the promise settles (an un-awaited seek still counts)', async () => {
    const consumer = await start();
    const sought = consumer.seek(tp, 4);
    expect(consumer.position(tp)).toBe(4);
    await sought;
    await consumer.close();
  });
});

describe('consumer.poll and close', () => {
  it('a poll started after close() rejects with CLIENT_CLOSED "consumer closed"', async () => {
    const consumer = await start();
    await consumer.close();
    await expect(consumer.poll()).rejects.toMatchObject({
      code: 'CLIENT_CLOSED',
      operation: 'consumer.poll',
      message: 'consumer closed',
    });
    // With a signal of its own too: the consumer being closed is what matters.
    await expect(consumer.poll({ signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'CLIENT_CLOSED',
    });
  });

  it('a poll waiting on a fetch when close() comes resolves [] rather than rejecting', async () => {
    const consumer = await start();
    holdFetches();
    const polled = consumer.poll();
    await waitFor('the fetch', () => broker.requestsOf(ApiKey.Fetch).length > 0);
    await consumer.close();
    expect(await polled).toEqual([]);
  });

  it('a for-await loop waiting on a fetch ends without an error when close() comes', async () => {
    const consumer = await start();
    holdFetches();
    const collected: unknown[] = [];
    const loop = (async () => {
      for await (const m of consumer) collected.push(m);
    })();
    await waitFor('the fetch', () => broker.requestsOf(ApiKey.Fetch).length > 0);
    await consumer.close();
    await expect(loop).resolves.toBeUndefined();
    expect(collected).toEqual([]);
  });
});
