/**
 * Consumer.pause() / resume() (Kafka's flow control): a paused partition yields nothing, also from rounds
 * fetched before the pause, while the others go on; resumed, it goes on at its position with nothing
 * skipped or repeated. Against a real in-process broker.
 */
import { describe, expect, it } from 'vitest';
import type { StreamBusClient } from '../../src/index.js';
import { perTestBroker } from '../helpers/in-process-broker.js';

const P0 = { topic: 'orders', partition: 0 };
const P1 = { topic: 'orders', partition: 1 };

const { start, client } = perTestBroker();

type Consumer = ReturnType<StreamBusClient['consumer']>;

/** `orders` with two partitions; `count` messages `p<partition>-<i>` in each, sent in batches of 10. */
async function twoPartitions(count: number): Promise<void> {
  await start();
  await client().admin().createTopic({ name: 'orders', partitions: 2 });
  await send(0, count);
}

async function send(from: number, to: number): Promise<void> {
  const producer = client().producer({ lingerMs: 0 });
  for (let i = from; i < to; i += 10) {
    await producer.send({
      topic: 'orders',
      messages: [0, 1].flatMap((partition) =>
        Array.from({ length: Math.min(10, to - i) }, (_, k) => ({
          partition,
          value: `p${partition}-${i + k}`,
        })),
      ),
    });
  }
}

function consumer(): Consumer {
  // Small fetches, so rounds are fetched ahead of what poll() has returned.
  return client().consumer({ autoOffsetReset: 'earliest', maxWaitMs: 50, partitionMaxBytes: 512 });
}

/** Polls until `wanted` says enough (at most 200 polls), returning every value polled by partition. */
async function pollUntil(
  c: Consumer,
  wanted: (seen: Map<number, string[]>) => boolean,
): Promise<Map<number, string[]>> {
  const seen = new Map<number, string[]>([
    [0, []],
    [1, []],
  ]);
  for (let i = 0; i < 200 && !wanted(seen); i++) {
    for (const m of await c.poll()) seen.get(m.partition)!.push(m.value!.toString());
  }
  return seen;
}

const range = (partition: number, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `p${partition}-${from + i}`);

describe('Consumer pause and resume', () => {
  it('a paused partition yields nothing, fetched ahead or not; resumed, it goes on at its position', async () => {
    await twoPartitions(100);
    const c = consumer();
    await c.assign([{ topic: 'orders' }]);
    const before = await pollUntil(c, (seen) => (seen.get(0)?.length ?? 0) > 0);
    const p0Seen = before.get(0)!.length;
    expect(before.get(0)).toEqual(range(0, 0, p0Seen));
    // Rounds are out or held for p0 beyond what poll() returned: none of them may show after the pause.
    c.pause([P0]);
    expect(c.paused()).toEqual([P0]);
    await send(100, 120);
    const whilePaused = await pollUntil(c, (seen) => before.get(1)!.length + seen.get(1)!.length >= 120);
    expect(whilePaused.get(0)).toEqual([]);
    expect([...before.get(1)!, ...whilePaused.get(1)!]).toEqual(range(1, 0, 120));
    expect(c.position(P0)).toBe(p0Seen);

    c.resume([P0]);
    expect(c.paused()).toEqual([]);
    const after = await pollUntil(c, (seen) => seen.get(0)!.length >= 120 - p0Seen);
    expect(after.get(0)).toEqual(range(0, p0Seen, 120));
    expect(after.get(1)).toEqual([]);
  });

  it('paused inside a for-await loop: the rest of the batch is not handed over, and is read after resume', async () => {
    await twoPartitions(50);
    const c = consumer();
    await c.assign([{ topic: 'orders' }]);
    const seen = new Map<number, string[]>([
      [0, []],
      [1, []],
    ]);
    const handedWhilePaused: string[] = [];
    let resumed = false;
    for await (const m of c) {
      const value = m.value!.toString();
      seen.get(m.partition)!.push(value);
      if (c.paused().length > 0 && m.partition === 0) handedWhilePaused.push(value);
      if (m.partition === 0 && m.offset === 2 && !resumed) c.pause([P0]);
      if (seen.get(1)!.length === 50 && !resumed) {
        c.resume([P0]);
        resumed = true;
      }
      if (seen.get(0)!.length === 50 && seen.get(1)!.length === 50) break;
    }
    expect(handedWhilePaused).toEqual([]);
    // p0 is whole and in order: what the pause left behind in the batch was read after the resume.
    expect(seen.get(0)).toEqual(range(0, 0, 50));
    expect(seen.get(1)).toEqual(range(1, 0, 50));
  });

  it('all partitions paused: poll() long-polls and returns nothing', async () => {
    await twoPartitions(10);
    const c = consumer();
    await c.assign([{ topic: 'orders' }]);
    c.pause([P0, P1]);
    for (let i = 0; i < 3; i++) expect(await c.poll()).toEqual([]);
    c.resume([P1]);
    const seen = await pollUntil(c, (s) => s.get(1)!.length >= 10);
    expect(seen.get(1)).toEqual(range(1, 0, 10));
    expect(seen.get(0)).toEqual([]);
  });

  it('a partition not assigned is refused, and then none of the list is paused', async () => {
    await twoPartitions(10);
    const c = consumer();
    await c.assign([P0]);
    expect(() => c.pause([P0, P1])).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }));
    expect(c.paused()).toEqual([]);
    expect(() => c.resume([P1])).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }));
  });
});
