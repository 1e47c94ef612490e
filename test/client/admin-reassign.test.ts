/**
 * Admin.reassignPartitions / unpinPartitions over a fake cluster: what they send, a usage error for a wrong
 * shape, and an older broker's UNKNOWN_API reported as what it means (a rolling upgrade not finished).
 */
import { describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/admin.js';
import type { Cluster } from '../../src/client/cluster.js';
import { StreamBusError } from '../../src/errors/index.js';
import { ApiKey } from '../../src/protocol/index.js';

function fakeCluster(answer: (apiKey: number, body: unknown) => unknown): {
  cluster: Cluster;
  sent: [number, unknown][];
} {
  const sent: [number, unknown][] = [];
  const fake = {
    metadata: async () => ({ controllerId: -1, brokers: [], topics: [] }),
    invalidateMetadata: () => {},
    requestAny: async (apiKey: number, body: unknown) => {
      sent.push([apiKey, body]);
      return answer(apiKey, body);
    },
  };
  return { cluster: fake as unknown as Cluster, sent };
}

const described = {
  topics: [
    {
      name: 't',
      error: null,
      configs: {},
      partitions: [0, 1, 2].map((partition) => ({
        partition,
        leaderId: -1,
        replicas: [1, 2],
        isr: [1, 2],
        logStartOffset: 0,
        highWatermark: 0,
        sizeBytes: 0,
        pinned: true,
      })),
    },
  ],
};

describe('Admin: reassigning and unpinning partitions', () => {
  it('reassignPartitions sends the lists; unpinPartitions without partitions unpins every partition', async () => {
    const { cluster, sent } = fakeCluster((apiKey) =>
      apiKey === ApiKey.DescribeTopics ? described : { error: null },
    );
    const admin = new Admin(cluster);
    await admin.reassignPartitions('t', [{ partition: 1, replicas: [3, 1] }]);
    await admin.unpinPartitions('t');
    await admin.unpinPartitions('t', [2]);
    expect(sent.filter(([k]) => k === ApiKey.AlterPartitionAssignments).map(([, body]) => body)).toEqual([
      { topic: 't', partitions: [{ partition: 1, replicas: [3, 1] }] },
      {
        topic: 't',
        partitions: [
          { partition: 0, replicas: null },
          { partition: 1, replicas: null },
          { partition: 2, replicas: null },
        ],
      },
      { topic: 't', partitions: [{ partition: 2, replicas: null }] },
    ]);
  });

  it('a wrong shape is a usage error, before anything is sent', async () => {
    const { cluster, sent } = fakeCluster(() => ({ error: null }));
    const admin = new Admin(cluster) as unknown as { reassignPartitions(...args: unknown[]): Promise<void> };
    await expect(admin.reassignPartitions('t', { 0: [1, 2] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      operation: 'admin.reassignPartitions',
    });
    await expect(admin.reassignPartitions('t', [{ partition: 0, replicas: '1,2' }])).rejects.toThrow(
      /\[0\]: expected an array of \{ partition, replicas \}/,
    );
    expect(sent).toEqual([]);
  });

  it("an older broker's UNKNOWN_API is reported as FEATURE_NOT_FINALIZED, saying to finish the upgrade", async () => {
    const { cluster } = fakeCluster(() => {
      throw new StreamBusError('UNKNOWN_API', { message: 'unknown api key 27' });
    });
    const err = await new Admin(cluster)
      .reassignPartitions('t', [{ partition: 0, replicas: [1, 2] }])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FEATURE_NOT_FINALIZED', operation: 'admin.reassignPartitions' });
    expect((err as Error).message).toMatch(/upgrade every broker first/);
  });
});
