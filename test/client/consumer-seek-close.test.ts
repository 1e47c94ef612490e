/**
 * The consumer's API edges: seek() is async like the other seeks, so a bad offset rejects its promise
 * rather than throwing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { FakeBroker } from './fake-broker.js';

let broker: FakeBroker;
let cluster: Cluster;
afterEach(async () => {
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
