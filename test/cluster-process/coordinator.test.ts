/**
 * The cluster control plane on real broker processes (issue 4's acceptance scenario): three voters, a
 * topic of 6 partitions with replication factor 3 spread over them; `kill -9` of the metadata leader gets
 * it marked failed by the coordinator that takes over on a survivor; restarted, it rejoins and the
 * rebalancer gives it back its share of leaders; a fourth broker, not in the voter list, joins as a
 * non-voter and replicas move onto it until the spread is even; decommissioned, it is emptied and removed,
 * and its own health then says it left the cluster (healthy, not ready, live).
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import type { MetadataResponse } from '../../src/protocol/messages.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import {
  agreedLeader,
  allSeeAlive,
  brokerFleet,
  getJson,
  type RaftView,
  raftView,
  until,
} from '../helpers/cluster-processes.js';

const TOPIC = 'spread';
/** Fast rebalance checks; a failed broker keeps its replicas for a minute (a restart costs no moves). */
const ENV = { STREAMBUS_CLUSTER_REBALANCE_INTERVAL: '1s', STREAMBUS_CLUSTER_FAILED_GRACE: '60s' };

function count(ids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

function partitionsOf(md: MetadataResponse) {
  return md.topics.find((t) => t.name === TOPIC)?.partitions ?? [];
}

describe('cluster coordinator on broker processes', () => {
  const { running, clients, start } = brokerFleet('coord', 4, { env: ENV });

  it('marks a killed metadata leader failed, takes it back, rebalances leaders, and spreads replicas onto a joining broker', async () => {
    await Promise.all([start(1), start(2), start(3)]);
    const all = () => [...running.values()];
    await until('a metadata leader', () => agreedLeader(all()));
    await until('three alive brokers', () => allSeeAlive(all(), 3));

    const bootstrap = all().map((b) => b.bootstrap);
    const client = createClient({ bootstrap, requestTimeoutMs: 5_000 });
    clients.push(client);
    const admin = client.admin();
    await admin.createTopic({ name: TOPIC, partitions: 6, replicationFactor: 3 });
    const placed = await until('the topic in metadata', async () => {
      const p = partitionsOf(await admin.metadata([TOPIC]));
      return p.length === 6 ? p : undefined;
    });
    for (const p of placed) expect(new Set(p.replicas).size).toBe(3);
    expect([...count(placed.map((p) => p.leaderId)).values()]).toEqual([2, 2, 2]);

    // kill -9 the metadata leader: a survivor's coordinator marks it failed. Looked up now, not at the start:
    // an election under load may have moved it since.
    const leaderId = await until('the metadata leader now', () => agreedLeader(all()));
    const victim = running.get(leaderId) as BrokerProcess;
    const killedAt = Date.now();
    await victim.kill();
    running.delete(leaderId);
    const survivor = all()[0] as BrokerProcess;
    await until(
      `broker ${leaderId} marked failed`,
      async () => {
        const v = await raftView(survivor);
        return v.brokers?.find((b) => b.id === leaderId)?.state === 'failed' ? true : undefined;
      },
      20_000,
    );
    const detectionMs = Date.now() - killedAt;
    // The bound is the 5 s plus slack for a shared CI machine; the measured value is printed.
    console.log(`metadata leader ${leaderId} marked failed ${detectionMs} ms after kill -9`);
    expect(detectionMs).toBeLessThan(10_000);
    // Its partitions get a live leader (metadata only until partitions replicate).
    await until('no partition led by the failed broker', async () => {
      const p = partitionsOf(await admin.metadata([TOPIC]));
      return p.length === 6 && p.every((x) => x.leaderId !== leaderId && x.leaderId > 0) ? true : undefined;
    });

    // Restart: it rejoins, and preferred leaders bring back the even spread.
    await start(leaderId);
    await until(
      'the restarted broker alive and leading its share again',
      async () => {
        const v = await raftView(survivor);
        if (v.brokers?.find((b) => b.id === leaderId)?.state !== 'alive') return undefined;
        const leaders = count(partitionsOf(await admin.metadata([TOPIC])).map((p) => p.leaderId));
        return leaders.get(leaderId) === 2 && [...leaders.values()].every((n) => n === 2) ? true : undefined;
      },
      30_000,
    );

    // A fourth broker outside the voter list joins as a non-voter; replicas move onto it.
    await start(4);
    await until(
      'broker 4 registered alive',
      async () => {
        const v = await raftView(survivor);
        return v.brokers?.find((b) => b.id === 4)?.state === 'alive' ? true : undefined;
      },
      20_000,
    );
    const spread = await until(
      'replicas spread evenly over four brokers',
      async () => {
        const p = partitionsOf(await admin.metadata([TOPIC]));
        const replicas = count(p.flatMap((x) => x.replicas));
        const even = [1, 2, 3, 4].every((id) => {
          const n = replicas.get(id) ?? 0;
          return n === 4 || n === 5; // 18 replicas over 4 brokers
        });
        return even ? p : undefined;
      },
      40_000,
    );
    for (const p of spread) expect(new Set(p.replicas).size).toBe(3);
    // Broker 4 follows the metadata log as a learner: its own view knows every broker. Waited for: replica
    // lists name broker 4 from the start of each move, which can be before the learner it became has been
    // sent the metadata log (seen under load: voters [] in its view just after the spread).
    const fourth = await until(
      "broker 4's own view of the metadata",
      async () => {
        const v = await raftView(running.get(4) as BrokerProcess);
        return (v.brokers ?? []).length === 4 ? v : undefined;
      },
      20_000,
    );
    expect(fourth.voters).toEqual([1, 2, 3]);
    expect((fourth.brokers ?? []).map((b) => b.id).sort()).toEqual([1, 2, 3, 4]);

    // Decommission broker 4: its replicas move back to 1-3, then it leaves the registry for good.
    expect(await admin.alterBroker(4, 'decommission')).toBe('decommissioned');
    await until(
      'broker 4 emptied and unregistered',
      async () => {
        const v = await raftView(survivor);
        const p = partitionsOf(await admin.metadata([TOPIC]));
        const gone = !(v.brokers ?? []).some((b) => b.id === 4);
        return gone && p.length === 6 && p.every((x) => !x.replicas.includes(4)) ? true : undefined;
      },
      40_000,
    );
    for (const p of partitionsOf(await admin.metadata([TOPIC]))) expect(new Set(p.replicas).size).toBe(3);
    await expect(admin.alterBroker(4, 'undrain')).rejects.toMatchObject({ code: 'UNKNOWN_BROKER' });
    const logs = (running.get(4) as BrokerProcess).logs;
    await until('broker 4 stopping its heartbeats', async () =>
      logs.some((l) => l.includes('was decommissioned')) ? true : undefined,
    );

    // Out of the metadata group, broker 4 commits nothing, by design. Past the commit staleness bound its raft
    // check says so instead of "degraded: no commit" (which paged on-call); it is not ready and still live.
    const gone = running.get(4) as BrokerProcess;
    const idle = await until(
      'broker 4 without a commit for longer than the staleness bound',
      async () => {
        const v = (await raftView(gone)) as RaftView & {
          last_commit_age_ms?: number;
          commit_stale_ms?: number;
        };
        return (v.last_commit_age_ms ?? 0) > (v.commit_stale_ms ?? Number.POSITIVE_INFINITY) ? v : undefined;
      },
      30_000,
    );
    expect(idle.status).toBe('healthy');
    expect((idle as RaftView & { message?: string }).message).toMatch(/^decommissioned: /);
    expect((await getJson(gone.httpPort, '/health/ready')).code).toBe(503);
    expect((await getJson(gone.httpPort, '/health/live')).code).toBe(200);
  }, 180_000);
});
