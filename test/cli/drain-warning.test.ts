/**
 * `cluster drain` / `decommission` warn on stderr when the broker's replicas have nowhere to go (QA: on a
 * 3-broker cluster with replication factor 3, `cluster drain 3` answered only `broker 3 is draining` and
 * stayed NOT safe to stop for ever).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { drainCapacityWarning, type TopicReplicas } from '../../cmd/commands/cluster.js';
import { createClient } from '../../src/index.js';
import type { ClusterBrokerDescription, ClusterBrokerState } from '../../src/protocol/messages.js';
import { freePorts } from '../helpers/cluster-processes.js';
import { aliveInMetadata, type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { runCli } from '../helpers/run-cli.js';

function broker(id: number, state: ClusterBrokerState = 'alive'): ClusterBrokerDescription {
  return {
    id,
    host: '127.0.2.1',
    port: 9092,
    rack: null,
    state,
    peerHost: '127.0.2.1',
    peerPort: 9093,
    epoch: 1,
    lastHeartbeatMs: 0,
    replicas: 0,
    leaders: 0,
    movingOff: 0,
  };
}

/** `count` partitions, each on the brokers `replicas`. */
function topic(name: string, count: number, replicas: number[]): TopicReplicas {
  return { name, partitions: Array.from({ length: count }, () => ({ replicas })) };
}

describe('the drain capacity warning', () => {
  it('says when a drained broker of 3 holds replicas of a topic with replication factor 3', () => {
    const brokers = [broker(1), broker(2), broker(3, 'draining')];
    const warning = drainCapacityWarning(
      brokers,
      [topic('orders', 12, [1, 2, 3]), topic('a', 24, [3, 1, 2])],
      3,
    );
    expect(warning).toMatch(/^warning: 36 partitions on broker 3 have nowhere to go: /);
    expect(warning).toMatch(/orders \(replication factor 3\), a \(replication factor 3\)/);
    expect(warning).toMatch(
      /there are 2\. They stay on it and it never becomes safe to stop: add a broker first/,
    );
  });

  it('is silent when every partition on the broker can move', () => {
    const brokers = [broker(1), broker(2), broker(3), broker(4, 'draining')];
    expect(drainCapacityWarning(brokers, [topic('orders', 12, [1, 2, 4])], 4)).toBe('');
    // Topics without a replica on the drained broker do not matter, whatever their factor.
    expect(drainCapacityWarning(brokers.slice(0, 3), [topic('orders', 3, [1, 2, 3])], 4)).toBe('');
  });

  it('counts only alive brokers as somewhere to go', () => {
    const brokers = [broker(1), broker(2), broker(3, 'failed'), broker(4, 'draining'), broker(5, 'draining')];
    expect(drainCapacityWarning(brokers, [topic('t', 1, [1, 2, 4])], 4)).toMatch(
      /1 partitions on broker 4 have nowhere to go: t \(replication factor 3\) need that many alive brokers besides it, and there are 2/,
    );
    expect(drainCapacityWarning(brokers, [topic('t', 1, [1, 4])], 4)).toBe('');
  });
});

describe('cluster drain on a cluster with no spare broker', () => {
  const HOST = '127.0.2.41';
  let broker: InProcessBroker | undefined;
  afterEach(async () => {
    await broker?.destroy();
    broker = undefined;
  });

  it('prints the warning on stderr after the new state', async () => {
    const [peerPort] = await freePorts(1, HOST);
    broker = await startInProcessBroker({
      'broker.id': 1,
      'broker.listen': `${HOST}:0`,
      'health.http.bind_address': HOST,
      'cluster.enabled': true,
      'cluster.peer_listen': `${HOST}:${peerPort}`,
      'cluster.voters': `1@${HOST}:${peerPort}`,
    });
    await aliveInMetadata(broker);
    const client = createClient({ bootstrap: broker.bootstrap, requestTimeoutMs: 10_000 });
    try {
      await client.admin().createTopic({ name: 'orders', partitions: 2, replicationFactor: 1 });
    } finally {
      await client.close();
    }
    const r = await runCli(['cluster', 'drain', '1', '--bootstrap', broker.bootstrap]);
    expect(r.stdout).toBe('broker 1 is draining\n');
    expect(r.stderr).toMatch(
      /^warning: 2 partitions on broker 1 have nowhere to go: orders \(replication factor 1\) need that many alive brokers besides it, and there are 0\./,
    );
    expect(r.code).toBe(0);
  }, 60_000);
});
