/**
 * `for await (const m of consumer)` left early: poll() fetches a whole batch, but the loop only saw the
 * messages handed over before its `break` (or throw, or close()). Positions, and therefore every commit, must
 * stop there: the rest is read again, by this consumer's next poll() or by the group's next member. It used
 * to commit the whole batch and lose the messages never handed over.
 */
import { describe, expect, it } from 'vitest';
import type { StreamBusClient } from '../../src/index.js';
import { perTestBroker } from '../helpers/in-process-broker.js';

const GROUP = { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 5_000 };
const TP = { topic: 'orders', partition: 0 };

const { start, client } = perTestBroker();

/** A broker with `orders` (one partition) holding m0..m49, written as one batch so one poll gets them all. */
async function fiftyInOneBatch(): Promise<void> {
  await start({ 'groups.initial_rebalance_delay': 100 });
  await client().admin().createTopic({ name: 'orders', partitions: 1 });
  const producer = client().producer({ lingerMs: 0 });
  await producer.send({
    topic: 'orders',
    messages: Array.from({ length: 50 }, (_, i) => ({ value: `m${i}`, partition: 0 })),
  });
}

function groupMember(groupId: string) {
  const member = client().consumer({
    autoOffsetReset: 'earliest',
    maxWaitMs: 100,
    group: { groupId, ...GROUP },
  });
  member.subscribe(['orders']);
  return member;
}

async function nextValues(consumer: ReturnType<StreamBusClient['consumer']>): Promise<string[]> {
  for (let i = 0; i < 50; i++) {
    const messages = await consumer.poll();
    if (messages.length > 0) return messages.map((m) => m.value!.toString());
  }
  throw new Error('nothing polled');
}

describe('the consumer async iterator left early', () => {
  it('without a group: the position is after the last message handed over; the next poll() goes on from there', async () => {
    await fiftyInOneBatch();
    const consumer = client().consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    await consumer.assign([{ topic: 'orders' }]);
    const seen: string[] = [];
    for await (const m of consumer) {
      seen.push(m.value!.toString());
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['m0', 'm1', 'm2']);
    expect(consumer.position(TP)).toBe(3);
    const rest = await nextValues(consumer);
    expect(rest[0]).toBe('m3');
    await consumer.close();
  });

  it('a group member that breaks and closes commits only what it was handed; the next member reads the rest', async () => {
    await fiftyInOneBatch();
    const first = groupMember('g-break');
    let count = 0;
    for await (const _ of first) if (++count === 3) break;
    await first.close(); // auto-commit of its positions
    const second = groupMember('g-break');
    expect(await second.committed([TP])).toEqual([{ ...TP, offset: 3, metadata: '' }]);
    expect((await nextValues(second))[0]).toBe('m3');
  });

  it('a throw out of the loop body counts the message being handled as handed over, no more', async () => {
    await fiftyInOneBatch();
    const member = groupMember('g-throw');
    let count = 0;
    await expect(
      (async () => {
        for await (const _ of member) if (++count === 5) throw new Error('handler failed');
      })(),
    ).rejects.toThrow('handler failed');
    await member.commit();
    expect(await member.committed([TP])).toEqual([{ ...TP, offset: 5, metadata: '' }]);
    await member.close();
  });

  it('close() from inside the loop commits the position of the message in hand', async () => {
    await fiftyInOneBatch();
    const member = groupMember('g-close');
    let count = 0;
    for await (const _ of member) if (++count === 7) await member.close();
    const next = groupMember('g-close');
    expect(await next.committed([TP])).toEqual([{ ...TP, offset: 7, metadata: '' }]);
  });

  it('iterating to the end of a batch moves the position past it, as poll() does', async () => {
    await fiftyInOneBatch();
    const consumer = client().consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    await consumer.assign([{ topic: 'orders' }]);
    let count = 0;
    for await (const _ of consumer) if (++count === 50) break;
    expect(consumer.position(TP)).toBe(50);
    await consumer.close();
  });
});
