/**
 * Decommissioning a metadata voter (docs/operations.md, "Drain and decommission a broker"). QA: `cluster
 * decommission 3` of a voter was accepted; the broker was unregistered while the group still counted its
 * vote, and after remove-voter and a restart on its old data dir it never registered again (the others
 * had stopped dialing it, and a founding voter dials only higher ids). Now the decommission is refused,
 * naming remove-voter; in the documented order (remove-voter, then decommission) the broker leaves, and
 * restarted on its old data dir with the founding cluster.voters it joins like a new broker, registers
 * anew and can be made a voter again. Needs `npm run build` first (the tests spawn dist/cmd/streambus.js).
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { agreedLeader, brokerFleet, raftView, ready, until } from '../helpers/cluster-processes.js';

describe('decommissioning a metadata voter', () => {
  const { running, clients, start } = brokerFleet('decom-voter', 3);

  it('is refused while it votes; after remove-voter it is decommissioned, and restarted on its old data dir it registers anew', async () => {
    await Promise.all([start(1), start(2), start(3)]);
    const all = () => [...running.values()];
    await until('a metadata leader', () => agreedLeader(all()), 30_000);
    const first = () => running.get(1) as BrokerProcess;
    // Brokers 1 and 2 answer the admin calls: broker 3 is stopped and restarted below.
    const client = createClient({
      bootstrap: [1, 2].map((id) => (running.get(id) as BrokerProcess).bootstrap),
      requestTimeoutMs: 5_000,
    });
    clients.push(client);
    const admin = client.admin();
    const brokerState = async (id: number) =>
      ((await raftView(first())).brokers ?? []).find((b) => b.id === id)?.state;

    await expect(admin.alterBroker(3, 'decommission')).rejects.toMatchObject({
      code: 'METADATA_CONFLICT',
      message: expect.stringContaining(
        'broker 3 is a metadata voter: run `streambus cluster remove-voter 3` first',
      ),
    });
    expect(await brokerState(3)).toBe('alive');
    expect((await admin.describeCluster()).metadataVoters).toEqual([1, 2, 3]);

    expect((await admin.alterQuorum(3, 'remove-voter')).voters).toEqual([1, 2]);
    await until('broker 3 a learner', async () => {
      const d = await admin.describeCluster().catch(() => undefined);
      return d?.metadataLearners.includes(3) ? true : undefined;
    });
    expect(await admin.alterBroker(3, 'decommission')).toBe('decommissioned');
    await until(
      'broker 3 unregistered',
      async () => ((await brokerState(3)) === undefined ? true : undefined),
      30_000,
    );
    const third = running.get(3) as BrokerProcess;
    await until('broker 3 knows it has left the cluster', async () =>
      third.logs.some((l) => l.includes('has left the cluster')) ? true : undefined,
    );
    await third.stop();
    running.delete(3);

    // The same data dir and the founding cluster.voters, which name it.
    const again = await start(3);
    await until(
      'broker 3 registered alive again',
      async () => ((await brokerState(3)) === 'alive' ? true : undefined),
      30_000,
    );
    await until('broker 3 ready again', async () => ((await ready(again)) ? true : undefined), 30_000);
    await until('broker 3 a learner again', async () => {
      const d = await admin.describeCluster().catch(() => undefined);
      return d?.metadataLearners.includes(3) ? true : undefined;
    });
    // `cluster add-voter 3` was UNKNOWN_BROKER before (QA); a caught-up learner is promoted.
    const promoted = await until(
      'broker 3 a voter again',
      () => admin.alterQuorum(3, 'add-voter').catch(() => undefined),
      30_000,
    );
    expect(promoted.voters).toEqual([1, 2, 3]);
  }, 150_000);
});
