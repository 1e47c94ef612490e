/** Shared generators and checkers for the assignor tests. */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { MemberSubscription, TopicPartition } from '../../../src/client/assignors/index.js';
import { topicPartitionKey } from '../../../src/client/assignors/index.js';

export const seed = Number(process.env.SEED ?? Date.now() % 2 ** 31);
console.log('assignor property seed', seed);
export const numRuns = Number(process.env.NUM_RUNS ?? 200);

export function tp(topic: string, partition: number): TopicPartition {
  return { topic, partition };
}

export function member(
  memberId: string,
  topics: string[],
  ownedPartitions: TopicPartition[] = [],
  generation = -1,
  groupInstanceId: string | null = null,
): MemberSubscription {
  return { memberId, groupInstanceId, subscription: { topics, ownedPartitions, generation } };
}

/** `{ m0: ['t0-0', ...] }`: compact and readable in example tests. */
export function render(result: Map<string, TopicPartition[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, list] of result) out[id] = list.map((x) => `${x.topic}-${x.partition}`);
  return out;
}

export const TOPICS = ['a', 'b', 'c', 'd'];

/** Partition counts for the known topics (some empty); 'zz' is never in the map (an unknown topic). */
export const partitionsArb: fc.Arbitrary<Map<string, number>> = fc
  .tuple(...TOPICS.map(() => fc.integer({ min: 0, max: 9 })))
  .map((counts) => new Map(TOPICS.map((t, i) => [t, counts[i]!])));

const topicSetArb = fc.subarray([...TOPICS, 'zz'], { minLength: 1 });

/** Members m0..mN with optional unique static ids, no ownership; `shared` gives everyone one subscription. */
export function membersArb(shared: boolean, maxMembers = 7): fc.Arbitrary<MemberSubscription[]> {
  return fc
    .integer({ min: 1, max: maxMembers })
    .chain((n) =>
      fc
        .tuple(
          shared
            ? topicSetArb.map((topics) => Array.from({ length: n }, () => topics))
            : fc.array(topicSetArb, { minLength: n, maxLength: n }),
          fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        )
        .map(([subs, isStatic]) =>
          subs.map((topics, i) =>
            member(`m${i}`, [...topics], [], -1, isStatic[i] ? `static-${n - i}` : null),
          ),
        ),
    );
}

/** The same members in a random order. */
export function shuffled<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  return fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
}

/** Every partition of the subscribed, existing topics. */
export function allSubscribedPartitions(
  members: readonly MemberSubscription[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): TopicPartition[] {
  const topics = new Set(members.flatMap((m) => m.subscription.topics));
  const out: TopicPartition[] = [];
  for (const topic of [...topics].sort()) {
    for (let p = 0; p < (partitionsPerTopic.get(topic) ?? 0); p++) out.push(tp(topic, p));
  }
  return out;
}

/** Each member only gets partitions of topics it subscribes to that exist, with no partition given twice. */
export function expectSafe(
  result: Map<string, TopicPartition[]>,
  members: readonly MemberSubscription[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): void {
  expect([...result.keys()].sort()).toEqual(members.map((m) => m.memberId).sort());
  const seen = new Set<string>();
  for (const m of members) {
    for (const x of result.get(m.memberId)!) {
      expect(m.subscription.topics).toContain(x.topic);
      expect(x.partition).toBeLessThan(partitionsPerTopic.get(x.topic) ?? 0);
      const key = topicPartitionKey(x);
      expect(seen.has(key), `${key} assigned twice`).toBe(false);
      seen.add(key);
    }
  }
}

/** Safe, and every partition of every subscribed topic is assigned. */
export function expectComplete(
  result: Map<string, TopicPartition[]>,
  members: readonly MemberSubscription[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): void {
  expectSafe(result, members, partitionsPerTopic);
  const assigned = [...result.values()].flat().map(topicPartitionKey).sort();
  expect(assigned).toEqual(
    allSubscribedPartitions(members, partitionsPerTopic).map(topicPartitionKey).sort(),
  );
}

export function counts(result: Map<string, TopicPartition[]>): number[] {
  return [...result.values()].map((l) => l.length);
}

export function spread(result: Map<string, TopicPartition[]>): number {
  const c = counts(result);
  return Math.max(...c) - Math.min(...c);
}
