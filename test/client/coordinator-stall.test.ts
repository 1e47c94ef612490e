/**
 * A group coordinator that stops answering without closing its connections (a paused or cut-off broker).
 * QA, three brokers: a member stopped reading every partition while its coordinator was paused, and the
 * new coordinator expired it (its heartbeats hung for the 30 s request timeout, longer than the 10 s
 * session), so its partitions were read again elsewhere (~7,000 messages twice). Now automatic commits run
 * in the background, and a heartbeat unanswered for a third of the session gives the coordinator up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/index.js';
import { FakeBroker } from './fake-broker.js';
import { serveOneMemberGroup } from './fake-group.js';

let broker: FakeBroker;
let cluster: Cluster;
let consumer: Consumer | undefined;
/** Releases every request held by `hang()`. */
let release: () => void = () => undefined;

afterEach(async () => {
  release();
  await consumer?.close();
  await cluster?.close();
  await broker?.stop();
});

/** A promise that settles only once the test ends (a coordinator that does not answer). */
function hang<T>(answer: () => T | PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve) => {
    const before = release;
    release = () => {
      before();
      resolve(answer());
    };
  });
}

async function setup(): Promise<void> {
  broker = await FakeBroker.start();
  broker.createTopic('t', 2);
  cluster = new Cluster({ bootstrap: [broker.bootstrap] });
}

async function produce(values: string[]): Promise<void> {
  const producer = new Producer(cluster, { lingerMs: 0 });
  await producer.send({ topic: 't', messages: values.map((value, i) => ({ partition: i % 2, value })) });
}

async function readValues(c: Consumer, count: number, timeoutMs: number): Promise<string[]> {
  const got: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline) {
    const batch = await c.poll({ signal: AbortSignal.timeout(200) }).catch(() => []);
    got.push(...batch.map((m) => m.value?.toString() ?? ''));
  }
  return got;
}

describe('a group coordinator that stops answering', () => {
  it('holds no poll(): an automatic commit it leaves unanswered runs in the background', async () => {
    await setup();
    const group = serveOneMemberGroup(broker);
    consumer = new Consumer(cluster, {
      autoOffsetReset: 'earliest',
      maxWaitMs: 50,
      group: { groupId: 'g', heartbeatIntervalMs: 100, sessionTimeoutMs: 3_000, autoCommitIntervalMs: 50 },
    });
    consumer.subscribe(['t']);
    await produce(['a', 'b']);
    expect((await readValues(consumer, 2, 5_000)).sort()).toEqual(['a', 'b']);
    const answerCommit = broker.handlers[ApiKey.OffsetCommit]!;
    broker.handlers[ApiKey.OffsetCommit] = (req) => hang(() => answerCommit(req, undefined as never));
    const commitsBefore = broker.requestsOf(ApiKey.OffsetCommit).length;
    await produce(['c', 'd']);
    // The next automatic commit is sent and left unanswered; reading goes on meanwhile.
    expect((await readValues(consumer, 2, 3_000)).sort()).toEqual(['c', 'd']);
    expect(broker.requestsOf(ApiKey.OffsetCommit).length).toBeGreaterThan(commitsBefore);
    expect(group.generation()).toBe(1);
    // The coordinator answers again: the commit's retry lands and close() does not wait for it.
    broker.handlers[ApiKey.OffsetCommit] = answerCommit;
    release();
  });

  it('is given up on once a heartbeat waits a third of the session: the member finds the coordinator anew', async () => {
    await setup();
    serveOneMemberGroup(broker);
    consumer = new Consumer(cluster, {
      autoOffsetReset: 'earliest',
      maxWaitMs: 50,
      group: { groupId: 'g', heartbeatIntervalMs: 200, sessionTimeoutMs: 3_000 },
    });
    consumer.subscribe(['t']);
    await produce(['a']);
    expect(await readValues(consumer, 1, 5_000)).toEqual(['a']);
    const answerHeartbeat = broker.handlers[ApiKey.Heartbeat]!;
    let held = 0;
    broker.handlers[ApiKey.Heartbeat] = (req) => {
      // The first heartbeat from now on is never answered; later ones are, at once.
      if (held++ === 0) return hang(() => answerHeartbeat(req, undefined as never));
      return answerHeartbeat(req, undefined as never);
    };
    const finds = broker.requestsOf(ApiKey.FindCoordinator).length;
    const answeredAfterStall = () => held >= 2;
    const deadline = Date.now() + 4_000;
    while (!answeredAfterStall() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Within the session (3 s): given up on after 1 s (a third of it), looked up again, heartbeating again.
    expect(answeredAfterStall()).toBe(true);
    expect(broker.requestsOf(ApiKey.FindCoordinator).length).toBeGreaterThan(finds);
  });
});
