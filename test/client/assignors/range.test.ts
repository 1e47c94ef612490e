import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RangeAssignor } from '../../../src/client/assignors/range.js';
import {
  expectComplete,
  member,
  membersArb,
  numRuns,
  partitionsArb,
  render,
  seed,
  shuffled,
} from './helpers.js';

const range = new RangeAssignor();

describe('RangeAssignor matches Kafka documented results', () => {
  it('2 members, 2 topics of 3 partitions: the first member gets the extra partition of each topic', () => {
    // Kafka RangeAssignor javadoc: C0: [t0p0, t0p1, t1p0, t1p1], C1: [t0p2, t1p2].
    const result = range.assign(
      [member('C1', ['t0', 't1']), member('C0', ['t0', 't1'])],
      new Map([
        ['t0', 3],
        ['t1', 3],
      ]),
    );
    expect(render(result)).toEqual({ C0: ['t0-0', 't0-1', 't1-0', 't1-1'], C1: ['t0-2', 't1-2'] });
  });

  it('orders static members by group instance id ahead of dynamic members', () => {
    const result = range.assign(
      [
        member('a', ['t']),
        member('b', ['t'], [], -1, 'z-instance'),
        member('c', ['t'], [], -1, 'y-instance'),
      ],
      new Map([['t', 4]]),
    );
    expect(render(result)).toEqual({ c: ['t-0', 't-1'], b: ['t-2'], a: ['t-3'] });
  });

  it('ignores unknown topics and gives every member an entry, even an empty one', () => {
    const result = range.assign(
      [member('a', ['t', 'missing']), member('b', ['missing'])],
      new Map([['t', 2]]),
    );
    expect(render(result)).toEqual({ a: ['t-0', 't-1'], b: [] });
  });

  it('splits only among the members subscribed to each topic', () => {
    const result = range.assign(
      [member('a', ['x']), member('b', ['x', 'y']), member('c', ['y'])],
      new Map([
        ['x', 3],
        ['y', 3],
      ]),
    );
    expect(render(result)).toEqual({ a: ['x-0', 'x-1'], b: ['x-2', 'y-0', 'y-1'], c: ['y-2'] });
  });
});

describe('RangeAssignor properties', () => {
  it('assigns every subscribed partition once, to a subscriber, in contiguous per-topic ranges of balanced size', () => {
    fc.assert(
      fc.property(membersArb(false), partitionsArb, (members, ppt) => {
        const result = range.assign(members, ppt);
        expectComplete(result, members, ppt);
        for (const [topic, n] of ppt) {
          const sizes: number[] = [];
          for (const list of result.values()) {
            const mine = list.filter((x) => x.topic === topic).map((x) => x.partition);
            if (mine.length === 0) continue;
            expect(mine).toEqual(Array.from({ length: mine.length }, (_, i) => mine[0]! + i));
            sizes.push(mine.length);
          }
          if (sizes.length > 0) {
            expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
            expect(sizes.reduce((s, x) => s + x, 0)).toBe(n);
          }
        }
      }),
      { seed, numRuns },
    );
  });

  it('is deterministic whatever the order of members in the input', () => {
    fc.assert(
      fc.property(
        membersArb(false).chain((members) => fc.tuple(fc.constant(members), shuffled(members))),
        partitionsArb,
        ([members, reordered], ppt) => {
          expect(range.assign(reordered, ppt)).toEqual(range.assign(members, ppt));
        },
      ),
      { seed, numRuns },
    );
  });
});
