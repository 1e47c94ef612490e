/**
 * Consumer groups on a 3-broker replicated cluster (issue 6's acceptance scenario), with each member a
 * real `streambus consume --group` process: three members over a 6-partition topic get two partitions
 * each; `kill -9` of one moves its partitions to the others within the session timeout plus the
 * rebalance; every produced message is consumed at least once; committed offsets never move backwards;
 * restarting the group coordinator's broker loses no committed offset and the group resumes; a static
 * member restarted within its session timeout comes back without a rebalance.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type GroupView, type StreamBusClient } from '../../src/index.js';
import { type BrokerProcess, removeDir, tempDir } from '../helpers/broker-process.js';
import {
  agreedLeader,
  allSeeAlive,
  freePorts,
  HOST,
  startClusterBroker,
  until,
} from '../helpers/cluster-processes.js';
import { type GroupConsumerProcess, startGroupConsumer } from '../helpers/group-consumer-process.js';

const TOPIC = 'work';
const GROUP = 'workers';
const SESSION_MS = 4_000;
/**
 * A static member's session: long enough for its restart, a new CLI process (on this shared machine under
 * load, `streambus --help` alone took up to 3 s), so the test proves that a restart within the session keeps
 * the assignment, not how fast a process starts. Dynamic members keep the short one: their kill is timed.
 */
const STATIC_SESSION_MS = 20_000;
const ENV = { STREAMBUS_GROUPS_INITIAL_REBALANCE_DELAY: '200ms', STREAMBUS_CLUSTER_FAILED_GRACE: '60s' };

describe('consumer groups on a replicated cluster', () => {
  const dirs = [1, 2, 3].map((id) => tempDir(`streambus-groups-${id}-`));
  const brokers = new Map<number, BrokerProcess>();
  const members: GroupConsumerProcess[] = [];
  let client: StreamBusClient | undefined;

  afterAll(async () => {
    await Promise.all(members.map((m) => m.kill()));
    await client?.close();
    await Promise.all([...brokers.values()].map((b) => b.kill()));
    for (const d of dirs) removeDir(d);
  });

  it('shares partitions, survives a member kill and a coordinator restart, and keeps static members', async () => {
    let view: GroupView | undefined;
    try {
      await scenario((v) => {
        view = v;
      });
    } catch (err) {
      // Say what the group looked like and what the members said, so a stall can be diagnosed.
      console.log('last group view:', JSON.stringify(view));
      for (const [i, m] of members.entries())
        console.log(`member ${i} stderr:`, m.stderr.slice(-10).join('\n'));
      if (client !== undefined) {
        const md = await client
          .admin()
          .metadata([TOPIC])
          .catch((e: unknown) => String(e));
        console.log('metadata:', JSON.stringify(md));
      }
      throw err;
    }
  }, 240_000);

  async function scenario(onView: (v: GroupView) => void): Promise<void> {
    const peerPorts = await freePorts(3);
    const voters = peerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(',');
    const start = (id: number) =>
      startClusterBroker({
        id,
        dataDir: dirs[id - 1] as string,
        peerPort: peerPorts[id - 1] as number,
        voters,
        env: ENV,
      });
    for (const [i, b] of (await Promise.all([start(1), start(2), start(3)])).entries()) brokers.set(i + 1, b);
    await until('a metadata leader', () => agreedLeader([...brokers.values()]));
    await until('three alive brokers', () => allSeeAlive([...brokers.values()], 3));
    const bootstrap = [...brokers.values()].map((b) => b.bootstrap).join(',');
    client = createClient({ bootstrap, requestTimeoutMs: 5_000 });
    const admin = client.admin();
    const groups = admin.groups();
    await admin.createTopic({ name: TOPIC, partitions: 6, replicationFactor: 3 });

    // Sequenced messages, acks=all, spread over the six partitions.
    // Brokers restart below: leadership moves while sends are in flight, so the producer gets a retry budget
    // that outlasts a failover on a loaded machine (the SDK default, 5 retries, is about 2 s).
    const producer = client.producer({ lingerMs: 5, retries: 30 });
    const produced: string[] = [];
    let next = 0;
    const produce = async (count: number) => {
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++, next++) {
        const value = `v${next}`;
        sends.push(
          producer
            .send({ topic: TOPIC, messages: [{ value, partition: next % 6 }] })
            .then(() => produced.push(value)),
        );
      }
      await Promise.all(sends);
    };
    await produce(600);

    // Committed offsets are sampled throughout: none may ever move backwards.
    const highest = new Map<string, number>();
    const regressions: string[] = [];
    let view: GroupView | undefined;
    const sample = async (): Promise<GroupView | undefined> => {
      try {
        view = await groups.describeGroup(GROUP);
        onView(view);
      } catch {
        return undefined; // the coordinator is moving: sample again later
      }
      for (const o of view.offsets) {
        const key = `${o.topic}-${o.partition}`;
        if (o.committed < 0) continue;
        if (o.committed < (highest.get(key) ?? -1))
          regressions.push(`${key}: ${highest.get(key)} -> ${o.committed}`);
        highest.set(key, Math.max(o.committed, highest.get(key) ?? -1));
      }
      return view;
    };
    const spread = (v: GroupView | undefined) =>
      v === undefined || v.state !== 'Stable'
        ? ''
        : v.members
            .map((m) => m.partitions.length)
            .sort()
            .join(',');

    const member = (instanceId?: string) => {
      const m = startGroupConsumer({
        bootstrap,
        topic: TOPIC,
        group: GROUP,
        sessionTimeoutMs: instanceId === undefined ? SESSION_MS : STATIC_SESSION_MS,
        ...(instanceId === undefined ? {} : { instanceId }),
      });
      members.push(m);
      return m;
    };
    const [a, b, c] = [member(), member(), member('static-c')];
    await until(
      'three members with two partitions each',
      async () => (spread(await sample()) === '2,2,2' ? true : undefined),
      30_000,
    );

    // kill -9 one member (a dynamic one): the two others take its partitions.
    await produce(300);
    const killedAt = Date.now();
    await (a as GroupConsumerProcess).kill();
    await until(
      'two members with three partitions each',
      async () => (spread(await sample()) === '3,3' ? true : undefined),
      30_000,
    );
    const moveMs = Date.now() - killedAt;
    console.log(
      `partitions of a killed member reassigned ${moveMs} ms after kill -9 (session timeout ${SESSION_MS} ms)`,
    );
    expect(moveMs).toBeLessThan(SESSION_MS + 10_000);

    // Restart the group coordinator's broker: no committed offset is lost, the group resumes.
    await produce(300);
    await until(
      'everything consumed and committed',
      async () => {
        const v = await sample();
        return v !== undefined && v.offsets.length === 6 && v.offsets.every((o) => o.lag === 0)
          ? true
          : undefined;
      },
      30_000,
    );
    const before = new Map(highest);
    const coordinatorId = (view as GroupView).coordinatorId;
    const coordinator = brokers.get(coordinatorId) as BrokerProcess;
    await coordinator.kill();
    brokers.set(coordinatorId, await start(coordinatorId));
    await produce(300);
    await until(
      'the group consuming again after the coordinator restart',
      async () => {
        const v = await sample();
        return v !== undefined &&
          v.offsets.length === 6 &&
          v.offsets.every((o) => o.lag === 0) &&
          spread(v) === '3,3'
          ? true
          : undefined;
      },
      40_000,
    );
    for (const [key, offset] of before) expect(highest.get(key) ?? -1).toBeGreaterThanOrEqual(offset);

    // A static member restarted within its session timeout: same generation, same partitions.
    const generation = (view as GroupView).generation;
    const staticPartitions = (view as GroupView).members.find(
      (m) => m.groupInstanceId === 'static-c',
    )?.partitions;
    await (c as GroupConsumerProcess).kill();
    const c2 = member('static-c');
    await produce(300);
    await until(
      'the restarted static member consuming',
      async () => {
        const v = await sample();
        return v?.offsets.every((o) => o.lag === 0) && c2.values.length > 0 ? true : undefined;
      },
      30_000,
    );
    expect((view as GroupView).generation).toBe(generation);
    expect((view as GroupView).members.find((m) => m.groupInstanceId === 'static-c')?.partitions).toEqual(
      staticPartitions,
    );

    // At least once: every acknowledged message was printed by some member.
    const consumed = new Set([a, b, c, c2].flatMap((m) => (m as GroupConsumerProcess).values));
    const missing = produced.filter((v) => !consumed.has(v));
    expect(missing.slice(0, 10)).toEqual([]);
    expect(regressions).toEqual([]);
    await producer.flush();
  }
});
