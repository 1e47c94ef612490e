/**
 * A metadata voter removed while it was down (docs/operations.md, "Change the metadata voters"): killed,
 * `remove-voter`ed by the two others (and in two cases decommissioned too: unregistered and out of the
 * group, so no one dials it), then restarted on its old data dir with its original cluster.voters, which
 * name it. Its own log still says it votes. It must come back as a learner (it learns from the leader that
 * it was removed), catch up, register, become ready, and never disturb the quorum: it stands for no term
 * (its pre-votes raise none), and any election the survivors hold meanwhile (a loaded machine can starve a
 * leader's heartbeats) is theirs, each new term one of them stood for (metadata-terms.ts). Without pre-vote
 * its first campaign would raise the term, and its answers, once it is a learner, would depose the leader.
 * Tried for the lowest id and for the highest, as a founding voter dials only higher ids and the two
 * cases connect differently. Before leader-search.ts, the decommissioned ones
 * never became ready: the lowest id reached the others, but nothing told it who led, and nobody dialed the
 * highest. Needs `npm run build` first (the tests spawn dist/cmd/streambus.js).
 */
import { describe, expect, it } from 'vitest';
import { type Admin, createClient } from '../../src/index.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { agreedLeader, brokerFleet, raftView, ready, until } from '../helpers/cluster-processes.js';
import { termsStartedElsewhere, termsStoodFor } from '../helpers/metadata-terms.js';

/** True once the topic exists (created now or by an earlier attempt whose answer was lost). */
async function created(admin: Admin, name: string): Promise<true | undefined> {
  const res = await admin
    .createTopics([{ name, partitions: 1, replicationFactor: 1 }])
    .catch(() => undefined);
  return res?.every((t) => !t.error || t.error.code === 'TOPIC_ALREADY_EXISTS') ? true : undefined;
}

describe.each([
  { removed: 1, decommissioned: false, host: '127.0.3.41' },
  { removed: 3, decommissioned: false, host: '127.0.3.42' },
  { removed: 1, decommissioned: true, host: '127.0.3.43' },
  { removed: 3, decommissioned: true, host: '127.0.3.44' },
])(
  'a metadata voter removed while it was down (broker $removed, decommissioned: $decommissioned)',
  ({ removed, decommissioned, host }) => {
    const { running, clients, start } = brokerFleet(`removed-voter-${removed}-${decommissioned}`, 3, {
      host,
    });
    const survivors = [1, 2, 3].filter((id) => id !== removed);

    it('rejoins as a learner on its old data dir and original cluster.voters, without forcing an election', async () => {
      await Promise.all([start(1), start(2), start(3)]);
      await until('a metadata leader', () => agreedLeader([...running.values()]), 30_000);
      const client = createClient({
        bootstrap: survivors.map((id) => (running.get(id) as BrokerProcess).bootstrap),
        requestTimeoutMs: 5_000,
      });
      clients.push(client);
      const admin = client.admin();
      const survivorProcesses = () => survivors.map((id) => running.get(id) as BrokerProcess);

      await (running.get(removed) as BrokerProcess).kill();
      running.delete(removed);
      // The survivors elect a leader if the killed broker led; the removal waits until it is safe.
      const after = await until(
        `broker ${removed} removed from the voters`,
        () => admin.alterQuorum(removed, 'remove-voter').catch(() => undefined),
        30_000,
      );
      expect(after.voters).toEqual(survivors);
      if (decommissioned) {
        // The dead host is retired for good: the survivors unregister it and drop it from the group.
        await until(
          `broker ${removed} decommissioned`,
          () => admin.alterBroker(removed, 'decommission').catch(() => undefined),
          30_000,
        );
        await until(
          `broker ${removed} out of the registry and the metadata group`,
          async () => {
            const d = await admin.describeCluster().catch(() => undefined);
            const gone =
              d !== undefined &&
              !d.metadataLearners.includes(removed) &&
              !d.brokers.some((b) => b.id === removed);
            return gone ? true : undefined;
          },
          30_000,
        );
      }
      const leader = await until('the survivors agree on a leader', () => agreedLeader(survivorProcesses()));
      const termBefore = (await raftView(running.get(leader) as BrokerProcess)).term;

      // The same data dir and the founding cluster.voters, which name it.
      const again = await start(removed);
      await until(
        `broker ${removed} ready again`,
        async () => ((await ready(again)) ? true : undefined),
        30_000,
      );
      const view = await until(
        `broker ${removed} knows it no longer votes, and sees itself alive`,
        async () => {
          const v = await raftView(again);
          const alive = v.brokers?.find((b) => b.id === removed)?.state === 'alive';
          return alive && v.voters !== undefined && !v.voters.includes(removed) ? v : undefined;
        },
        30_000,
      );
      expect(view.voters).toEqual(survivors);
      await until(
        `broker ${removed} following the survivors' leader`,
        () => agreedLeader([...survivorProcesses(), again]),
        30_000,
      );
      const described = await until('broker a metadata learner', async () => {
        const d = await admin.describeCluster().catch(() => undefined);
        return d?.metadataLearners.includes(removed) ? d : undefined;
      });
      expect(described.metadataVoters).toEqual(survivors);
      await until(
        'metadata writes after the rejoin',
        () => created(admin, `after-rejoin-${removed}`),
        30_000,
      );

      // It never forced an election: it stood for no term, and each term the survivors reached since its
      // restart one of them stood for. (Their log lines may trail their HTTP answers by a moment.)
      expect(termsStoodFor(again.logs)).toEqual([]);
      const unexplained = () =>
        termsStartedElsewhere(
          survivorProcesses().map((b) => b.logs),
          termBefore ?? 0,
        );
      await until(
        'every new survivor term explained by their own logs',
        async () => (unexplained().length === 0 ? true : undefined),
        5_000,
      ).catch(() => undefined);
      expect(unexplained()).toEqual([]);
    }, 150_000);
  },
);

describe('a voter that looked for a leader while the other voters were down', () => {
  // Searching starts after resilience.timeouts.leader_election without a leader: 2 s instead of 10.
  const { running, clients, start } = brokerFleet('searched-voter', 3, {
    host: '127.0.3.45',
    env: { STREAMBUS_RESILIENCE_TIMEOUTS_LEADER_ELECTION: '2s' },
  });

  it('still votes once they return: the quorum forms again with it, and its writes go through', async () => {
    await Promise.all([start(1), start(2), start(3)]);
    await until('a metadata leader', () => agreedLeader([...running.values()]), 30_000);
    for (const id of [2, 3]) {
      await (running.get(id) as BrokerProcess).kill();
      running.delete(id);
    }
    const lone = running.get(1) as BrokerProcess;
    await until(
      'broker 1 searching for a leader',
      async () => (lone.logs.some((l) => l.includes('no metadata leader heard')) ? true : undefined),
      30_000,
    );
    await Promise.all([start(2), start(3)]);
    await until('all three agree on a leader', () => agreedLeader([...running.values()]), 30_000);
    const view = await raftView(lone);
    expect(view.voters).toEqual([1, 2, 3]);
    expect(view.role === 'leader' || view.role === 'follower').toBe(true);
    // A metadata write sent to it alone goes through (forwarded to the leader when it follows).
    const client = createClient({ bootstrap: lone.bootstrap, requestTimeoutMs: 5_000 });
    clients.push(client);
    await until('a topic created through broker 1', () => created(client.admin(), 'after-search'), 30_000);
    await until('broker 1 ready', async () => ((await ready(lone)) ? true : undefined), 30_000);
  }, 120_000);
});
