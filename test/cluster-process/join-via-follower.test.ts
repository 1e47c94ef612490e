/**
 * A new broker may list any current voters in its cluster.voters, followers included (docs/cluster.md,
 * "Non-voters"; operations.md, "Change the metadata voters"). QA: a broker listing only a follower voter
 * never joined (its registration was answered NOT_LEADER, and it knew no way to the leader), and one
 * listing the two survivors of three was refused at start (2 voters is no quorum size, but a joiner founds
 * nothing). Here broker 4 lists one follower and broker 5 lists both followers; each registers, is marked
 * alive, replicates the metadata log and turns ready. Needs `npm run build` first (spawns dist/cmd).
 */
import { describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { agreedLeader, brokerFleet, raftView, ready, until } from '../helpers/cluster-processes.js';

describe('a broker that lists only follower voters', () => {
  const { running, start, voterList } = brokerFleet('join-follower', 5);

  it('joins through them: the follower names the leader, and the broker dials it', async () => {
    await Promise.all([start(1), start(2), start(3)]);
    const voters = () => [1, 2, 3].map((id) => running.get(id) as BrokerProcess);
    const leader = await until('a metadata leader', () => agreedLeader(voters()), 30_000);
    const followers = [1, 2, 3].filter((id) => id !== leader);

    const fourth = await start(4, { STREAMBUS_CLUSTER_VOTERS: await voterList(followers.slice(0, 1)) });
    const fifth = await start(5, { STREAMBUS_CLUSTER_VOTERS: await voterList(followers) });

    const aliveAt = async (viewer: BrokerProcess, id: number) =>
      ((await raftView(viewer)).brokers ?? []).some((b) => b.id === id && b.state === 'alive');
    for (const [id, b] of [
      [4, fourth],
      [5, fifth],
    ] as const) {
      const leaderProcess = running.get(leader) as BrokerProcess;
      await until(
        `broker ${id} registered alive`,
        async () => ((await aliveAt(leaderProcess, id)) ? true : undefined),
        30_000,
      );
      // It replicates the metadata log (as a learner) and so knows the leader and its own registration.
      await until(`broker ${id} ready`, async () => ((await ready(b)) ? true : undefined), 30_000);
      const view = await raftView(b);
      expect(view.leader_id).toBe((await raftView(leaderProcess)).leader_id);
      expect(await aliveAt(b, id)).toBe(true);
    }
    // The redirect is what got it there: the follower named the leader, which the joiner then dialed.
    expect(fourth.logs.some((l) => l.includes('a voter named the metadata leader'))).toBe(true);
  }, 120_000);
});
