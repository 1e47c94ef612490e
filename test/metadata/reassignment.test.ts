import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, type MetadataCommand } from '../../src/metadata/commands.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/metadata/snapshot.js';
import type { MetadataState } from '../../src/metadata/state.js';
import { NO_BROKER } from '../../src/metadata/types.js';
import { codeOf, createTopic, expectOk, finalizedAt } from './fixtures.js';

function alter(
  topic: string,
  partitions: { partition: number; replicas: number[] | null }[],
): MetadataCommand {
  return { type: 'alterPartitionAssignments', topic, partitions };
}

/** A rejected command leaves the image, version included, byte for byte as it was. */
function expectRefused(s: MetadataState, c: MetadataCommand, code: string, message?: RegExp): void {
  const before = Buffer.from(encodeSnapshot(s, 0)).toString('hex');
  const r = s.apply(c);
  expect(codeOf(r)).toBe(code);
  if (message !== undefined && !r.ok) expect(r.message).toMatch(message);
  expect(Buffer.from(encodeSnapshot(s, 0)).toString('hex')).toBe(before);
}

const partition = (s: MetadataState, topic: string, p = 0) => s.topics.get(topic)?.partitions[p];

describe('alterPartitionAssignments (an operator reassigns or unpins partitions)', () => {
  it('is refused below the partition-reassignment feature level (an older replica cannot decode it)', () => {
    const s = finalizedAt(3, FEATURE.pinnedAssignments);
    expectOk(s.apply(createTopic('t', [[1, 2]], { pinned: true })));
    expectRefused(s, alter('t', [{ partition: 0, replicas: null }]), 'FEATURE_NOT_FINALIZED', /level 5/);
    expectRefused(s, alter('t', [{ partition: 0, replicas: [2, 3] }]), 'FEATURE_NOT_FINALIZED');
  });

  it('a list of other brokers becomes the target, and the partition is pinned; its replicas do not change yet', () => {
    const s = finalizedAt(4, FEATURE.partitionReassignment);
    expectOk(s.apply(createTopic('t', [[1, 2, 3]])));
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [4, 1, 2] }])));
    expect(partition(s, 't')).toMatchObject({
      replicas: [1, 2, 3],
      leaderEpoch: 0,
      pinned: true,
      targetReplicas: [4, 1, 2],
    });
  });

  it('the same brokers in another order are written at once (a new preferred leader), with a new epoch', () => {
    const s = finalizedAt(3, FEATURE.partitionReassignment);
    expectOk(s.apply(createTopic('t', [[1, 2, 3]])));
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [3, 1, 2] }])));
    const p = partition(s, 't');
    expect(p).toMatchObject({ replicas: [3, 1, 2], isr: [1, 2, 3], leader: 1, leaderEpoch: 1, pinned: true });
    expect(Object.hasOwn(p ?? {}, 'targetReplicas')).toBe(false);
  });

  it('is idempotent: the same command again changes nothing, version included', () => {
    const s = finalizedAt(4, FEATURE.partitionReassignment);
    expectOk(
      s.apply(
        createTopic('t', [
          [1, 2, 3],
          [2, 3, 4],
        ]),
      ),
    );
    const c = alter('t', [
      { partition: 0, replicas: [4, 1, 2] },
      { partition: 1, replicas: [3, 4, 2] },
    ]);
    expectOk(s.apply(c));
    const after = Buffer.from(encodeSnapshot(s, 0)).toString('hex');
    expectOk(s.apply(c));
    expect(Buffer.from(encodeSnapshot(s, 0)).toString('hex')).toBe(after);
    expectOk(s.apply(alter('t', [{ partition: 1, replicas: null }])));
    const unpinned = s.version;
    expectOk(s.apply(alter('t', [{ partition: 1, replicas: null }])));
    expect(s.version).toBe(unpinned);
  });

  it('a new list replaces a target not reached yet', () => {
    const s = finalizedAt(5, FEATURE.partitionReassignment);
    expectOk(s.apply(createTopic('t', [[1, 2, 3]])));
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [4, 1, 2] }])));
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [5, 1, 2] }])));
    expect(partition(s, 't')?.targetReplicas).toEqual([5, 1, 2]);
  });

  it('a replica-set change keeps the target until the replicas are its brokers, then ends it', () => {
    const s = finalizedAt(5, FEATURE.partitionReassignment);
    expectOk(s.apply(createTopic('t', [[1, 2, 3]])));
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [4, 5, 1] }])));
    const move = (expectedEpoch: number, replicas: number[]) =>
      expectOk(
        s.apply({
          type: 'updateReplicaSet',
          topic: 't',
          partition: 0,
          expectedEpoch,
          replicas,
          isr: replicas.filter((id) => id <= 3),
          leader: 1,
        }),
      );
    move(0, [1, 2, 4]);
    expect(partition(s, 't')).toMatchObject({ replicas: [1, 2, 4], pinned: true, targetReplicas: [4, 5, 1] });
    move(1, [4, 5, 1]);
    const p = partition(s, 't');
    expect(p).toMatchObject({ replicas: [4, 5, 1], pinned: true });
    expect(Object.hasOwn(p ?? {}, 'targetReplicas')).toBe(false);
  });

  it('unpin drops the pin and a target not reached: the rebalancer manages the partition again', () => {
    const s = finalizedAt(4, FEATURE.partitionReassignment);
    expectOk(
      s.apply(
        createTopic(
          't',
          [
            [1, 2],
            [2, 3],
          ],
          { pinned: true },
        ),
      ),
    );
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [3, 4] }])));
    expectOk(
      s.apply(
        alter('t', [
          { partition: 0, replicas: null },
          { partition: 1, replicas: null },
        ]),
      ),
    );
    for (const p of s.topics.get('t')?.partitions ?? []) {
      expect(Object.hasOwn(p, 'pinned') || Object.hasOwn(p, 'targetReplicas')).toBe(false);
    }
    expect(s.topics.get('t')?.partitions.map((p) => p.replicas)).toEqual([
      [1, 2],
      [2, 3],
    ]);
  });

  it('refuses, all or none, with a code that says what is wrong', () => {
    const s = finalizedAt(5, FEATURE.partitionReassignment);
    expectOk(
      s.apply(
        createTopic('t', [
          [1, 2, 3],
          [2, 3, 4],
        ]),
      ),
    );
    expectOk(s.apply({ type: 'updateBroker', brokerId: 4, state: 'draining' }));
    expectOk(s.apply({ type: 'updateBroker', brokerId: 5, state: 'decommissioned' }));
    const ok = { partition: 0, replicas: [3, 2, 1] };
    const refused = (p: { partition: number; replicas: number[] | null }, code: string, why: RegExp) =>
      expectRefused(s, alter('t', [ok, p]), code, why);
    expectRefused(s, alter('nope', [ok]), 'UNKNOWN_TOPIC_OR_PARTITION');
    expectRefused(s, alter('t', []), 'INVALID_REQUEST', /no partition/);
    refused({ partition: 2, replicas: [1, 2, 3] }, 'UNKNOWN_TOPIC_OR_PARTITION', /t\/2/);
    refused({ partition: 0, replicas: null }, 'INVALID_REQUEST', /listed twice/);
    refused({ partition: 1, replicas: [] }, 'INVALID_REPLICA_ASSIGNMENT', /empty/);
    refused({ partition: 1, replicas: [1, 2, 1] }, 'INVALID_REPLICA_ASSIGNMENT', /broker 1 is listed twice/);
    refused({ partition: 1, replicas: [1, 2, 9] }, 'UNKNOWN_BROKER', /broker 9 is not registered/);
    refused({ partition: 1, replicas: [1, 2, 4] }, 'INVALID_REPLICA_ASSIGNMENT', /broker 4 is draining/);
    refused(
      { partition: 1, replicas: [1, 2, 5] },
      'INVALID_REPLICA_ASSIGNMENT',
      /broker 5 is decommissioned/,
    );
  });

  it('below the replication-factor level, a list of another length is refused as an older build refuses it', () => {
    // Every replica applies the command: one of an older build refuses it with these words, so a newer one
    // must too, or their images diverge.
    const s = finalizedAt(4, FEATURE.clientQuotas);
    expectOk(s.apply(createTopic('t', [[1, 2, 3]], { configs: { min_insync_replicas: '3' } })));
    expectRefused(
      s,
      alter('t', [{ partition: 0, replicas: [1, 2] }]),
      'INVALID_REPLICATION_FACTOR',
      /^t\/0 has 3 replicas and the list names 2: a reassignment keeps the replication factor$/,
    );
    expectRefused(s, alter('t', [{ partition: 0, replicas: [1, 2, 3, 4] }]), 'INVALID_REPLICATION_FACTOR');
    expectRefused(s, alter('t', [{ partition: 0, replicas: [] }]), 'INVALID_REPLICA_ASSIGNMENT', /empty/);
    // The same count is accepted, whatever min_insync_replicas says (an older build does not check it).
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [4, 1, 2] }])));
  });

  it('a longer or shorter list becomes the target: a reassignment may change the replication factor', () => {
    const s = finalizedAt(5, FEATURE.reassignmentReplicationFactor);
    expectOk(s.apply(createTopic('t', [[1, 2]])));
    expectOk(s.apply(createTopic('u', [[1, 2, 3]])));
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [1, 2, 3] }])));
    expectOk(s.apply(alter('u', [{ partition: 0, replicas: [4, 1] }])));
    expect(partition(s, 't')).toMatchObject({ replicas: [1, 2], pinned: true, targetReplicas: [1, 2, 3] });
    expect(partition(s, 'u')).toMatchObject({ replicas: [1, 2, 3], pinned: true, targetReplicas: [4, 1] });
    // The write that gives partition 0 its third replica reaches the target and ends it.
    expectOk(
      s.apply({
        type: 'updateReplicaSet',
        topic: 't',
        partition: 0,
        expectedEpoch: 0,
        replicas: [1, 2, 3],
        isr: [1, 2],
        leader: 1,
      }),
    );
    const grown = partition(s, 't');
    expect(grown).toMatchObject({ replicas: [1, 2, 3], pinned: true });
    expect(Object.hasOwn(grown ?? {}, 'targetReplicas')).toBe(false);
  });

  it('refuses a list shorter than the effective min_insync_replicas (acks=all writes would fail for good)', () => {
    const s = finalizedAt(4, FEATURE.reassignmentReplicationFactor);
    expectOk(s.apply(createTopic('t', [[1, 2, 3]], { configs: { min_insync_replicas: '2' } })));
    expectOk(s.apply(createTopic('u', [[1, 2, 3]])));
    expectRefused(
      s,
      alter('t', [{ partition: 0, replicas: [4] }]),
      'INVALID_REPLICATION_FACTOR',
      /t\/0: the list names 1 replica\(s\) but min_insync_replicas is 2/,
    );
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [4, 1] }])));
    // The cluster's default counts where the topic sets none.
    expectOk(s.apply({ type: 'setClusterConfig', set: { min_insync_replicas: '3' }, delete: [] }));
    expectRefused(
      s,
      alter('u', [{ partition: 0, replicas: [1, 2] }]),
      'INVALID_REPLICATION_FACTOR',
      /min_insync_replicas is 3/,
    );
    expectOk(s.apply(alter('u', [{ partition: 0, replicas: [4, 1, 2] }])));
  });

  it('a move that only adds or only removes a replica is recorded, completed and survives the codecs', () => {
    const s = finalizedAt(3, FEATURE.reassignmentReplicationFactor);
    expectOk(s.apply(createTopic('t', [[1, 2]])));
    const add = { topic: 't', partition: 0, from: NO_BROKER, to: 3 };
    const remove = { topic: 't', partition: 0, from: 2, to: NO_BROKER };
    for (const m of [add, remove]) {
      const c: MetadataCommand = { type: 'recordMove', ...m, state: 'pending' };
      expect(decodeCommand(encodeCommand(c, 'r'))).toEqual({ command: c, requestId: 'r' });
      expectOk(s.apply(c));
    }
    const { state } = decodeSnapshot(encodeSnapshot(s, 2));
    expect([...state.moves.values()].map(({ from, to }) => [from, to])).toEqual([
      [NO_BROKER, 3],
      [2, NO_BROKER],
    ]);
    for (const m of [add, remove]) expectOk(s.apply({ type: 'completeMove', ...m }));
    expect(s.moves.size).toBe(0);
    const neither: MetadataCommand = {
      type: 'recordMove',
      ...add,
      from: NO_BROKER,
      to: NO_BROKER,
      state: 'pending',
    };
    expect(() => decodeCommand(encodeCommand(neither, 'r'))).toThrow(/both empty/);
    expectRefused(s, { type: 'recordMove', ...add, to: 9, state: 'pending' }, 'UNKNOWN_BROKER');
  });

  it('the command and a target survive the log and snapshot codecs', () => {
    const c = alter('t', [
      { partition: 0, replicas: [3, 1] },
      { partition: 2, replicas: null },
    ]);
    expect(decodeCommand(encodeCommand(c, 'r-1'))).toEqual({ command: c, requestId: 'r-1' });
    const s = finalizedAt(3, FEATURE.partitionReassignment);
    expectOk(s.apply(createTopic('t', [[1, 2]])));
    expectOk(s.apply(alter('t', [{ partition: 0, replicas: [3, 1] }])));
    const bytes = encodeSnapshot(s, 4);
    const { state } = decodeSnapshot(bytes);
    expect(partition(state, 't')).toEqual(partition(s, 't'));
    expect(Buffer.from(encodeSnapshot(state, 4))).toEqual(Buffer.from(bytes));
  });
});
