/**
 * Changing the metadata voters of a running cluster (`streambus cluster add-voter` / `remove-voter`) on
 * real broker processes: a fourth broker joins as a learner and is promoted; the metadata leader itself is
 * removed (it hands over and stays a learner); then two of the three original voters are killed, and the
 * metadata group still commits, which the original voter set could not (one of three left). The promoted
 * broker remembers it votes across a kill -9 and restart, though its config does not name it a voter.
 */
import { describe, expect, it } from 'vitest';
import { type Admin, createClient } from '../../src/index.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { agreedLeader, brokerFleet, until } from '../helpers/cluster-processes.js';

/** True once the topic exists (created now or by an earlier attempt whose answer was lost). */
async function created(admin: Admin, name: string): Promise<true | undefined> {
  const res = await admin
    .createTopics([{ name, partitions: 1, replicationFactor: 1 }])
    .catch(() => undefined);
  return res?.every((t) => !t.error || t.error.code === 'TOPIC_ALREADY_EXISTS') ? true : undefined;
}

describe('metadata quorum changes on broker processes', () => {
  // Brokers 1-3 bootstrap the group; broker 4 is not in the list and joins as a learner.
  const { running, clients, start } = brokerFleet('quorum', 4);

  it('promotes a learner, removes the leader, and keeps a quorum that the original voters would have lost', async () => {
    await Promise.all([start(1), start(2), start(3), start(4)]);
    await until('a metadata leader', () => agreedLeader([...running.values()]), 30_000);
    const connect = (ids: readonly number[]) => {
      const c = createClient({
        bootstrap: ids.map((id) => (running.get(id) as BrokerProcess).bootstrap),
        requestTimeoutMs: 5_000,
      });
      clients.push(c);
      return c.admin();
    };
    const admin = connect([1, 2, 3, 4]);
    await until('broker 4 a metadata learner', async () => {
      const d = await admin.describeCluster().catch(() => undefined);
      return d?.metadataLearners.includes(4) ? true : undefined;
    });

    expect(await admin.alterQuorum(4, 'add-voter')).toEqual({ voters: [1, 2, 3, 4], learners: [] });

    const leader = (await admin.describeCluster()).metadataLeaderId;
    expect([1, 2, 3, 4]).toContain(leader);
    const removed = leader === 4 ? 1 : leader; // keep the promoted broker a voter
    const after = await admin.alterQuorum(removed, 'remove-voter');
    expect(after.voters).toEqual([1, 2, 3, 4].filter((id) => id !== removed));
    // The coordinator adds the registered broker back as a learner.
    await until(`broker ${removed} a learner again`, async () => {
      const d = await admin.describeCluster().catch(() => undefined);
      return d?.metadataLearners.includes(removed) ? true : undefined;
    });

    // Kill the removed broker and one more of the original voters: two of the three voters left are alive.
    const other = [1, 2, 3].find((id) => id !== removed) as number;
    await (running.get(removed) as BrokerProcess).kill();
    await (running.get(other) as BrokerProcess).kill();
    running.delete(removed);
    running.delete(other);
    const survivors = [...running.keys()].sort();
    expect(survivors).toContain(4);
    const survivorAdmin = connect(survivors);
    await until(
      'a topic created with two original voters of three dead',
      () => created(survivorAdmin, 'after-quorum-change'),
      30_000,
    );

    // Broker 4's config does not name it a voter; its log does. Killed and restarted, it votes again (the
    // surviving voter alone is no majority of three).
    await (running.get(4) as BrokerProcess).kill();
    running.delete(4);
    await start(4);
    const again = connect([...running.keys()]);
    const described = await until(
      'a metadata leader after broker 4 restarted',
      async () => {
        const d = await again.describeCluster().catch(() => undefined);
        return d !== undefined && d.metadataLeaderId > 0 ? d : undefined;
      },
      30_000,
    );
    expect(described.metadataVoters).toEqual([1, 2, 3, 4].filter((id) => id !== removed));
    await until('metadata writes after the restart', () => created(again, 'after-restart'), 30_000);
  }, 150_000);
});
