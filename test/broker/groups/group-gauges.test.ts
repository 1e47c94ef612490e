/**
 * The group gauges a coordinator samples: members per group, groups per state, and lag (high watermark
 * minus committed offset) for every committed partition this broker holds a copy of, led here or
 * followed, and none for a partition it holds no copy of.
 */
import { describe, expect, it } from 'vitest';
import { type GaugedShard, sampleGroupGauges } from '../../../src/broker/groups/group-metrics.js';
import type { GroupDescription } from '../../../src/broker/groups/group-types.js';
import { MetricsRegistry } from '../../../src/observability/index.js';

function shard(
  groupId: string,
  offsets: { topic: string; partition: number; offset: number }[],
): GaugedShard {
  const description = {
    groupId,
    phase: 'Stable',
    generation: 1,
    protocolType: 'consumer',
    protocol: 'range',
    leaderId: 'm1',
    members: [
      { memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: 'h', assignment: Buffer.alloc(0) },
    ],
  } as unknown as GroupDescription;
  return {
    groupIds: () => [groupId],
    describe: (id: string) => (id === groupId ? description : undefined),
    committed: () => offsets.map((o) => ({ ...o, metadata: '', commitTimestampMs: 0 })),
  } as unknown as GaugedShard;
}

describe('sampleGroupGauges', () => {
  it('reports lag for partitions led or followed here, and none for partitions without a copy here', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    // p0 led here (HW 100), p1 followed here (HW 80), p2 held only by other brokers.
    const highWatermarks = new Map([
      ['orders/0', 100],
      ['orders/1', 80],
    ]);
    const catalog = { highWatermarkHere: (t: string, p: number) => highWatermarks.get(`${t}/${p}`) };
    const groups = {
      loadedShards: async () => [
        shard('billing', [
          { topic: 'orders', partition: 0, offset: 90 },
          { topic: 'orders', partition: 1, offset: 20 },
          { topic: 'orders', partition: 2, offset: 5 },
        ]),
      ],
    };
    await sampleGroupGauges(groups, catalog, metrics);
    const lines = (await metrics.text())
      .split('\n')
      .filter((l) => l.startsWith('streambus_consumer_group_lag{'));
    const lag = new Map(
      lines.map((l) => [l.match(/partition="(\d+)"/)?.[1], Number(l.slice(l.lastIndexOf(' ') + 1))]),
    );
    expect(lag).toEqual(
      new Map([
        ['0', 10],
        ['1', 60],
      ]),
    );
    expect(await metrics.text()).toMatch(/streambus_consumer_group_members\{[^}]*group="billing"[^}]*\} 1/);
  });
});
