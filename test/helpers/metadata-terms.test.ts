/**
 * The election attribution process tests rely on (metadata-terms.ts): a term is started by the broker that
 * logged itself candidate or leader in it, and adopted by the others.
 */
import { describe, expect, it } from 'vitest';
import { leaderOfTerm, metadataRoleChanges, termsStartedElsewhere, termsStoodFor } from './metadata-terms.js';

function roleLine(role: string, leader: number, term: number, group = 'metadata'): string {
  return JSON.stringify({ level: 'info', group, role, leader, term, msg: 'raft role or leader changed' });
}

const started = JSON.stringify({ level: 'info', group: 'metadata', term: 1, msg: 'raft node started' });

describe('metadata terms from broker log lines', () => {
  it("reads only the metadata group's role changes, skipping other groups, other lines and non-JSON", () => {
    const lines = [
      started,
      'not json: raft role or leader changed',
      roleLine('leader', 1, 2, 'orders-0'),
      roleLine('pre-candidate', 0, 1),
      roleLine('follower', 2, 2),
    ];
    expect(metadataRoleChanges(lines)).toEqual([
      { role: 'pre-candidate', leader: 0, term: 1 },
      { role: 'follower', leader: 2, term: 2 },
    ]);
  });

  it('counts a broker as standing for a term when it was candidate or leader in it, never for a pre-vote', () => {
    const lines = [
      roleLine('pre-candidate', 0, 1),
      roleLine('candidate', 0, 2),
      roleLine('follower', 3, 3),
      roleLine('leader', 1, 5), // a single-voter group: follower to leader in one step
    ];
    expect(termsStoodFor(lines)).toEqual([2, 5]);
  });

  it('names the terms the given brokers reached that none of them started', () => {
    const one = [roleLine('follower', 2, 2), roleLine('follower', 0, 4), roleLine('candidate', 0, 5)];
    const two = [roleLine('leader', 2, 2), roleLine('follower', 0, 4), roleLine('follower', 1, 5)];
    // Term 2 is at or below the floor; 5 broker 1 stood for; 4 came from elsewhere.
    expect(termsStartedElsewhere([one, two], 2)).toEqual([4]);
    expect(termsStartedElsewhere([one, two, [roleLine('candidate', 0, 4)]], 2)).toEqual([]);
  });

  it("finds a term's leader by the broker that logged itself leader in it", () => {
    const logs = new Map([
      [1, [roleLine('leader', 1, 2), roleLine('follower', 3, 3)]],
      [3, [roleLine('follower', 1, 2), roleLine('leader', 3, 3)]],
    ]);
    expect(leaderOfTerm(logs, 2)).toBe(1);
    expect(leaderOfTerm(logs, 3)).toBe(3);
    expect(leaderOfTerm(logs, 4)).toBeUndefined();
  });
});
