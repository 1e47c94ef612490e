/**
 * alterQuorum's decisions on a fake metadata Raft node: only the leader changes the quorum, one voter at
 * a time, a learner only once caught up, and never into a voter set without an answering majority.
 */
import { describe, expect, it } from 'vitest';
import { alterQuorum, PROMOTION_LAG_MAX, type QuorumChangeDeps } from '../../src/broker/quorum-change.js';
import type { BrokerState } from '../../src/metadata/types.js';
import type { ConfState } from '../../src/raft/core/types.js';
import type { RaftNodeStatus } from '../../src/raft/node-types.js';

interface Fake {
  voters: number[];
  learners: number[];
  role?: 'leader' | 'follower';
  commitIndex?: number;
  /** Match index per member (default: the commit index). */
  match?: Record<number, number>;
  silent?: number[];
  states?: Record<number, BrokerState>;
}

function fake(f: Fake): { deps: QuorumChangeDeps; proposed: { type: string; nodeId: number }[] } {
  const proposed: { type: string; nodeId: number }[] = [];
  const commitIndex = f.commitIndex ?? 500;
  const status = {
    id: 1,
    groupId: 'metadata',
    role: f.role ?? 'leader',
    term: 3,
    leaderId: f.role === 'follower' ? 2 : 1,
    commitIndex,
    appliedIndex: commitIndex,
    leaderCommitIndex: commitIndex,
    lastIndex: commitIndex,
    durableIndex: commitIndex,
    voters: f.voters,
    votersOutgoing: [],
    learners: f.learners,
    lastCommitAgeMs: 10,
    pendingProposals: 0,
  } satisfies RaftNodeStatus;
  const deps: QuorumChangeDeps = {
    raft: {
      status: () => status,
      progress: () =>
        [...f.voters, ...f.learners]
          .filter((id) => id !== 1)
          .map((id) => ({
            id,
            match: f.match?.[id] ?? commitIndex,
            next: commitIndex + 1,
            isLearner: f.learners.includes(id),
            recentActive: true,
          })),
      proposeConfChange: async (cc) => {
        proposed.push(cc);
        const voters = new Set(f.voters);
        const learners = new Set(f.learners);
        if (cc.type === 'add-voter') {
          learners.delete(cc.nodeId);
          voters.add(cc.nodeId);
        } else voters.delete(cc.nodeId);
        return { voters: [...voters].sort(), learners: [...learners].sort() } as ConfState;
      },
    },
    brokerState: (id) => f.states?.[id] ?? ([...f.voters, ...f.learners].includes(id) ? 'alive' : undefined),
    answering: (id) => !(f.silent ?? []).includes(id),
  };
  return { deps, proposed };
}

describe('alterQuorum', () => {
  it('promotes a caught-up learner and answers the new membership', async () => {
    const { deps, proposed } = fake({ voters: [1, 2, 3], learners: [4, 5] });
    await expect(alterQuorum(deps, 4, 'add-voter')).resolves.toEqual({ voters: [1, 2, 3, 4], learners: [5] });
    expect(proposed).toEqual([{ type: 'add-voter', nodeId: 4 }]);
  });

  it('removes a voter (the coordinator makes it a learner again)', async () => {
    const { deps, proposed } = fake({ voters: [1, 2, 3, 4], learners: [] });
    await expect(alterQuorum(deps, 2, 'remove-voter')).resolves.toEqual({ voters: [1, 3, 4], learners: [] });
    expect(proposed).toEqual([{ type: 'remove', nodeId: 2 }]);
  });

  it('a follower refuses with NOT_LEADER naming the leader (the client asks the leader)', async () => {
    const { deps, proposed } = fake({ voters: [1, 2, 3], learners: [4], role: 'follower' });
    await expect(alterQuorum(deps, 4, 'add-voter')).rejects.toMatchObject({
      code: 'NOT_LEADER',
      message: expect.stringContaining('leader: 2'),
    });
    expect(proposed).toEqual([]);
  });

  it('asking for what already holds changes nothing', async () => {
    const { deps, proposed } = fake({ voters: [1, 2, 3], learners: [4] });
    await expect(alterQuorum(deps, 2, 'add-voter')).resolves.toEqual({ voters: [1, 2, 3], learners: [4] });
    await expect(alterQuorum(deps, 4, 'remove-voter')).resolves.toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(proposed).toEqual([]);
  });

  it('refuses an unknown broker, one that is not alive, and one not a learner yet', async () => {
    const unknown = fake({ voters: [1, 2, 3], learners: [] });
    await expect(alterQuorum(unknown.deps, 9, 'add-voter')).rejects.toMatchObject({ code: 'UNKNOWN_BROKER' });
    const draining = fake({ voters: [1, 2, 3], learners: [4], states: { 4: 'draining' } });
    await expect(alterQuorum(draining.deps, 4, 'add-voter')).rejects.toMatchObject({
      code: 'INVALID_CONFIG_CHANGE',
      message: expect.stringContaining('is draining'),
    });
    const notLearner = fake({ voters: [1, 2, 3], learners: [], states: { 4: 'alive' } });
    await expect(alterQuorum(notLearner.deps, 4, 'add-voter')).rejects.toMatchObject({
      code: 'CONFIG_CHANGE_IN_PROGRESS',
    });
    expect([...unknown.proposed, ...draining.proposed, ...notLearner.proposed]).toEqual([]);
  });

  it('remove-voter of an id that is neither registered nor a voter is UNKNOWN_BROKER, like add-voter', async () => {
    const { deps, proposed } = fake({ voters: [1, 2, 3], learners: [4] });
    await expect(alterQuorum(deps, 9, 'remove-voter')).rejects.toMatchObject({
      code: 'UNKNOWN_BROKER',
      message: expect.stringContaining('no broker 9 is registered'),
    });
    expect(proposed).toEqual([]);
  });

  it('removes a voter that is no longer registered (how a dead voter leaves the quorum)', async () => {
    const { deps, proposed } = fake({ voters: [1, 2, 3, 4], learners: [], silent: [4] });
    const unregistered = {
      ...deps,
      brokerState: (id: number) => (id === 4 ? undefined : ('alive' as const)),
    };
    await expect(alterQuorum(unregistered, 4, 'remove-voter')).resolves.toEqual({
      voters: [1, 2, 3],
      learners: [],
    });
    expect(proposed).toEqual([{ type: 'remove', nodeId: 4 }]);
  });

  it('promotes a learner only within PROMOTION_LAG_MAX entries of the commit index', async () => {
    const behind = fake({ voters: [1, 2, 3], learners: [4], match: { 4: 500 - PROMOTION_LAG_MAX - 1 } });
    await expect(alterQuorum(behind.deps, 4, 'add-voter')).rejects.toMatchObject({
      code: 'CONFIG_CHANGE_IN_PROGRESS',
      message: expect.stringContaining('trails the metadata log'),
    });
    const close = fake({ voters: [1, 2, 3], learners: [4], match: { 4: 500 - PROMOTION_LAG_MAX } });
    await expect(alterQuorum(close.deps, 4, 'add-voter')).resolves.toMatchObject({ voters: [1, 2, 3, 4] });
  });

  it('never removes the last voter', async () => {
    const { deps, proposed } = fake({ voters: [1], learners: [2] });
    await expect(alterQuorum(deps, 1, 'remove-voter')).rejects.toMatchObject({
      code: 'INVALID_CONFIG_CHANGE',
    });
    expect(proposed).toEqual([]);
  });

  it('refuses a change that would leave the voters without an answering majority', async () => {
    // Voter 3 is down: removing live voter 2 would leave {1, 3}, which needs both.
    const remove = fake({ voters: [1, 2, 3], learners: [], silent: [3] });
    await expect(alterQuorum(remove.deps, 2, 'remove-voter')).rejects.toMatchObject({
      code: 'INVALID_CONFIG_CHANGE',
      message: expect.stringContaining('not a majority'),
    });
    // Removing the dead one instead is what restores the margin.
    await expect(alterQuorum(remove.deps, 3, 'remove-voter')).resolves.toMatchObject({ voters: [1, 2] });
    // Two of three down: adding a fourth gives {1, 2, 3, 4} with only 1 and 4 answering.
    const add = fake({ voters: [1, 2, 3], learners: [4], silent: [2, 3] });
    await expect(alterQuorum(add.deps, 4, 'add-voter')).rejects.toMatchObject({
      code: 'INVALID_CONFIG_CHANGE',
    });
    expect(add.proposed).toEqual([]);
  });
});
