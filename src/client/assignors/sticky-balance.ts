/**
 * The sticky target assignment: every partition to exactly one member subscribed to its topic, keeping as
 * much valid ownership as the balance goal allows. Pure; members arrive in Kafka's member order and every
 * tie is broken by that order or by (topic, partition), so the result is deterministic.
 *
 * Equal subscriptions (balanceEqualSubscriptions): counts are `floor(P / M)` or one more, and the number of
 * partitions taken from their owner is the minimum possible: each member keeps `min(owned, quota)`, and
 * the `P % M` one-extra quotas go to members that own more than `floor(P / M)` first.
 *
 * Mixed subscriptions (balanceMixedSubscriptions): all valid ownership is kept, unowned partitions go to the
 * least-loaded subscriber (partitions with the fewest possible subscribers first), then single moves are
 * made while some partition's holder has at least two more partitions than another member subscribed to
 * its topic, preferring partitions nobody owned. The result is locally balanced: no such move remains, so
 * members with identical subscriptions differ by at most one. It is not always the global optimum, and a
 * move of an owned partition is not always the minimum needed (Kafka's general sticky algorithm is also a
 * heuristic there).
 */
import { invariant } from '../../errors/index.js';
import { compareTopicPartitions, type TopicPartition, topicPartitionKey } from './types.js';

export function balanceEqualSubscriptions(
  memberIds: readonly string[],
  all: readonly TopicPartition[],
  owned: ReadonlyMap<string, readonly TopicPartition[]>,
): Map<string, TopicPartition[]> {
  const floor = Math.floor(all.length / memberIds.length);
  let extraLeft = all.length % memberIds.length;
  const result = new Map<string, TopicPartition[]>(memberIds.map((id) => [id, []]));
  const taken = new Set<string>();
  // Members owning the most claim the one-extra quotas first: each such grant saves one move.
  const byOwnedDesc = [...memberIds].sort((a, b) => owned.get(b)!.length - owned.get(a)!.length);
  for (const id of byOwnedDesc) {
    const mine = [...owned.get(id)!].sort(compareTopicPartitions);
    let quota = floor;
    if (mine.length > floor && extraLeft > 0) {
      quota = floor + 1;
      extraLeft--;
    }
    for (const tp of mine.slice(0, quota)) {
      result.get(id)!.push(tp);
      taken.add(topicPartitionKey(tp));
    }
  }
  // Deal the rest round robin: first up to the floor, then the remaining one-extra quotas.
  const rest = all.filter((tp) => !taken.has(topicPartitionKey(tp)));
  let cursor = 0;
  for (const tp of rest) {
    let chosen: string | undefined;
    for (const cap of [floor, floor + 1]) {
      for (let i = 0; i < memberIds.length && chosen === undefined; i++) {
        const id = memberIds[(cursor + i) % memberIds.length]!;
        if (result.get(id)!.length < cap) {
          chosen = id;
          cursor = (cursor + i + 1) % memberIds.length;
        }
      }
      if (chosen !== undefined) break;
    }
    invariant(chosen !== undefined, 'equal-subscription quotas leave no room for a partition');
    if (result.get(chosen)!.length === floor) {
      invariant(extraLeft > 0, 'more one-extra quotas used than partitions % members');
      extraLeft--;
    }
    result.get(chosen)!.push(tp);
  }
  return result;
}

export function balanceMixedSubscriptions(
  memberIds: readonly string[],
  topicsOf: ReadonlyMap<string, readonly string[]>,
  all: readonly TopicPartition[],
  owned: ReadonlyMap<string, readonly TopicPartition[]>,
): Map<string, TopicPartition[]> {
  const rank = new Map(memberIds.map((id, i) => [id, i]));
  const subscribers = new Map<string, string[]>();
  for (const id of memberIds) {
    for (const topic of topicsOf.get(id)!) {
      const list = subscribers.get(topic) ?? [];
      list.push(id);
      subscribers.set(topic, list);
    }
  }
  // Per member, partitions grouped by topic; counts are what balance is about.
  const holding = new Map<string, Map<string, TopicPartition[]>>(memberIds.map((id) => [id, new Map()]));
  const counts = new Map<string, number>(memberIds.map((id) => [id, 0]));
  const ownedBy = new Map<string, string>();
  const give = (id: string, tp: TopicPartition): void => {
    const byTopic = holding.get(id)!;
    const list = byTopic.get(tp.topic) ?? [];
    list.push(tp);
    byTopic.set(tp.topic, list);
    counts.set(id, counts.get(id)! + 1);
  };
  const leastLoaded = (topic: string): string | undefined => {
    let best: string | undefined;
    for (const id of subscribers.get(topic) ?? []) {
      if (best === undefined || counts.get(id)! < counts.get(best)!) best = id;
    }
    return best;
  };

  for (const [id, partitions] of owned) {
    for (const tp of partitions) {
      ownedBy.set(topicPartitionKey(tp), id);
      give(id, tp);
    }
  }
  const fewestChoicesFirst = all
    .filter((tp) => !ownedBy.has(topicPartitionKey(tp)))
    .sort(
      (a, b) =>
        subscribers.get(a.topic)!.length - subscribers.get(b.topic)!.length || compareTopicPartitions(a, b),
    );
  for (const tp of fewestChoicesFirst) {
    const id = leastLoaded(tp.topic);
    invariant(id !== undefined, () => `no subscriber for ${tp.topic}`);
    give(id, tp);
  }

  // Single moves until locally balanced. Each move lowers the sum of squared counts, so this terminates.
  const findMove = (freshOnly: boolean): { from: string; to: string; tp: TopicPartition } | undefined => {
    const byLoadDesc = [...memberIds].sort(
      (a, b) => counts.get(b)! - counts.get(a)! || rank.get(a)! - rank.get(b)!,
    );
    const minCount = counts.get(byLoadDesc.at(-1)!)!;
    // Counts do not change during one search, so each topic's least-loaded subscriber is computed once.
    const leastByTopic = new Map<string, string | undefined>();
    for (const from of byLoadDesc) {
      // Sorted by load: once no member is two below this one, none is for the rest either.
      if (counts.get(from)! - 2 < minCount) break;
      const byTopic = holding.get(from)!;
      for (const topic of [...byTopic.keys()].sort()) {
        if (!leastByTopic.has(topic)) leastByTopic.set(topic, leastLoaded(topic));
        // If `from` is itself the least loaded, nobody subscribed to the topic is two below it.
        const to = leastByTopic.get(topic);
        if (to === undefined || to === from || counts.get(to)! > counts.get(from)! - 2) continue;
        const candidates = byTopic
          .get(topic)!
          .filter((tp) => !freshOnly || ownedBy.get(topicPartitionKey(tp)) !== from);
        const tp = candidates.sort(compareTopicPartitions).at(-1);
        if (tp !== undefined) return { from, to, tp };
      }
    }
    return undefined;
  };
  for (;;) {
    const move = findMove(true) ?? findMove(false);
    if (move === undefined) break;
    const list = holding.get(move.from)!.get(move.tp.topic)!;
    list.splice(list.indexOf(move.tp), 1);
    if (list.length === 0) holding.get(move.from)!.delete(move.tp.topic);
    counts.set(move.from, counts.get(move.from)! - 1);
    give(move.to, move.tp);
  }

  return new Map(memberIds.map((id) => [id, [...holding.get(id)!.values()].flat()]));
}
