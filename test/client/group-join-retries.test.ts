/**
 * A group member whose coordinator cannot be found keeps trying to join, and with a bounded `retries` its
 * poll() says so, as poll() does for fetches: before, the join loop retried COORDINATOR_NOT_AVAILABLE
 * forever and poll() waited on it without a word, whatever `retries` said.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { StreamBusError } from '../../src/errors/index.js';
import { ApiKey, wireErrorOf } from '../../src/protocol/index.js';
import { FakeBroker } from './fake-broker.js';
import { serveOneMemberGroup } from './fake-group.js';

let broker: FakeBroker;
let cluster: Cluster;
let consumer: Consumer | undefined;

afterEach(async () => {
  await consumer?.close();
  await cluster?.close();
  await broker?.stop();
});

async function setup(retries?: number): Promise<void> {
  broker = await FakeBroker.start();
  broker.createTopic('t', 1);
  serveOneMemberGroup(broker);
  cluster = new Cluster({ bootstrap: [broker.bootstrap] });
  consumer = new Consumer(cluster, {
    maxWaitMs: 20,
    retryBackoffMs: 5,
    retryBackoffMaxMs: 10,
    ...(retries === undefined ? {} : { retries }),
    group: { groupId: 'g', heartbeatIntervalMs: 100, sessionTimeoutMs: 3_000 },
  });
  consumer.subscribe(['t']);
}

/** Answers FindCoordinator with COORDINATOR_NOT_AVAILABLE until `restore()`. */
function coordinatorUnavailable(): { restore(): void } {
  const answer = broker.handlers[ApiKey.FindCoordinator]!;
  broker.handlers[ApiKey.FindCoordinator] = () => ({
    error: wireErrorOf('COORDINATOR_NOT_AVAILABLE'),
    nodeId: -1,
    host: '',
    port: 0,
  });
  return {
    restore: () => {
      broker.handlers[ApiKey.FindCoordinator] = answer;
    },
  };
}

describe('a consumer group whose coordinator is not available', () => {
  it('throws from poll() once `retries` joins failed, names the group, and joins once it is back', async () => {
    await setup(3);
    const outage = coordinatorUnavailable();
    const err = await consumer!.poll().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamBusError);
    expect((err as StreamBusError).code).toBe('COORDINATOR_NOT_AVAILABLE');
    expect((err as StreamBusError).message).toMatch(/group g: no stable membership after 4 tries/);
    // One try and three retries (a lookup may be hedged to a second broker on a slow machine: not counted).
    expect(broker.requestsOf(ApiKey.FindCoordinator).length).toBeGreaterThanOrEqual(4);
    // Still out of retries: the next poll tries once more and throws again.
    await expect(consumer!.poll()).rejects.toThrow(/no stable membership after 5 tries/);
    outage.restore();
    expect(await consumer!.poll()).toEqual([]);
    expect(consumer!.assignment()).toEqual([{ topic: 't', partition: 0 }]);
  });

  it('keeps trying by default (a coordinator outage is a pause) and a poll with a signal returns []', async () => {
    await setup();
    const outage = coordinatorUnavailable();
    expect(await consumer!.poll({ signal: AbortSignal.timeout(300) })).toEqual([]);
    // Well past any small retry count, without a throw.
    expect(broker.requestsOf(ApiKey.FindCoordinator).length).toBeGreaterThan(5);
    outage.restore();
    expect(await consumer!.poll()).toEqual([]);
    expect(consumer!.assignment()).toEqual([{ topic: 't', partition: 0 }]);
  });
});
