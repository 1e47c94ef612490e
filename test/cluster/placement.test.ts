import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeTopic } from '../../src/cluster/placement.js';
import type { PlacementStrategy } from '../../src/cluster/types.js';
import { isStreamBusError } from '../../src/errors/index.js';
import { arbBrokers, broker, brokers, propertySeed, topic, view } from './helpers.js';

const STRATEGIES: readonly PlacementStrategy[] = ['round-robin', 'rack-aware', 'capacity-aware'];

function counts(lists: readonly (readonly number[])[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of lists) for (const id of l) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

function spread(m: ReadonlyMap<number, number>, ids: readonly number[]): number {
  const values = ids.map((id) => m.get(id) ?? 0);
  return Math.max(...values) - Math.min(...values);
}

describe('placeTopic', () => {
  it('round-robin on 3 brokers, RF 3, 6 partitions: every broker holds 6 replicas and leads 2', () => {
    const placed = placeTopic(view({ brokers: brokers([1, 2, 3]) }), {
      topic: 'orders',
      partitions: 6,
      replicationFactor: 3,
      strategy: 'round-robin',
      startIndex: 0,
    });
    expect(placed.partitions.map((p) => p.leader)).toEqual([1, 2, 3, 1, 2, 3]);
    expect([...counts(placed.partitions.map((p) => p.replicas)).values()]).toEqual([6, 6, 6]);
  });

  it('different topics start on different brokers so leaders of single-partition topics spread', () => {
    const v = view({ brokers: brokers([1, 2, 3, 4, 5]) });
    const leaders = new Set(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map(
        (name) =>
          placeTopic(v, { topic: name, partitions: 1, replicationFactor: 1, strategy: 'round-robin' })
            .partitions[0]?.leader,
      ),
    );
    expect(leaders.size).toBeGreaterThan(2);
  });

  it('rejects a replication factor larger than the number of alive brokers with INVALID_REPLICATION_FACTOR', () => {
    const v = view({
      brokers: [broker(1), broker(2), broker(3, { state: 'draining' }), broker(4, { state: 'failed' })],
    });
    for (const strategy of STRATEGIES) {
      let caught: unknown;
      try {
        placeTopic(v, { topic: 't', partitions: 1, replicationFactor: 3, strategy });
      } catch (err) {
        caught = err;
      }
      expect(isStreamBusError(caught, 'INVALID_REPLICATION_FACTOR')).toBe(true);
    }
  });

  it('rejects zero partitions with INVALID_PARTITIONS', () => {
    expect(() =>
      placeTopic(view({ brokers: brokers([1]) }), {
        topic: 't',
        partitions: 0,
        replicationFactor: 1,
        strategy: 'round-robin',
      }),
    ).toThrow(/partitions/);
  });

  it('rack-aware with 3 racks and RF 3 puts each partition on three racks', () => {
    const v = view({
      brokers: [1, 2, 3, 4, 5, 6].map((id) =>
        broker(id, { rack: ['a', 'a', 'a', 'b', 'b', 'c'][id - 1] ?? null }),
      ),
    });
    const placed = placeTopic(v, {
      topic: 't',
      partitions: 12,
      replicationFactor: 3,
      strategy: 'rack-aware',
    });
    const rackOf = new Map(v.brokers.map((b) => [b.id, b.rack]));
    for (const p of placed.partitions) expect(new Set(p.replicas.map((id) => rackOf.get(id))).size).toBe(3);
  });

  it('capacity-aware gives a double-capacity broker about twice the replicas', () => {
    const v = view({ brokers: [broker(1), broker(2), broker(3, { capacityWeight: 2 })] });
    const placed = placeTopic(v, {
      topic: 't',
      partitions: 20,
      replicationFactor: 2,
      strategy: 'capacity-aware',
    });
    const c = counts(placed.partitions.map((p) => p.replicas));
    // Fair shares are 20 / 10 / 10; whole replicas may land within one of them.
    expect(Math.abs((c.get(3) ?? 0) - 20)).toBeLessThanOrEqual(1);
    expect(Math.abs((c.get(1) ?? 0) - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs((c.get(2) ?? 0) - 10)).toBeLessThanOrEqual(1);
  });

  it('capacity-aware fills an empty new broker first when the others already hold replicas', () => {
    const v = view({
      brokers: brokers([1, 2, 3, 4]),
      topics: [
        topic('old', [
          [1, 2],
          [2, 3],
          [3, 1],
          [1, 2],
        ]),
      ],
    });
    const placed = placeTopic(v, {
      topic: 't',
      partitions: 2,
      replicationFactor: 1,
      strategy: 'capacity-aware',
    });
    expect(placed.partitions.map((p) => p.leader)).toEqual([4, 4]);
  });

  it('properties: distinct eligible brokers, leader first, round-robin balanced within 1, racks distinct when possible', () => {
    const seed = propertySeed('placement property');
    fc.assert(
      fc.property(
        arbBrokers({ min: 1, max: 9, racks: true, capacities: false }),
        fc.array(
          fc.constantFrom(
            'alive',
            'alive',
            'alive',
            'draining',
            'failed',
            'starting',
            'decommissioned' as const,
          ),
          {
            minLength: 9,
            maxLength: 9,
          },
        ),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(...STRATEGIES),
        fc.string({ minLength: 1, maxLength: 8 }),
        (bs, states, partitions, rf, strategy, name) => {
          const all = bs.map((b, i) => ({ ...b, state: states[i] ?? 'alive' }));
          const eligible = all.filter((b) => b.state === 'alive');
          const v = view({ brokers: all });
          if (rf > eligible.length) {
            expect(() =>
              placeTopic(v, { topic: name, partitions, replicationFactor: rf, strategy }),
            ).toThrow();
            return;
          }
          const placed = placeTopic(v, { topic: name, partitions, replicationFactor: rf, strategy });
          const eligibleIds = eligible.map((b) => b.id);
          const rackOf = new Map(all.map((b) => [b.id, b.rack]));
          const racks = new Set(eligible.map((b) => b.rack)).size;
          expect(placed.partitions).toHaveLength(partitions);
          for (const p of placed.partitions) {
            expect(p.replicas).toHaveLength(rf);
            expect(new Set(p.replicas).size).toBe(rf);
            for (const id of p.replicas) expect(eligibleIds).toContain(id);
            expect(p.leader).toBe(p.replicas[0]);
            if (strategy === 'rack-aware') {
              const distinct = new Set(p.replicas.map((id) => rackOf.get(id))).size;
              expect(distinct).toBe(Math.min(rf, racks));
            }
          }
          const replicaCounts = counts(placed.partitions.map((p) => p.replicas));
          const leaderCounts = counts(placed.partitions.map((p) => [p.leader]));
          if (strategy === 'round-robin') {
            expect(spread(replicaCounts, eligibleIds)).toBeLessThanOrEqual(1);
          }
          if (strategy !== 'capacity-aware') expect(spread(leaderCounts, eligibleIds)).toBeLessThanOrEqual(1);
        },
      ),
      { seed, numRuns: 500 },
    );
  });

  it('rack-aware (the default strategy) places exactly as round-robin when no broker has a rack', () => {
    const seed = propertySeed('rack-aware without racks');
    fc.assert(
      fc.property(
        arbBrokers({ min: 1, max: 9, racks: false, capacities: false }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.string({ minLength: 1, maxLength: 8 }),
        (bs, partitions, rf, name) => {
          fc.pre(rf <= bs.length);
          const v = view({ brokers: bs });
          const place = (strategy: PlacementStrategy) =>
            placeTopic(v, { topic: name, partitions, replicationFactor: rf, strategy }).partitions;
          expect(place('rack-aware')).toEqual(place('round-robin'));
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
