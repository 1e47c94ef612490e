/** The pure parts of `streambus dev-cluster`: port layout, voter set, broker flags, readiness. */
import { describe, expect, test } from 'vitest';
import {
  blockPorts,
  bootstrapOf,
  checkDevClusterOptions,
  planDevCluster,
  voterCount,
} from '../../cmd/dev-cluster/plan.js';
import { type BrokerProbe, evaluateReadiness } from '../../cmd/dev-cluster/readiness.js';

describe('dev-cluster plan', () => {
  test('1, 3 and 5 brokers all vote; other sizes vote with the first 1 or 3', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 9].map(voterCount)).toEqual([1, 1, 3, 3, 5, 3, 3, 3]);
  });

  test('broker i listens on base+(i-1)*10 for clients, +1 for peers, +2 for health', () => {
    expect(blockPorts(9092, 2)).toEqual([
      { client: 9092, peer: 9093, http: 9094 },
      { client: 9102, peer: 9103, http: 9104 },
    ]);
  });

  test('every broker gets its node id, own data dir and listeners, and the same voter list', () => {
    const plan = planDevCluster({ dataDir: '/d', host: '127.0.0.1', ports: blockPorts(9092, 4) });
    expect(plan.map((b) => [b.id, b.voter, b.dataDir, b.logFile])).toEqual([
      [1, true, '/d/broker-1', '/d/broker-1.log'],
      [2, true, '/d/broker-2', '/d/broker-2.log'],
      [3, true, '/d/broker-3', '/d/broker-3.log'],
      [4, false, '/d/broker-4', '/d/broker-4.log'],
    ]);
    expect(plan[3]?.args).toEqual([
      'broker',
      '--node-id',
      '4',
      '--data-dir',
      '/d/broker-4',
      '--listen',
      '127.0.0.1:9122',
      '--peer-listen',
      '127.0.0.1:9123',
      '--http-listen',
      '127.0.0.1:9124',
      '--voters',
      '1@127.0.0.1:9093,2@127.0.0.1:9103,3@127.0.0.1:9113',
    ]);
    expect(bootstrapOf(plan)).toBe('127.0.0.1:9092,127.0.0.1:9102,127.0.0.1:9112,127.0.0.1:9122');
  });

  test('rejects broker counts and base ports that cannot work', () => {
    expect(checkDevClusterOptions(3, 9092)).toBeNull();
    expect(checkDevClusterOptions(3, 0)).toBeNull();
    expect(checkDevClusterOptions(0, 9092)).toMatch(/--brokers/);
    expect(checkDevClusterOptions(10, 9092)).toMatch(/--brokers/);
    expect(checkDevClusterOptions(3, 80)).toMatch(/--base-port/);
    expect(checkDevClusterOptions(3, 65_520)).toMatch(/--base-port/);
  });
});

function probe(id: number, leader: number | null, alive: number[], readyCode = 200, term = 2): BrokerProbe {
  return {
    id,
    readyCode,
    raft: { leader_id: leader, term, brokers: alive.map((b) => ({ id: b, state: 'alive' })) },
  };
}

describe('dev-cluster readiness', () => {
  test('ready once all answer /health/ready, agree on a leader, and the leader lists all as alive', () => {
    expect(evaluateReadiness([probe(1, 2, [1, 2], 200, 5), probe(2, 2, [1, 2], 200, 5)])).toEqual({
      ready: true,
      leaderId: 2,
      term: 5,
    });
  });
  test('not ready while a broker is unreachable or not ready', () => {
    const r = evaluateReadiness([probe(1, 2, [1, 2]), { id: 2, readyCode: 0, raft: null }]);
    expect(r).toEqual({ ready: false, waitingFor: '/health/ready on broker 2' });
  });
  test('not ready while the brokers disagree on the leader or none is known', () => {
    expect(evaluateReadiness([probe(1, 1, [1, 2]), probe(2, 2, [1, 2])]).ready).toBe(false);
    expect(evaluateReadiness([probe(1, null, [1, 2]), probe(2, null, [1, 2])]).ready).toBe(false);
  });
  test('not ready while they name the same leader in different terms (it was elected again meanwhile)', () => {
    expect(evaluateReadiness([probe(1, 2, [1, 2], 200, 2), probe(2, 2, [1, 2], 200, 4)])).toEqual({
      ready: false,
      waitingFor: 'every broker to know the same metadata leader',
    });
  });
  test('not ready while a broker has not registered as alive in the leader’s registry', () => {
    expect(evaluateReadiness([probe(1, 1, [1]), probe(2, 1, [1, 2])])).toEqual({
      ready: false,
      waitingFor: 'broker 2 to register as alive',
    });
  });
});
