import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RoundRobinAssignor } from '../../../src/client/assignors/round-robin.js';
import {
  expectComplete,
  member,
  membersArb,
  numRuns,
  partitionsArb,
  render,
  seed,
  shuffled,
  spread,
} from './helpers.js';

const roundRobin = new RoundRobinAssignor();

describe('RoundRobinAssignor matches Kafka documented results', () => {
  it('2 members, 2 topics of 3 partitions are dealt alternately', () => {
    // Kafka RoundRobinAssignor javadoc: C0: [t0p0, t0p2, t1p1], C1: [t0p1, t1p0, t1p2].
    const result = roundRobin.assign(
      [member('C1', ['t0', 't1']), member('C0', ['t0', 't1'])],
      new Map([
        ['t0', 3],
        ['t1', 3],
      ]),
    );
    expect(render(result)).toEqual({ C0: ['t0-0', 't0-2', 't1-1'], C1: ['t0-1', 't1-0', 't1-2'] });
  });

  it('skips members not subscribed to the topic (Kafka javadoc heterogeneous example)', () => {
    // C0: t0; C1: t0, t1; C2: t0, t1, t2; t0 has 1 partition, t1 2, t2 3.
    const result = roundRobin.assign(
      [member('C0', ['t0']), member('C1', ['t0', 't1']), member('C2', ['t0', 't1', 't2'])],
      new Map([
        ['t0', 1],
        ['t1', 2],
        ['t2', 3],
      ]),
    );
    expect(render(result)).toEqual({ C0: ['t0-0'], C1: ['t1-0'], C2: ['t1-1', 't2-0', 't2-1', 't2-2'] });
  });
});

describe('RoundRobinAssignor properties', () => {
  it('assigns every subscribed partition exactly once, to a member subscribed to its topic', () => {
    fc.assert(
      fc.property(membersArb(false), partitionsArb, (members, ppt) => {
        expectComplete(roundRobin.assign(members, ppt), members, ppt);
      }),
      { seed, numRuns },
    );
  });

  it('balances to within one partition when all members share one subscription', () => {
    fc.assert(
      fc.property(membersArb(true), partitionsArb, (members, ppt) => {
        const result = roundRobin.assign(members, ppt);
        expectComplete(result, members, ppt);
        expect(spread(result)).toBeLessThanOrEqual(1);
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
          expect(roundRobin.assign(reordered, ppt)).toEqual(roundRobin.assign(members, ppt));
        },
      ),
      { seed, numRuns },
    );
  });
});
