import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CooperativeStickyAssignor } from '../../../src/client/assignors/cooperative-sticky.js';
import {
  type MemberSubscription,
  reconcileAssignment,
  type TopicPartition,
  topicPartitionKey,
} from '../../../src/client/assignors/index.js';
import {
  allSubscribedPartitions,
  counts,
  expectComplete,
  expectSafe,
  member,
  membersArb,
  numRuns,
  partitionsArb,
  render,
  seed,
  shuffled,
  spread,
  tp,
} from './helpers.js';

const sticky = new CooperativeStickyAssignor();
type Ppt = ReadonlyMap<string, number>;

/** What each member owns after acting on a cooperative assignment: kept + added, at the next generation. */
function afterRound(
  members: readonly MemberSubscription[],
  result: Map<string, TopicPartition[]>,
  generation: number,
) {
  return members.map((m) => {
    const r = reconcileAssignment(m.subscription.ownedPartitions, result.get(m.memberId)!, 'cooperative');
    return {
      ...m,
      subscription: { ...m.subscription, ownedPartitions: [...r.kept, ...r.added], generation },
    };
  });
}

function revokesAnything(
  members: readonly MemberSubscription[],
  result: Map<string, TopicPartition[]>,
): boolean {
  return members.some(
    (m) => reconcileAssignment(m.subscription.ownedPartitions, result.get(m.memberId)!, 'cooperative').rejoin,
  );
}

/** Rebalances until a round revokes nothing (the group is stable); fails if that takes more than maxRounds. */
function settle(members: readonly MemberSubscription[], ppt: Ppt, maxRounds = 6) {
  let current = [...members];
  for (let round = 1; round <= maxRounds; round++) {
    const result = sticky.assign(current, ppt);
    expectSafe(result, current, ppt);
    const revoked = revokesAnything(current, result);
    current = afterRound(current, result, round);
    if (!revoked) return { members: current, result, rounds: round };
  }
  throw new Error(`no stable assignment after ${maxRounds} rounds`);
}

function kept(before: readonly MemberSubscription[], result: Map<string, TopicPartition[]>): number {
  let n = 0;
  for (const m of before) {
    const now = new Set(result.get(m.memberId)?.map(topicPartitionKey));
    n += m.subscription.ownedPartitions.filter((x) => now.has(topicPartitionKey(x))).length;
  }
  return n;
}

/** The most ownership any balanced assignment keeps: quotas floor(P/M) or +1, extras to the biggest owners. */
function maxKeepable(ownedCounts: number[], partitions: number): number {
  const floor = Math.floor(partitions / ownedCounts.length);
  const extra = partitions % ownedCounts.length;
  const big = ownedCounts.filter((c) => c > floor).length;
  return ownedCounts.reduce((s, c) => s + Math.min(c, floor), 0) + Math.min(extra, big);
}

/** Random (possibly conflicting, stale or invalid) ownership claims and generations for the members. */
function withRandomClaims(members: MemberSubscription[]): fc.Arbitrary<MemberSubscription[]> {
  const claimArb = fc.record({ topic: fc.constantFrom('a', 'b', 'c', 'd', 'zz'), partition: fc.nat(11) });
  return fc
    .tuple(
      fc.array(fc.array(claimArb, { maxLength: 8 }), {
        minLength: members.length,
        maxLength: members.length,
      }),
      fc.array(fc.integer({ min: -1, max: 3 }), { minLength: members.length, maxLength: members.length }),
    )
    .map(([claims, gens]) =>
      members.map((m, i) => ({
        ...m,
        subscription: { ...m.subscription, ownedPartitions: claims[i]!, generation: gens[i]! },
      })),
    );
}

/** Valid, disjoint ownership: a random subset of the partitions, each owned by a random subscriber. */
function withValidOwnership(members: MemberSubscription[], ppt: Ppt): fc.Arbitrary<MemberSubscription[]> {
  const all = allSubscribedPartitions(members, ppt);
  return fc
    .array(fc.option(fc.nat(members.length - 1), { nil: undefined }), {
      minLength: all.length,
      maxLength: all.length,
    })
    .map((owners) =>
      members.map((m, i) => ({
        ...m,
        subscription: {
          ...m.subscription,
          generation: 1,
          ownedPartitions: all.filter((x, j) => owners[j] === i && m.subscription.topics.includes(x.topic)),
        },
      })),
    );
}

describe('CooperativeStickyAssignor examples', () => {
  const ppt = new Map([['t', 6]]);

  it('keeps what members own when it is already balanced', () => {
    const members = [
      member('a', ['t'], [tp('t', 4), tp('t', 5), tp('t', 0)], 3),
      member('b', ['t'], [tp('t', 1), tp('t', 2), tp('t', 3)], 3),
    ];
    expect(render(sticky.assign(members, ppt))).toEqual({
      a: ['t-0', 't-4', 't-5'],
      b: ['t-1', 't-2', 't-3'],
    });
  });

  it('withholds a partition moving to a new member until its owner has revoked it (KIP-429)', () => {
    const owns = [0, 1, 2, 3, 4, 5].map((p) => tp('t', p));
    const round1 = sticky.assign([member('a', ['t'], owns, 1), member('b', ['t'])], ppt);
    expect(render(round1)).toEqual({ a: ['t-0', 't-1', 't-2'], b: [] });
    const round2 = sticky.assign([member('a', ['t'], round1.get('a')!, 2), member('b', ['t'], [], 2)], ppt);
    expect(render(round2)).toEqual({ a: ['t-0', 't-1', 't-2'], b: ['t-3', 't-4', 't-5'] });
  });

  it('lets the newer generation keep a partition claimed twice, and withholds it from everyone on a tie', () => {
    const newer = sticky.assign(
      [member('a', ['t'], [tp('t', 0)], 4), member('b', ['t'], [tp('t', 0)], 5), member('c', ['t'])],
      new Map([['t', 3]]),
    );
    expect(newer.get('b')).toContainEqual(tp('t', 0));
    const tied = sticky.assign(
      [member('a', ['t'], [tp('t', 0)], 5), member('b', ['t'], [tp('t', 0)], 5)],
      new Map([['t', 2]]),
    );
    expect(render(tied)).toEqual({ a: [], b: ['t-1'] });
  });

  it('drops owned partitions of unsubscribed, unknown or shrunk topics', () => {
    const result = sticky.assign(
      [member('a', ['t'], [tp('t', 0), tp('t', 9), tp('u', 0), tp('gone', 0)], 2), member('b', ['t', 'u'])],
      new Map([
        ['t', 2],
        ['u', 1],
      ]),
    );
    // a still consumes u-0 until it revokes it, so b gets u-0 only in the follow-up round.
    expect(render(result)).toEqual({ a: ['t-0', 't-1'], b: [] });
  });
  it('with mixed subscriptions, balances by moving partitions nobody owned before owned ones', () => {
    // Found by search: moving an owned partition first here would revoke one needlessly.
    const members = [
      member('m0', ['a', 'c', 'd'], [tp('a', 1), tp('a', 4), tp('c', 1)], 1),
      member('m1', ['a', 'b'], [tp('a', 5)], 1),
      member('m2', ['c', 'd'], [tp('d', 1)], 1),
    ];
    const ppt = new Map([
      ['a', 6],
      ['b', 0],
      ['c', 3],
      ['d', 3],
    ]);
    const result = sticky.assign(members, ppt);
    for (const m of members)
      expect(result.get(m.memberId)).toEqual(expect.arrayContaining(m.subscription.ownedPartitions));
    expectComplete(result, members, ppt);
  });
});

describe('CooperativeStickyAssignor properties', () => {
  it('round 1 never hands a partition to a member while another member holds a live claim on it', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(membersArb(false), partitionsArb)
          .chain(([ms, ppt]) => fc.tuple(withRandomClaims(ms), fc.constant(ppt))),
        ([members, ppt]) => {
          const result = sticky.assign(members, ppt);
          expectSafe(result, members, ppt);
          for (const m of members) {
            for (const x of result.get(m.memberId)!) {
              const key = topicPartitionKey(x);
              for (const other of members) {
                if (
                  other === m ||
                  !other.subscription.ownedPartitions.some((o) => topicPartitionKey(o) === key)
                )
                  continue;
                // Another claimant is tolerated only if m itself claims the partition with a newer generation.
                expect(m.subscription.ownedPartitions.map(topicPartitionKey)).toContain(key);
                expect(other.subscription.generation).toBeLessThan(m.subscription.generation);
              }
            }
          }
        },
      ),
      { seed, numRuns },
    );
  });

  it('with one shared subscription, the second round completes a balanced assignment without revoking anything', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(membersArb(true), partitionsArb)
          .chain(([ms, ppt]) => fc.tuple(withRandomClaims(ms), fc.constant(ppt))),
        ([members, ppt]) => {
          const round1 = sticky.assign(members, ppt);
          const after1 = afterRound(members, round1, 10);
          const round2 = sticky.assign(after1, ppt);
          expectComplete(round2, after1, ppt);
          expect(revokesAnything(after1, round2)).toBe(false);
          expect(spread(round2)).toBeLessThanOrEqual(1);
        },
      ),
      { seed, numRuns },
    );
  });

  it('with mixed subscriptions, settles to a complete, locally balanced assignment', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(membersArb(false), partitionsArb)
          .chain(([ms, ppt]) => fc.tuple(withRandomClaims(ms), fc.constant(ppt))),
        ([members, ppt]) => {
          const { result, members: settled } = settle(members, ppt);
          expectComplete(result, settled, ppt);
          const count = new Map([...result].map(([id, l]) => [id, l.length]));
          // No partition could go to a subscriber holding at least two fewer partitions than its holder.
          for (const [holder, list] of result) {
            for (const x of list) {
              for (const other of settled) {
                if (!other.subscription.topics.includes(x.topic)) continue;
                expect(count.get(other.memberId)!).toBeGreaterThanOrEqual(count.get(holder)! - 1);
              }
            }
          }
        },
      ),
      { seed, numRuns },
    );
  });

  it('a settled group that rebalances with nothing changed keeps exactly what it owns', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(membersArb(false), partitionsArb)
          .chain(([ms, ppt]) => fc.tuple(withRandomClaims(ms), fc.constant(ppt))),
        ([members, ppt]) => {
          const stable = settle(members, ppt).members;
          const again = sticky.assign(stable, ppt);
          for (const m of stable) {
            const keys = (list: TopicPartition[]) => list.map(topicPartitionKey).sort();
            expect(keys(again.get(m.memberId)!)).toEqual(keys(m.subscription.ownedPartitions));
          }
        },
      ),
      { seed, numRuns },
    );
  });

  it('is deterministic whatever the order of members in the input', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(membersArb(false), partitionsArb)
          .chain(([ms, ppt]) => fc.tuple(withRandomClaims(ms), fc.constant(ppt)))
          .chain(([ms, ppt]) => fc.tuple(fc.constant(ms), shuffled(ms), fc.constant(ppt))),
        ([members, reordered, ppt]) => {
          expect(sticky.assign(reordered, ppt)).toEqual(sticky.assign(members, ppt));
        },
      ),
      { seed, numRuns },
    );
  });

  it('with one shared subscription, keeps the most ownership any balanced assignment could keep', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(membersArb(true), partitionsArb)
          .chain(([ms, ppt]) => fc.tuple(withValidOwnership(ms, ppt), fc.constant(ppt))),
        ([members, ppt]) => {
          const round1 = sticky.assign(members, ppt);
          const total = allSubscribedPartitions(members, ppt).length;
          const ownedCounts = members.map((m) => m.subscription.ownedPartitions.length);
          expect(kept(members, round1)).toBe(maxKeepable(ownedCounts, total));
        },
      ),
      { seed, numRuns },
    );
  });

  it('when a member leaves, only its partitions move: every remaining member keeps all it owned', () => {
    fc.assert(
      fc.property(
        fc.tuple(membersArb(true), partitionsArb).filter(([ms]) => ms.length >= 2),
        fc.nat(),
        ([members, ppt], pick) => {
          const stable = settle(members, ppt).members;
          const leaver = stable[pick % stable.length]!;
          const remaining = stable.filter((m) => m !== leaver);
          const result = sticky.assign(remaining, ppt);
          for (const m of remaining) {
            const now = result.get(m.memberId)!.map(topicPartitionKey);
            for (const x of m.subscription.ownedPartitions) expect(now).toContain(topicPartitionKey(x));
          }
          // Nobody else owned the leaver's partitions, so one round completes the balanced assignment.
          expectComplete(result, remaining, ppt);
          expect(spread(result)).toBeLessThanOrEqual(1);
        },
      ),
      { seed, numRuns },
    );
  });

  it('when a member joins, existing members give up only their surplus, then round 2 balances', () => {
    fc.assert(
      fc.property(membersArb(true, 6), partitionsArb, ([first, ...rest], ppt) => {
        const stable = settle([first!, ...rest], ppt).members;
        const joiner = member('new-member', [...first!.subscription.topics]);
        const group = [...stable, joiner];
        const round1 = sticky.assign(group, ppt);
        for (const m of stable) {
          const owned = new Set(m.subscription.ownedPartitions.map(topicPartitionKey));
          for (const x of round1.get(m.memberId)!) expect(owned.has(topicPartitionKey(x))).toBe(true);
        }
        const total = allSubscribedPartitions(group, ppt).length;
        const moved = total - kept(stable, round1);
        expect(moved).toBe(
          total - maxKeepable([...stable.map((m) => m.subscription.ownedPartitions.length), 0], total),
        );
        const after1 = afterRound(group, round1, 100);
        const round2 = sticky.assign(after1, ppt);
        expectComplete(round2, after1, ppt);
        expect(spread(round2)).toBeLessThanOrEqual(1);
        expect(counts(round2).reduce((s, c) => s + c, 0)).toBe(total);
      }),
      { seed, numRuns },
    );
  });
});
