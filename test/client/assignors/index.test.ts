import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ASSIGNORS,
  assignorByName,
  DEFAULT_ASSIGNORS,
  reconcileAssignment,
  type TopicPartition,
  topicPartitionKey,
} from '../../../src/client/assignors/index.js';
import { isStreamBusError } from '../../../src/errors/index.js';
import { numRuns, seed, tp } from './helpers.js';

describe('assignor registry', () => {
  it('registers each assignor under the name it advertises, with its rebalance protocol', () => {
    expect(Object.keys(ASSIGNORS).sort()).toEqual(['cooperative-sticky', 'range', 'roundrobin']);
    for (const [name, assignor] of Object.entries(ASSIGNORS)) expect(assignor.name).toBe(name);
    expect(ASSIGNORS['cooperative-sticky']!.rebalanceProtocol).toBe('cooperative');
    expect(ASSIGNORS.range!.rebalanceProtocol).toBe('eager');
    expect(ASSIGNORS.roundrobin!.rebalanceProtocol).toBe('eager');
  });

  it('prefers cooperative-sticky then range by default, and every default resolves', () => {
    expect(DEFAULT_ASSIGNORS).toEqual(['cooperative-sticky', 'range']);
    for (const name of DEFAULT_ASSIGNORS) expect(assignorByName(name).name).toBe(name);
  });

  it('rejects an unknown assignor name with INVALID_CONFIG listing the known ones', () => {
    for (const name of ['sticky', 'toString', '__proto__', '']) {
      try {
        assignorByName(name);
        expect.fail(`resolved ${name}`);
      } catch (err) {
        expect(isStreamBusError(err, 'INVALID_CONFIG')).toBe(true);
        expect((err as Error).message).toContain('cooperative-sticky, range, roundrobin');
      }
    }
  });
});

describe('reconcileAssignment', () => {
  const owned = [tp('t', 0), tp('t', 1), tp('u', 0)];
  const assigned = [tp('t', 1), tp('t', 2)];

  it('eager: revokes everything owned and starts the whole new assignment', () => {
    expect(reconcileAssignment(owned, assigned, 'eager')).toEqual({
      revoked: owned,
      added: assigned,
      kept: [],
      rejoin: false,
    });
  });

  it('cooperative: revokes only what is no longer assigned, and rejoins when it revoked something', () => {
    expect(reconcileAssignment(owned, assigned, 'cooperative')).toEqual({
      revoked: [tp('t', 0), tp('u', 0)],
      added: [tp('t', 2)],
      kept: [tp('t', 1)],
      rejoin: true,
    });
    expect(reconcileAssignment([tp('t', 1)], assigned, 'cooperative').rejoin).toBe(false);
  });

  it('cooperative: kept and added make up the assignment, kept and revoked make up what was owned', () => {
    const listArb = fc
      .array(fc.tuple(fc.constantFrom('a', 'b'), fc.nat(5)))
      .map((pairs) => pairs.map(([topic, partition]) => tp(topic, partition)));
    const keys = (list: TopicPartition[]) => [...new Set(list.map(topicPartitionKey))].sort();
    fc.assert(
      fc.property(listArb, listArb, (before, after) => {
        const r = reconcileAssignment(before, after, 'cooperative');
        expect(keys([...r.kept, ...r.added])).toEqual(keys(after));
        expect(keys([...r.kept, ...r.revoked])).toEqual(keys(before));
        expect(r.kept.length + r.added.length).toBe(keys(after).length);
        expect(r.rejoin).toBe(r.revoked.length > 0);
      }),
      { seed, numRuns },
    );
  });
});
