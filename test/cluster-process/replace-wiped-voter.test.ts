/**
 * "Replace a dead broker", the disk is lost (docs/operations.md): a metadata voter is killed, its data dir
 * wiped, and it is started again with the same id. The metadata leader brings it back by itself (no new
 * term), and it is not ready before it holds the cluster's metadata. Before the fix the leader kept the dead
 * broker's acknowledged index: the replacement stayed at the bootstrap entries (no topics, no brokers) while
 * answering /health/ready 200, until a leader change. Needs `npm run build` first.
 *
 * What fails here without that fix is the catch-up by the same leader (in the term of the restart) and the
 * topics served through the replacement. An election does happen now and then on a loaded machine (a leader
 * starved of CPU by the replacement's start misses its heartbeats), and a new leader would catch the
 * replacement up even without the fix: a kill-wipe-restart round in which the replacement did not yet hold
 * the metadata when the term moved proves nothing, and is done again (at most ROUNDS). The readiness sampling
 * only catches a gross regression: with the fix, catch-up usually ends before the first sample. The readiness
 * rule itself (not ready before applying the commit index the leader first sent) is tested in
 * test/observability/catch-up-check.test.ts.
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
  type RaftView,
  raftView,
  ready,
  until,
} from '../helpers/cluster-processes.js';

const TOPICS = ['orders', 'payments', 'audit'];
/** Kill-wipe-restart rounds: an unrelated election can void one, hardly three in a row. */
const ROUNDS = 3;

type Fleet = ReturnType<typeof brokerFleet>;

/** How one round went: the replacement, and why the round proves nothing, if it does not. */
interface Round {
  readonly replacement: BrokerProcess;
  readonly voided?: string;
}

/**
 * Kills a follower voter, wipes its data dir, starts it again and waits until it is ready with the metadata.
 * Each time it answers ready without the metadata is added to `readyWithout`.
 */
async function replaceWipedFollower(fleet: Fleet, readyWithout: string[]): Promise<Round> {
  // The leader now, not at the start: on a loaded machine an election may have moved it.
  const leaderId = await until(
    'the metadata leader now',
    () => agreedLeader([...fleet.running.values()]),
    30_000,
  );
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
  let firstWithMetadata: RaftView | undefined;
  const caughtUp = async (): Promise<true | undefined> => {
    const isReady = await ready(replacement);
    const view = await raftView(replacement);
    const has =
      (view.metadata_version ?? 0) >= (atRestart.metadata_version ?? 0) && (view.brokers ?? []).length >= 3;
    if (has) firstWithMetadata ??= view;
    if (isReady && !has)
      readyWithout.push(`version ${view.metadata_version}, ${(view.brokers ?? []).length} brokers`);
    return isReady && has ? true : undefined;
  };
  await until('the replacement ready with the metadata', caughtUp, 30_000);

  // It started from nothing and terms never go back: holding the metadata while still in the restart's
  // term, it got it from that term's leader. In a later term a new leader may have done it.
  const seen = firstWithMetadata as RaftView;
  if (seen.term === atRestart.term && seen.leader_id === leaderId) return { replacement };
  return {
    replacement,
    voided: `leader ${leaderId} at term ${atRestart.term} on the restart; the replacement had the metadata at term ${seen.term} from leader ${seen.leader_id}`,
  };
}

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

    const readyWithout: string[] = [];
    const voided: string[] = [];
    let round: Round | undefined;
    while (voided.length < ROUNDS) {
      round = await replaceWipedFollower(fleet, readyWithout);
      if (round.voided === undefined) break;
      voided.push(round.voided);
    }
    expect(readyWithout).toEqual([]);
    // The leader of the restart's term caught the replacement up, in some round.
    expect(
      voided.length,
      `every round had a new term before the catch-up: ${voided.join('; ')}`,
    ).toBeLessThan(ROUNDS);

    // Its metadata serves clients: the topics created before it lost its disk are visible through it.
    const replacement = (round as Round).replacement;
    const direct = createClient({ bootstrap: replacement.bootstrap, requestTimeoutMs: 10_000 });
    fleet.clients.push(direct);
    const names = (await direct.admin().listTopics()).map((t) => t.name);
    for (const t of TOPICS) expect(names).toContain(t);
  }, 240_000);
});
