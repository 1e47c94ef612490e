/**
 * The broker side of AlterPartitionAssignments: refused, naming the brokers that hold it back, until the
 * cluster's feature level includes it (a mixed-version cluster: an older replica could not decode the
 * command); then written through the store, whose apply refusals reach the caller with their codes; and
 * refused on a single broker.
 */
import { describe, expect, it } from 'vitest';
import { handleAlterPartitionAssignments } from '../../src/broker/handlers/cluster.js';
import type { HandlerContext, RequestSource } from '../../src/broker/handlers/context.js';
import { alterPartitionAssignments } from '../../src/broker/partition-reassignment.js';
import { ERRORS, StreamBusError } from '../../src/errors/index.js';
import type { MetadataCommand } from '../../src/metadata/commands.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { MetadataState } from '../../src/metadata/state.js';
import { silentLogger } from '../../src/observability/index.js';
import { createTopic, expectOk, register } from '../metadata/fixtures.js';

/** Brokers 1-3 on builds supporting `levels[i]`, the cluster finalized at `finalized`, and topic t on 1,2. */
function cluster(levels: number[], finalized: number) {
  const s = new MetadataState();
  for (const [i, featureLevel] of levels.entries()) expectOk(s.apply(register(i + 1, { featureLevel })));
  const brokers = [...s.brokers.values()].map((b) => ({ brokerId: b.id, epoch: b.epoch }));
  if (finalized > 1) expectOk(s.apply({ type: 'finalizeFeatureLevel', level: finalized, brokers }));
  expectOk(s.apply(createTopic('t', [[1, 2]])));
  const written: MetadataCommand[] = [];
  const store = {
    readLinearizable: async () => s.view(),
    alterPartitionAssignments: async (
      a: Omit<MetadataCommand & { type: 'alterPartitionAssignments' }, 'type'>,
    ) => {
      const command: MetadataCommand = { type: 'alterPartitionAssignments', ...a };
      written.push(command);
      const r = s.apply(command);
      if (!r.ok) throw new StreamBusError(r.code, { message: r.message });
      return r;
    },
  };
  return { s, written, deps: { store, logger: silentLogger() } };
}

const reassign = { topic: 't', partitions: [{ partition: 0, replicas: [3, 1] }] };

describe('alterPartitionAssignments on a broker', () => {
  it('is refused in a mixed-version cluster, naming the brokers on an older build, and writes nothing', async () => {
    const { deps, written } = cluster(
      [FEATURE.partitionReassignment, FEATURE.pinnedAssignments, FEATURE.partitionReassignment],
      FEATURE.pinnedAssignments,
    );
    const err = await alterPartitionAssignments(deps, reassign).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamBusError);
    expect((err as StreamBusError).code).toBe('FEATURE_NOT_FINALIZED');
    expect((err as StreamBusError).message).toMatch(
      /feature level 5 and the cluster is at 4: broker\(s\) 2 run a build/,
    );
    expect(written).toEqual([]);
  });

  it('a list of another length is refused until the replication-factor level, naming the brokers behind', async () => {
    const level = FEATURE.reassignmentReplicationFactor;
    const { deps, written, s } = cluster([level, FEATURE.clientQuotas, level], FEATURE.clientQuotas);
    const grow = { topic: 't', partitions: [{ partition: 0, replicas: [1, 2, 3] }] };
    await expect(alterPartitionAssignments(deps, grow)).rejects.toMatchObject({
      code: 'FEATURE_NOT_FINALIZED',
      message: expect.stringMatching(
        /replica count by reassignment needs cluster feature level 8 .*broker\(s\) 2/,
      ),
    });
    expect(written).toEqual([]);
    // The same count goes through at the reassignment level.
    await alterPartitionAssignments(deps, reassign);
    expect(s.topics.get('t')?.partitions[0]?.targetReplicas).toEqual([3, 1]);
  });

  it('says the level is about to be finalized when every broker supports it', async () => {
    const { deps } = cluster([5, 5, 5], FEATURE.pinnedAssignments);
    await expect(alterPartitionAssignments(deps, reassign)).rejects.toThrow(/finalizes the level shortly/);
  });

  it('from the level on, records the change; apply refusals come back with their codes', async () => {
    const { deps, s } = cluster([5, 5, 5], FEATURE.partitionReassignment);
    await alterPartitionAssignments(deps, reassign);
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({
      replicas: [1, 2],
      targetReplicas: [3, 1],
      pinned: true,
    });
    await expect(
      alterPartitionAssignments(deps, { topic: 't', partitions: [{ partition: 0, replicas: [1, 9] }] }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_BROKER' });
    await alterPartitionAssignments(deps, { topic: 't', partitions: [{ partition: 0, replicas: null }] });
    expect(s.topics.get('t')?.partitions[0]?.pinned).toBeUndefined();
  });

  it('a single broker answers INVALID_REQUEST (cluster mode only)', async () => {
    // No cluster: the handler answers before it would wait on the request's deadline.
    const res = await handleAlterPartitionAssignments({} as HandlerContext, reassign, {} as RequestSource);
    expect(res.error?.code).toBe(ERRORS.INVALID_REQUEST.wireCode);
    expect(res.error?.message).toMatch(/cluster mode/);
  });
});
