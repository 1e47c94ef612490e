import { describe, expect, it } from 'vitest';
import { Cleanup } from '../../chaos/harness/cleanup.js';
import { type BrokerCluster, brokerIdOf, nodeHost, votersList } from '../../chaos/harness/cluster.js';
import { leadersByPartition } from '../../chaos/harness/cluster-state.js';
import { MemoryHistory } from '../../chaos/harness/history.js';
import {
  ALL_SCENARIOS,
  defaultBrokers,
  FIXED_PLAN_SCENARIOS,
  SCENARIOS,
} from '../../chaos/harness/scenarios.js';
import type { ProxyFaults } from '../../chaos/harness/tcp-proxy.js';
import type { NemesisContext } from '../../chaos/nemesis/nemesis.js';
import { PartitionNemesis } from '../../chaos/nemesis/partition.js';
import { BUSIEST_PARTITION, leaderKillPlan } from '../../chaos/nemesis/plan.js';
import { SLOW_FAULTS, slowNode } from '../../chaos/nemesis/slow.js';
import type { MetadataResponse } from '../../src/protocol/messages.js';

describe('cluster harness wiring', () => {
  it('gives every node its own address, a broker id from 1, and one voter list naming them all', () => {
    expect([0, 1, 2].map((i) => nodeHost(i))).toEqual(['127.0.1.1', '127.0.1.2', '127.0.1.3']);
    expect(nodeHost(1, '127.0.2')).toBe('127.0.2.2');
    expect([0, 1, 2].map(brokerIdOf)).toEqual([1, 2, 3]);
    const voters = votersList([
      { host: '127.0.1.1', peerPort: 4001 },
      { host: '127.0.1.2', peerPort: 4002 },
      { host: '127.0.1.3', peerPort: 4003 },
    ]);
    expect(voters).toBe('1@127.0.1.1:4001,2@127.0.1.2:4002,3@127.0.1.3:4003');
  });

  it('maps partition leaders to node indexes, skipping partitions without a known leader', () => {
    const md: MetadataResponse = {
      clusterId: 'c',
      controllerId: 1,
      brokers: [],
      topics: [
        {
          name: 'chaos',
          error: null,
          internal: false,
          partitions: [
            { partition: 0, leaderId: 3, leaderEpoch: 1, replicas: [1, 2, 3], isr: [1, 2, 3], error: null },
            { partition: 1, leaderId: -1, leaderEpoch: 1, replicas: [1, 2, 3], isr: [], error: null },
            { partition: 2, leaderId: 9, leaderEpoch: 1, replicas: [1, 2, 3], isr: [1], error: null },
            { partition: 3, leaderId: 1, leaderEpoch: 1, replicas: [1, 2, 3], isr: [1, 2], error: null },
          ],
        },
      ],
    };
    const indexOf = (id: number): number | null => (id >= 1 && id <= 3 ? id - 1 : null);
    expect([...leadersByPartition(md, 'chaos', indexOf)]).toEqual([
      [0, 2],
      [3, 0],
    ]);
    expect(leadersByPartition(md, 'other', indexOf).size).toBe(0);
  });

  it('runs cluster scenarios on 3 brokers by default and includes them in --scenario all', () => {
    for (const name of [
      'cluster-kill',
      'cluster-pause',
      'cluster-partition',
      'cluster-slow',
      'cluster-mixed',
      'cluster-leader-kill',
    ]) {
      expect(SCENARIOS[name]).toBeDefined();
      expect(ALL_SCENARIOS).toContain(name);
      expect(defaultBrokers(name)).toBe(3);
    }
    expect(SCENARIOS['cluster-mixed']).toEqual(expect.arrayContaining(['kill', 'partition', 'slow']));
    expect(SCENARIOS['cluster-slow']).toEqual(['slow']);
    expect(defaultBrokers('mixed')).toBe(1);
  });

  it('plans the leader-kill acceptance run as a kill -9 of the busiest partition leader every 10 s', () => {
    const plan = leaderKillPlan({ durationMs: 60_000 });
    expect(plan.map((s) => s.atMs)).toEqual([10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(plan.every((s) => s.nemesis === 'kill' && s.leaderOf === BUSIEST_PARTITION)).toBe(true);
    expect(plan.every((s) => s.atMs + s.durationMs + 3000 <= 60_000)).toBe(true);
    expect(FIXED_PLAN_SCENARIOS.has('cluster-leader-kill')).toBe(true);
  });

  it('skips the partition nemesis, saying why, on standalone brokers and on fewer than 3', async () => {
    const ctx = (replicated: boolean, nodes: number): NemesisContext => ({
      cluster: { replicated, nodes: Array.from({ length: nodes }) } as unknown as BrokerCluster,
      history: new MemoryHistory(),
      nowMs: () => 0,
      log: () => {},
    });
    const nemesis = new PartitionNemesis(new Cleanup());
    expect(await nemesis.unavailableReason(ctx(false, 1))).toMatch(/replicated cluster/);
    expect(await nemesis.unavailableReason(ctx(true, 2))).toMatch(/at least 3 brokers/);
    await nemesis.cleanup();
  });

  it('slows every path of the target node, client and both directions between brokers, and undoes exactly that', () => {
    // Fake proxies recording what the nemesis sets: which proxy, for which source ('*': every connection).
    const set = new Map<string, ProxyFaults>();
    const proxy = (name: string) => ({
      setFaults: (f: ProxyFaults | null, source?: string) => {
        const key = `${name} from ${source ?? '*'}`;
        if (f === null) set.delete(key);
        else set.set(key, f);
      },
    });
    const nodes = [0, 1, 2].map((i) => ({
      host: nodeHost(i),
      proxy: proxy(`client ${i}`),
      peerProxy: proxy(`peer ${i}`),
    }));
    const cluster = { nodes, node: (i: number) => nodes[i]! } as unknown as BrokerCluster;
    const undo = slowNode(cluster, 1, SLOW_FAULTS);
    // Node 1's own proxies slow everything; the other peer proxies only what node 1 dialled there.
    expect([...set.keys()].sort()).toEqual([
      'client 1 from *',
      'peer 0 from 127.0.1.2',
      'peer 1 from *',
      'peer 2 from 127.0.1.2',
    ]);
    expect([...set.values()].every((f) => f === SLOW_FAULTS)).toBe(true);
    undo();
    expect(set.size).toBe(0);
  });
});
