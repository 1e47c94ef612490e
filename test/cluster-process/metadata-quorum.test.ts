/**
 * Three real broker processes in cluster mode form the metadata Raft quorum over loopback TCP: they agree
 * on a leader, survive `kill -9` of that leader (the other two elect a new one and stay ready), and the
 * killed broker rejoins as a follower after a restart, without standing for election on its way back (its
 * pre-votes raise no term; the broker logs say who stood, metadata-terms.ts). The leader it comes to follow
 * need not be the one the survivors elected: on a loaded machine another election can follow (a starting
 * broker takes a lot of CPU), so it is the one all three agree on then.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, removeDir, tempDir } from '../helpers/broker-process.js';
import {
  agreedLeader,
  freePorts,
  HOST,
  raftView,
  startClusterBroker,
  until,
} from '../helpers/cluster-processes.js';
import { termsStoodFor } from '../helpers/metadata-terms.js';

/** Every given broker's replica lists exactly these ids as alive with at least `epochs[id]` (default 1). */
async function membersAlive(
  brokers: readonly BrokerProcess[],
  ids: readonly number[],
  epochs: Readonly<Record<number, number>> = {},
): Promise<true | undefined> {
  const views = await Promise.all(brokers.map(raftView));
  const ok = views.every((v) => {
    const alive = (v.brokers ?? []).filter((b) => b.state === 'alive' && b.epoch >= (epochs[b.id] ?? 1));
    return (
      alive
        .map((b) => b.id)
        .sort()
        .join(',') === [...ids].sort().join(',')
    );
  });
  return ok ? true : undefined;
}

describe('metadata quorum of three broker processes', () => {
  const dirs = [
    tempDir('streambus-cluster-1-'),
    tempDir('streambus-cluster-2-'),
    tempDir('streambus-cluster-3-'),
  ];
  const running = new Map<number, BrokerProcess>();

  afterAll(async () => {
    await Promise.all([...running.values()].map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });

  it('agrees on one leader, registers all three, re-elects after kill -9 of the leader, and takes the restarted broker back as a follower', async () => {
    const peerPorts = await freePorts(3);
    const voters = peerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(',');
    const start = (id: number): Promise<BrokerProcess> =>
      startClusterBroker({
        id,
        dataDir: dirs[id - 1] as string,
        peerPort: peerPorts[id - 1] as number,
        voters,
      });
    const started = await Promise.all([start(1), start(2), start(3)]);
    for (const [i, b] of started.entries()) running.set(i + 1, b);

    const elected = await until('three ready brokers agreeing on a leader', () => agreedLeader(started));
    const electedView = await raftView(running.get(elected) as BrokerProcess);
    expect(electedView.role).toBe('leader');
    expect(electedView.status).toBe('healthy');
    // Followers' registrations reach the leader through the forwarder; every replica then shows all three.
    await until('every broker registered and alive on every replica', () => membersAlive(started, [1, 2, 3]));
    const registered = (await raftView(started[0] as BrokerProcess)).brokers ?? [];
    for (const b of registered) {
      expect(b.client).toBe(`${HOST}:${(running.get(b.id) as BrokerProcess).port}`);
    }
    // Heartbeats keep moving last-seen forward.
    const beatBefore = registered.find((b) => b.id === 2)?.last_heartbeat_ms ?? 0;
    await until('a newer heartbeat from broker 2', async () => {
      const later = (await raftView(started[0] as BrokerProcess)).brokers?.find((b) => b.id === 2);
      return (later?.last_heartbeat_ms ?? 0) > beatBefore ? true : undefined;
    });

    // The leader now: an election under load may have moved it since the first look-up.
    const firstLeader = await until('the leader now', () => agreedLeader(started));
    const leaderView = await raftView(running.get(firstLeader) as BrokerProcess);
    await (running.get(firstLeader) as BrokerProcess).kill();
    running.delete(firstLeader);
    const survivors = [...running.values()];
    const secondLeader = await until('the two survivors electing a new leader', () =>
      agreedLeader(survivors, firstLeader),
    );
    expect(secondLeader).not.toBe(firstLeader);
    const secondView = await raftView(running.get(secondLeader) as BrokerProcess);
    expect(secondView.term).toBeGreaterThan(leaderView.term ?? 0);

    const restarted = await start(firstLeader);
    running.set(firstLeader, restarted);
    const following = await until(
      'the restarted broker following the leader all three agree on',
      async () => {
        const view = await raftView(restarted);
        const agreed = await agreedLeader([...running.values()]);
        return view.role === 'follower' && agreed !== undefined && view.leader_id === agreed
          ? view
          : undefined;
      },
    );
    expect(
      termsStoodFor(restarted.logs).filter((t) => t <= (following.term ?? 0)),
      'terms the restarted broker stood for, up to the one it follows in',
    ).toEqual([]);
    // The restarted broker registers again (a new incarnation) through the new leader.
    await until('the restarted broker re-registered', () =>
      membersAlive([...running.values()], [1, 2, 3], { [firstLeader]: 2 }),
    );

    // SIGTERM of the leader (looked up again: one more election may have happened meanwhile): it hands
    // leadership to another voter before stopping, and exits cleanly.
    const leavingId = await until('the leader now', () => agreedLeader([...running.values()]));
    const leaving = running.get(leavingId) as BrokerProcess;
    expect(await leaving.stop()).toBe(0);
    running.delete(leavingId);
    expect(leaving.logs.some((l) => l.includes('metadata leadership handed over'))).toBe(true);
    const thirdLeader = await until('the two remaining brokers agreeing on a new leader', () =>
      agreedLeader([...running.values()], leavingId),
    );
    expect(thirdLeader).not.toBe(leavingId);

    const codes = await Promise.all([...running.values()].map((b) => b.stop()));
    running.clear();
    expect(codes).toEqual([0, 0]);
  }, 90_000);
});
