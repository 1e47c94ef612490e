/**
 * Whether a broker still votes by its own metadata log, read before Raft starts (log-membership.ts): a
 * founding voter that the group removed joins like a new broker when restarted, because the others no
 * longer dial it. Every conf-change entry counts, committed or not: the leader stops replicating to a
 * member once it applies its removal, so the removed broker may never learn that entry committed.
 */
import { describe, expect, it } from 'vitest';
import { isVoterOf, latestConfState } from '../../src/broker/log-membership.js';
import { encodeConfChange } from '../../src/raft/core/quorum.js';
import type { ConfChange, Entry } from '../../src/raft/core/types.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';

function conf(storage: MemoryRaftStorage, after: number, changes: readonly ConfChange[]): void {
  const entries: Entry[] = changes.map((cc, i) => ({
    term: 2,
    index: after + i + 1,
    type: 'conf-change',
    data: encodeConfChange(cc),
  }));
  storage.append(entries);
}

describe('latestConfState', () => {
  it('a founding voter votes after bootstrap; a new broker, with an empty log, does not', () => {
    const founded = MemoryRaftStorage.bootstrap([1, 2, 3]);
    expect(latestConfState(founded)).toMatchObject({ voters: [1, 2, 3], learners: [] });
    expect(isVoterOf(latestConfState(founded), 3)).toBe(true);
    expect(isVoterOf(latestConfState(new MemoryRaftStorage()), 4)).toBe(false);
  });

  it('a voter removed and added back as a learner does not vote, though the entries are not committed here', () => {
    const s = MemoryRaftStorage.bootstrap([1, 2, 3]); // commit 3: the bootstrap entries only
    conf(s, 3, [
      { type: 'remove', nodeId: 3 },
      { type: 'add-learner', nodeId: 3 },
    ]);
    expect(s.hardState().commit).toBe(3);
    const latest = latestConfState(s);
    expect(latest).toMatchObject({ voters: [1, 2], learners: [3] });
    expect(isVoterOf(latest, 3)).toBe(false);
  });

  it('an invalid change is skipped, as every node skips it', () => {
    const s = MemoryRaftStorage.bootstrap([1]);
    conf(s, 1, [{ type: 'remove', nodeId: 1 }]); // removing the last voter is refused
    expect(isVoterOf(latestConfState(s), 1)).toBe(true);
  });
});
