/**
 * Cooperative sticky assignor (Kafka's CooperativeStickyAssignor, KIP-429), as a pure function.
 *
 * 1. Ownership: each member's claimed partitions are kept if valid: the topic exists and the member
 *    subscribes to it, the partition exists, and no other member has an equal or newer claim (the claim
 *    with the highest generation wins; a tie at the top means nobody keeps it).
 * 2. Target: a balanced assignment that keeps as much valid ownership as possible (sticky-balance.ts says
 *    what the equal- and mixed-subscription paths each guarantee).
 * 3. Cooperative rule: a partition the target gives to a member while another member still holds a live
 *    claim on it (a claim of the highest generation among its claimants) is left out this round. The owner
 *    sees it missing, revokes it and rejoins; the follow-up rebalance hands it out, because nobody owns it.
 */
import { emptyAssignment, knownTopics, partitionCount, sortAssignment, sortMembers } from './common.js';
import { balanceEqualSubscriptions, balanceMixedSubscriptions } from './sticky-balance.js';
import { type Assignor, type MemberSubscription, type TopicPartition, topicPartitionKey } from './types.js';

interface Claim {
  memberId: string;
  generation: number;
}

export class CooperativeStickyAssignor implements Assignor {
  readonly name = 'cooperative-sticky';
  readonly rebalanceProtocol = 'cooperative' as const;

  assign(
    members: readonly MemberSubscription[],
    partitionsPerTopic: ReadonlyMap<string, number>,
  ): Map<string, TopicPartition[]> {
    const sorted = sortMembers(members);
    if (sorted.length === 0) return new Map();
    const topicsOf = new Map(sorted.map((m) => [m.memberId, knownTopics(m, partitionsPerTopic)]));
    const claims = collectClaims(sorted);
    const owned = validOwnership(sorted, claims, topicsOf, partitionsPerTopic);

    const allTopics = [...new Set([...topicsOf.values()].flat())].sort();
    const all: TopicPartition[] = [];
    for (const topic of allTopics) {
      const n = partitionCount(partitionsPerTopic, topic);
      for (let partition = 0; partition < n; partition++) all.push({ topic, partition });
    }

    const memberIds = sorted.map((m) => m.memberId);
    const first = topicsOf.get(memberIds[0]!)!.join('\u0000');
    const equal = memberIds.every((id) => topicsOf.get(id)!.join('\u0000') === first);
    const target = equal
      ? balanceEqualSubscriptions(memberIds, all, owned)
      : balanceMixedSubscriptions(memberIds, topicsOf, all, owned);

    const result = emptyAssignment(sorted);
    for (const [memberId, partitions] of target) {
      const list = result.get(memberId)!;
      for (const tp of partitions) {
        const live = liveClaimants(claims.get(topicPartitionKey(tp)));
        if (live.every((id) => id === memberId)) list.push(tp);
      }
    }
    return sortAssignment(result);
  }
}

/** Every member's claims, keyed by partition; a member listing a partition twice claims it once. */
function collectClaims(members: readonly MemberSubscription[]): Map<string, Claim[]> {
  const claims = new Map<string, Claim[]>();
  for (const member of members) {
    const mine = new Set<string>();
    for (const tp of member.subscription.ownedPartitions) {
      const key = topicPartitionKey(tp);
      if (mine.has(key)) continue;
      mine.add(key);
      const list = claims.get(key) ?? [];
      list.push({ memberId: member.memberId, generation: member.subscription.generation });
      claims.set(key, list);
    }
  }
  return claims;
}

/** Claimants whose generation is the highest among the partition's claimants: they may still consume it. */
function liveClaimants(claims: readonly Claim[] | undefined): string[] {
  if (claims === undefined || claims.length === 0) return [];
  const newest = Math.max(...claims.map((c) => c.generation));
  return claims.filter((c) => c.generation === newest).map((c) => c.memberId);
}

function validOwnership(
  members: readonly MemberSubscription[],
  claims: ReadonlyMap<string, Claim[]>,
  topicsOf: ReadonlyMap<string, string[]>,
  partitionsPerTopic: ReadonlyMap<string, number>,
): Map<string, TopicPartition[]> {
  const owned = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  for (const member of members) {
    const topics = new Set(topicsOf.get(member.memberId));
    const mine = new Set<string>();
    for (const tp of member.subscription.ownedPartitions) {
      const key = topicPartitionKey(tp);
      if (mine.has(key)) continue;
      mine.add(key);
      if (!topics.has(tp.topic)) continue;
      if (!Number.isInteger(tp.partition) || tp.partition < 0) continue;
      if (tp.partition >= partitionCount(partitionsPerTopic, tp.topic)) continue;
      const live = liveClaimants(claims.get(key));
      if (live.length !== 1 || live[0] !== member.memberId) continue;
      owned.get(member.memberId)!.push({ topic: tp.topic, partition: tp.partition });
    }
  }
  return owned;
}
