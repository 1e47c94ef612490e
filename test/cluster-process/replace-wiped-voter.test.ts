/**
 * "Replace a dead broker", the disk is lost (docs/operations.md): a metadata voter is killed, its data dir
 * wiped, and it is started again with the same id. The metadata leader brings it back by itself (no new
 * term), and it is not ready before it holds the cluster's metadata. Before the fix the leader kept the dead
 * broker's acknowledged index: the replacement stayed at the bootstrap entries (no topics, no brokers) while
 * answering /health/ready 200, until a leader change. Needs `npm run build` first.
 *
 * What fails here without that fix is the catch-up by the same leader (no election) and the topics served
 * through the replacement. The readiness sampling only catches a gross regression: with the fix, catch-up
 * usually ends before the first sample. The readiness rule itself (not ready before applying the commit
 * index the leader first sent) is tested in test/observability/catch-up-check.test.ts.
 */
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import { type BrokerProcess, removeDir } from '../helpers/broker-process.js';
import {
  agreedLeader,
  brokerFleet,
  formedCluster,
  raftView,
  ready,
  until,
} from '../helpers/cluster-processes.js';

const TOPICS = ['orders', 'payments', 'audit'];

describe('a metadata voter replaced on an empty data dir', () => {
  const fleet = brokerFleet('replace-wiped', 3);

  it('catches up from the same leader, and is not ready before it has the metadata', async () => {
    requireDist();
    const brokers = await Promise.all([1, 2, 3].map((id) => fleet.start(id)));
    await until('a formed cluster', () => formedCluster(brokers), 30_000);
    const client = createClient({
      bootstrap: brokers.map((b) => b.bootstrap).join(','),
      requestTimeoutMs: 10_000,
    });
    fleet.clients.push(client);
    await client.admin().createTopics(TOPICS.map((name) => ({ name, partitions: 2, replicationFactor: 3 })));

    // The leader now, not at the start: the topic writes ran on a loaded machine, where an election may
    // have moved it (the test then asks that this leader, not the first, did the catching up).
    const leaderId = await until('the metadata leader now', () => agreedLeader(brokers), 30_000);
    const victim = leaderId === 3 ? 2 : 3;
    const leader = fleet.running.get(leaderId) as BrokerProcess;
    await (fleet.running.get(victim) as BrokerProcess).kill();
    fleet.running.delete(victim);
    // The survivors keep writing (broker heartbeats) while it is away, so the leader's log moves on.
    const before = await raftView(leader);
    await until(
      'the metadata log moving on without the victim',
      async () =>
        ((await raftView(leader)).metadata_version ?? 0) > (before.metadata_version ?? 0) || undefined,
    );
    removeDir(fleet.dirs[victim - 1] as string);
    mkdirSync(fleet.dirs[victim - 1] as string);
    const atRestart = await raftView(leader);

    const replacement = await fleet.start(victim);
    // Sampled in this order, readiness first: metadata only grows, so a ready answer followed by a view
    // without the metadata means it was ready without it.
    const readyWithout: string[] = [];
    const caughtUp = async (): Promise<true | undefined> => {
      const isReady = await ready(replacement);
      const view = await raftView(replacement);
      const has =
        (view.metadata_version ?? 0) >= (atRestart.metadata_version ?? 0) && (view.brokers ?? []).length >= 3;
      if (isReady && !has)
        readyWithout.push(`version ${view.metadata_version}, ${(view.brokers ?? []).length} brokers`);
      return isReady && has ? true : undefined;
    };
    await until('the replacement ready with the metadata', caughtUp, 30_000);
    expect(readyWithout).toEqual([]);

    // Its metadata serves clients: the topics created before it lost its disk are visible through it.
    const direct = createClient({ bootstrap: replacement.bootstrap, requestTimeoutMs: 10_000 });
    fleet.clients.push(direct);
    const names = (await direct.admin().listTopics()).map((t) => t.name);
    for (const t of TOPICS) expect(names).toContain(t);

    // The same leader did it: no election happened.
    const after = await raftView(leader);
    expect(after.role).toBe('leader');
    expect(after.term).toBe(atRestart.term);
    const view = await raftView(replacement);
    expect(view.leader_id).toBe(leaderId);
    expect(view.term).toBe(atRestart.term);
  }, 120_000);
});
