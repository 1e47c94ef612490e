/**
 * A new broker may list any current voters in its cluster.voters, followers included (docs/cluster.md,
 * "Non-voters"; operations.md, "Change the metadata voters"). QA: a broker listing only a follower voter
 * never joined (its registration was answered NOT_LEADER, and it knew no way to the leader), and one
 * listing the two survivors of three was refused at start (2 voters is no quorum size, but a joiner founds
 * nothing). Here one broker lists one follower and another lists both followers; each registers, is marked
 * alive, replicates the metadata log and turns ready. Needs `npm run build` first (spawns dist/cmd).
 *
 * The first one's join must go through the redirect (its log says the follower named the leader). On a
 * loaded machine an election can make the follower it lists the leader before it asks: it then registers
 * directly, which proves nothing about redirects, and a new broker listing a follower of the new leader
 * tries again (at most ROUNDS).
 */
import { describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { agreedLeader, brokerFleet, raftView, ready, until } from '../helpers/cluster-processes.js';
import { metadataRoleChanges } from '../helpers/metadata-terms.js';

/** Brokers that list one follower: an election can void one such join, hardly three in a row. */
const ROUNDS = 3;
const REDIRECT_LINE = 'a voter named the metadata leader';

describe('a broker that lists only follower voters', () => {
  // Ids 1-3 vote; 4 to 3 + ROUNDS list one follower; the last lists both.
  const { running, start, voterList } = brokerFleet('join-follower', 3 + ROUNDS + 1);
  const voters = () => [1, 2, 3].map((id) => running.get(id) as BrokerProcess);
  const currentLeader = () => until('the voters agree on a leader', () => agreedLeader(voters()), 30_000);

  /** Starts broker `id` listing `listed` only, and waits until it has joined: alive, ready, following. */
  const join = async (id: number, listed: readonly number[]): Promise<BrokerProcess> => {
    const b = await start(id, { STREAMBUS_CLUSTER_VOTERS: await voterList(listed) });
    await until(
      `broker ${id} registered alive`,
      async () => {
        const view = await raftView(running.get(await currentLeader()) as BrokerProcess);
        return (view.brokers ?? []).some((r) => r.id === id && r.state === 'alive') ? true : undefined;
      },
      30_000,
    );
    // It replicates the metadata log (as a learner) and so knows the leader and its own registration.
    await until(`broker ${id} ready`, async () => ((await ready(b)) ? true : undefined), 30_000);
    await until(`broker ${id} following the voters' leader`, () => agreedLeader([...voters(), b]), 30_000);
    const own = await raftView(b);
    expect((own.brokers ?? []).some((r) => r.id === id && r.state === 'alive')).toBe(true);
    return b;
  };

  it('joins through them: the follower names the leader, and the broker dials it', async () => {
    await Promise.all([start(1), start(2), start(3)]);
    const voided: string[] = [];
    let redirected = false;
    for (let id = 4; id < 4 + ROUNDS && !redirected; id++) {
      const leader = await currentLeader();
      const term = (await raftView(running.get(leader) as BrokerProcess)).term ?? 0;
      const listed = [1, 2, 3].find((v) => v !== leader) as number;
      const joiner = await join(id, [listed]);
      // The redirect is what got it there: the follower named the leader, which the joiner then dialed.
      // Unless the follower it lists led meanwhile (then it asked the leader itself). Log lines may trail
      // the HTTP answers by a moment.
      const listedLed = () =>
        metadataRoleChanges((running.get(listed) as BrokerProcess).logs).some(
          (c) => c.role === 'leader' && c.term > term,
        );
      await until(
        `broker ${id}'s redirect, or a leadership of broker ${listed}`,
        async () => (joiner.logs.some((l) => l.includes(REDIRECT_LINE)) || listedLed() ? true : undefined),
        5_000,
      ).catch(() => undefined);
      redirected = joiner.logs.some((l) => l.includes(REDIRECT_LINE));
      if (!redirected && listedLed())
        voided.push(`broker ${listed}, listed by broker ${id}, led after term ${term}`);
      else expect(redirected, `broker ${id} joined through follower ${listed} without a redirect`).toBe(true);
    }
    expect(redirected, `every follower listed led before the joiner asked: ${voided.join('; ')}`).toBe(true);

    const leader = await currentLeader();
    await join(
      4 + ROUNDS,
      [1, 2, 3].filter((v) => v !== leader),
    );
  }, 240_000);
});
