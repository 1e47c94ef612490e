/**
 * How the client's cluster view behaves when a broker stops answering without closing its connections (a
 * paused process): aged metadata does not hold sends, and read-only requests move on to another broker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_DEFAULTS, Cluster } from '../../src/client/cluster.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey, type MetadataResponse } from '../../src/protocol/index.js';
import {
  eventually,
  FakeBroker,
  holdMetadata,
  ManualTimers,
  NO_REPLY,
  shareClusterMetadata,
} from './fake-broker.js';

const brokers: FakeBroker[] = [];
let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  for (const b of brokers.splice(0)) await b.stop();
});

async function startBroker(): Promise<FakeBroker> {
  const b = await FakeBroker.start();
  b.createTopic('t', 1);
  brokers.push(b);
  return b;
}

/** Whether `p` has settled after the I/O already pending has run (no real waiting involved). */
async function settledSoon<T>(p: Promise<T>): Promise<boolean> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setTimeout(r, 50));
  return settled;
}

const metadataRequests = (b: FakeBroker) =>
  b.requests.filter((r) => r.header.apiKey === ApiKey.Metadata).length;

describe('Cluster metadata when a broker stops answering', () => {
  it('answers aged metadata at once and refreshes it in the background; invalidated metadata is waited for', async () => {
    const b = await startBroker();
    let now = 1_000;
    cluster = new Cluster({ bootstrap: [b.bootstrap], metadataMaxAgeMs: 5_000, clock: { nowMs: () => now } });
    const first = await cluster.metadata(['t']);
    expect(metadataRequests(b)).toBe(1);

    // Older than metadataMaxAgeMs while the broker holds the refresh: the cached answer comes back anyway.
    const release = holdMetadata(b);
    now += 6_000;
    const aged = cluster.metadata(['t']);
    expect(await settledSoon(aged)).toBe(true);
    expect(await aged).toBe(first);
    expect(metadataRequests(b)).toBe(2); // the background refresh went out

    // After an error invalidated it, the next use waits for fresh metadata.
    cluster.invalidateMetadata();
    const waited = cluster.metadata(['t']);
    expect(await settledSoon(waited)).toBe(false);
    release();
    const fresh: MetadataResponse = await waited;
    expect(fresh).not.toBe(first);
    expect(fresh.topics.map((t) => t.name)).toEqual(['t']);
  });

  it('moves a Metadata request that timed out on a silent broker to the next one, and then asks the least loaded first', async () => {
    const silent = await startBroker();
    const answering = await startBroker();
    cluster = new Cluster({ bootstrap: [silent.bootstrap, answering.bootstrap], requestTimeoutMs: 300 });
    // Both connections open, the silent broker's first (so it is asked first while loads are equal).
    await cluster.connectionAt(silent.bootstrap);
    await cluster.connectionAt(answering.bootstrap);
    silent.handlers[ApiKey.Metadata] = () => NO_REPLY;

    for (let i = 0; i < 3; i++) {
      const md = await cluster.fetchMetadata(['t']);
      expect(md.brokers[0]?.port).toBe(answering.port);
    }
    // The silent broker was asked once: its unanswered request keeps it loaded, so it went last afterwards.
    expect(metadataRequests(silent)).toBe(1);
    expect(metadataRequests(answering)).toBe(3);
  });

  it('asks the next bootstrap broker after hedgeAfterMs when the first accepts but never answers (a stopped process)', async () => {
    const stopped = await startBroker();
    const answering = await startBroker();
    stopped.handlers[ApiKey.Metadata] = () => NO_REPLY;
    stopped.handlers[ApiKey.DescribeCluster] = () => NO_REPLY;
    // Timers that fire only when told: the request timeout (30 s) never does here.
    const timers = new ManualTimers();
    cluster = new Cluster({ bootstrap: [stopped.bootstrap, answering.bootstrap], timers });
    const md = cluster.fetchMetadata(['t']);
    await eventually(() => metadataRequests(stopped) === 1, 'the request to the stopped broker');
    expect(await settledSoon(md)).toBe(false);
    expect(metadataRequests(answering)).toBe(0);

    expect(timers.fireSetFor(CLUSTER_DEFAULTS.hedgeAfterMs)).toBe(1);
    expect((await md).brokers[0]?.port).toBe(answering.port);
    // The stopped broker's connection now has a request stuck on it: the next read goes elsewhere first.
    const described = cluster.requestAny(ApiKey.DescribeCluster, {}, { apiVersion: 0 });
    expect(await settledSoon(described)).toBe(true);
    expect(stopped.requestsOf(ApiKey.DescribeCluster)).toHaveLength(0);
  });

  it('hedges InitProducerId (asked twice, one fresh id goes unused): a stopped broker costs hedgeAfterMs', async () => {
    const stopped = await startBroker();
    const answering = await startBroker();
    stopped.handlers[ApiKey.InitProducerId] = () => NO_REPLY;
    const timers = new ManualTimers();
    cluster = new Cluster({ bootstrap: [stopped.bootstrap, answering.bootstrap], timers });
    const identity = cluster.requestAny(ApiKey.InitProducerId, {});
    await eventually(() => stopped.requestsOf(ApiKey.InitProducerId).length === 1, 'the first ask');
    expect(await settledSoon(identity)).toBe(false);
    expect(timers.fireSetFor(CLUSTER_DEFAULTS.hedgeAfterMs)).toBe(1);
    const answer = await identity;
    expect(answer.error).toBeNull();
    expect(answering.requestsOf(ApiKey.InitProducerId)).toHaveLength(1);
  });

  it('never hedges a write: it waits on the one broker asked', async () => {
    const stopped = await startBroker();
    const answering = await startBroker();
    stopped.handlers[ApiKey.CreateTopics] = () => NO_REPLY;
    const timers = new ManualTimers();
    cluster = new Cluster({ bootstrap: [stopped.bootstrap, answering.bootstrap], timers });
    const created = cluster
      .requestAny(ApiKey.CreateTopics, {
        topics: [{ name: 'u', partitions: 1, replicationFactor: 1, configs: {} }],
        timeoutMs: 100,
        validateOnly: false,
      })
      .catch(() => undefined);
    await eventually(() => stopped.requestsOf(ApiKey.CreateTopics).length === 1, 'the write');
    expect(timers.fireSetFor(CLUSTER_DEFAULTS.hedgeAfterMs)).toBe(0);
    expect(await settledSoon(created)).toBe(false);
    expect(answering.requestsOf(ApiKey.CreateTopics)).toHaveLength(0);
    await cluster.close();
    await created;
  });

  it('asks a known broker it has no connection to before queueing behind a request stuck on an open one', async () => {
    const stuck = await startBroker();
    const other = await startBroker();
    // Metadata from the first broker names both.
    stuck.handlers[ApiKey.Metadata] = (body) => ({
      ...stuck.metadata(body),
      brokers: [
        { id: 1, host: stuck.host, port: stuck.port, rack: null },
        { id: 2, host: other.host, port: other.port, rack: null },
      ],
    });
    cluster = new Cluster({ bootstrap: [stuck.bootstrap], requestTimeoutMs: 60_000 });
    await cluster.fetchMetadata(['t']);
    await cluster.refreshMetadata();
    // A request the first broker never answers; answers come back in order, so anything sent after it waits.
    stuck.handlers[ApiKey.ApiVersions] = () => NO_REPLY;
    const held = cluster.request(1, ApiKey.ApiVersions, {}).catch(() => undefined);
    await eventually(() => stuck.requestsOf(ApiKey.ApiVersions).length === 1, 'the stuck request');
    const md = cluster.fetchMetadata(['t']);
    expect(await settledSoon(md)).toBe(true);
    expect(metadataRequests(other)).toBe(1);
    expect(metadataRequests(stuck)).toBe(2);
    await cluster.close();
    await held;
  });

  it('spreads metadata requests over idle connections, so a broker answering stale metadata is not always asked', async () => {
    const all = [await startBroker(), await startBroker(), await startBroker()];
    cluster = new Cluster({ bootstrap: all.map((b) => b.bootstrap) });
    for (const b of all) await cluster.connectionAt(b.bootstrap);
    for (let i = 0; i < 6; i++) await cluster.fetchMetadata(['t']);
    expect(all.map(metadataRequests)).toEqual([2, 2, 2]);
  });

  it('does not re-send a write that timed out to another broker (only read-only requests move on)', async () => {
    const silent = await startBroker();
    const answering = await startBroker();
    cluster = new Cluster({ bootstrap: [silent.bootstrap, answering.bootstrap], requestTimeoutMs: 200 });
    await cluster.connectionAt(silent.bootstrap);
    silent.handlers[ApiKey.CreateTopics] = () => NO_REPLY;
    await expect(
      cluster.requestAny(ApiKey.CreateTopics, {
        topics: [{ name: 'u', partitions: 1, replicationFactor: 1, configs: {} }],
        timeoutMs: 100,
        validateOnly: false,
      }),
    ).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
    const creates = (b: FakeBroker) =>
      b.requests.filter((r) => r.header.apiKey === ApiKey.CreateTopics).length;
    expect(creates(silent)).toBe(1);
    expect(creates(answering)).toBe(0);
  });

  it('a produce that timed out on a silent leader is retried at the leader fresh metadata names', async () => {
    // Brokers 1 and 2 describe the same cluster; the partition's leader moves from 1 to 2 while 1 is silent
    // (paused), as a Raft group elects a new leader without the old one.
    const one = await startBroker();
    const two = await startBroker();
    let leaderId = 1;
    shareClusterMetadata([one, two], () => leaderId);
    cluster = new Cluster({ bootstrap: [one.bootstrap], requestTimeoutMs: 300 });
    const producer = new Producer(cluster, {
      lingerMs: 0,
      retries: 2,
      retryBackoffMs: 10,
      idempotent: false,
      ackTimeoutMs: 200,
    });
    await producer.send({ topic: 't', messages: [{ value: 'a', partition: 0 }] });
    expect(one.requestsOf(ApiKey.Produce)).toHaveLength(1);

    one.handlers[ApiKey.Produce] = () => NO_REPLY;
    one.handlers[ApiKey.Metadata] = () => NO_REPLY;
    leaderId = 2;
    const [result] = await producer.send({ topic: 't', messages: [{ value: 'b', partition: 0 }] });
    expect(result?.offset).toBe(0); // broker 2's first record
    expect(one.requestsOf(ApiKey.Produce)).toHaveLength(2); // the timed-out attempt only
    expect(two.requestsOf(ApiKey.Produce)).toHaveLength(1);
  });

  it('an idempotent produce left unanswered by a replaced leader moves to the new one well before ackTimeoutMs', async () => {
    const one = await startBroker();
    const two = await startBroker();
    let leaderId = 1;
    shareClusterMetadata([one, two], () => leaderId);
    cluster = new Cluster({ bootstrap: [one.bootstrap] });
    const producer = new Producer(cluster, { lingerMs: 0, ackTimeoutMs: 60_000 });
    await producer.send({ topic: 't', messages: [{ value: 'a', partition: 0 }] });
    // Broker 1 stops answering (paused) and broker 2 takes the partition over.
    one.handlers[ApiKey.Produce] = () => NO_REPLY;
    const sent = producer.send({ topic: 't', messages: [{ value: 'b', partition: 0 }] });
    await eventually(() => one.requestsOf(ApiKey.Produce).length === 2, 'the unanswered request');
    leaderId = 2;
    const done = await Promise.race([
      sent.then(() => 'sent'),
      new Promise((r) => setTimeout(() => r('still waiting'), 5_000)),
    ]);
    expect(done).toBe('sent');
    expect(two.requestsOf(ApiKey.Produce)).toHaveLength(1);
    expect((await sent)[0]?.offset).toBe(0); // broker 2's first record
  });
});
