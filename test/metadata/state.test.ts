import { describe, expect, it } from 'vitest';
import type { MetadataCommand } from '../../src/metadata/commands.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { encodeSnapshot } from '../../src/metadata/snapshot.js';
import { effectiveTopicConfig, MetadataState, RECENT_REQUESTS_MAX } from '../../src/metadata/state.js';
import { codeOf, createTopic, expectOk, register, withBrokers } from './fixtures.js';

/** A rejected command must leave the state, version included, byte for byte as it was. */
function expectRejected(s: MetadataState, c: MetadataCommand, code: string): void {
  const before = Buffer.from(encodeSnapshot(s, 0)).toString('hex');
  const r = s.apply(c);
  expect(codeOf(r)).toBe(code);
  expect(r.version).toBe(s.version);
  expect(Buffer.from(encodeSnapshot(s, 0)).toString('hex')).toBe(before);
}

describe('brokers', () => {
  it('registerBroker adds a starting broker, bumps the version, and re-registration is a new incarnation', () => {
    const s = new MetadataState();
    expect(s.apply(register(1))).toEqual({ ok: true, version: 1 });
    const b = s.brokers.get(1);
    expect(b).toMatchObject({
      id: 1,
      state: 'starting',
      epoch: 1,
      lastHeartbeatMs: 1000,
      registeredVersion: 1,
    });
    expectOk(s.apply({ type: 'updateBroker', brokerId: 1, state: 'alive' }));
    expectOk(s.apply(register(1, { clientAddress: { host: 'h2', port: 1 }, atMs: 5000 })));
    expect(s.brokers.get(1)).toMatchObject({
      state: 'starting',
      epoch: 2,
      clientAddress: { host: 'h2', port: 1 },
    });
    expect(s.version).toBe(3);
  });

  it('updateBroker changes only the given fields and rejects an unknown broker', () => {
    const s = withBrokers(2);
    const before = s.brokers.get(2);
    expectOk(s.apply({ type: 'updateBroker', brokerId: 2, state: 'draining', rack: null, capacityHint: 2 }));
    expect(s.brokers.get(2)).toEqual({ ...before, state: 'draining', rack: null, capacityHint: 2 });
    expectRejected(s, { type: 'updateBroker', brokerId: 9, state: 'alive' }, 'UNKNOWN_BROKER');
  });

  it('a decommissioned broker cannot be revived by updateBroker, only by registering again', () => {
    const s = withBrokers(1);
    expectOk(s.apply({ type: 'updateBroker', brokerId: 1, state: 'decommissioned' }));
    expectRejected(s, { type: 'updateBroker', brokerId: 1, state: 'alive' }, 'METADATA_CONFLICT');
    expectOk(s.apply({ type: 'updateBroker', brokerId: 1, peerAddress: { host: 'x', port: 2 } }));
    expectOk(s.apply(register(1)));
    expect(s.brokers.get(1)?.state).toBe('starting');
  });

  it('heartbeat records many brokers in one command, never moves last-seen backwards, reports unknown ids', () => {
    const s = withBrokers(3);
    const r = expectOk(
      s.apply({
        type: 'heartbeat',
        beats: [
          { brokerId: 1, atMs: 2000 },
          { brokerId: 2, atMs: 500 },
          { brokerId: 7, atMs: 2000 },
        ],
      }),
    );
    expect(r.unknownBrokerIds).toEqual([7]);
    expect(s.brokers.get(1)?.lastHeartbeatMs).toBe(2000);
    expect(s.brokers.get(2)?.lastHeartbeatMs).toBe(1000);
    expect(s.brokers.get(3)?.lastHeartbeatMs).toBe(1000);
    expect(s.version).toBe(4);
    expectRejected(s, { type: 'heartbeat', beats: [{ brokerId: 8, atMs: 1 }] }, 'UNKNOWN_BROKER');
  });

  it('unregisterBroker removes a broker without replicas and refuses one that still hosts some', () => {
    const s = withBrokers(3);
    expectOk(s.apply(createTopic('t', [[1, 2]])));
    expectRejected(s, { type: 'unregisterBroker', brokerId: 1 }, 'METADATA_CONFLICT');
    expectRejected(s, { type: 'unregisterBroker', brokerId: 9 }, 'UNKNOWN_BROKER');
    expectOk(s.apply({ type: 'unregisterBroker', brokerId: 3 }));
    expect(s.brokers.has(3)).toBe(false);
  });
});

describe('topics', () => {
  it('createTopic stores the caller’s assignment with the first replica as leader hint, epoch 0, full ISR', () => {
    const s = withBrokers(3);
    const r = expectOk(
      s.apply(
        createTopic(
          'orders',
          [
            [1, 2],
            [2, 3],
          ],
          { configs: { 'retention.ms': '1000' }, internal: true },
        ),
      ),
    );
    const t = s.topics.get('orders');
    expect(t).toEqual({
      name: 'orders',
      replicationFactor: 2,
      configs: { 'retention.ms': '1000' },
      internal: true,
      createdVersion: r.version,
      partitions: [
        { partition: 0, replicas: [1, 2], leader: 1, leaderEpoch: 0, isr: [1, 2] },
        { partition: 1, replicas: [2, 3], leader: 2, leaderEpoch: 0, isr: [2, 3] },
      ],
    });
  });

  it('createTopic rejects a duplicate, a bad name, no partitions, a wrong or repeated replica set, unknown brokers, bad config keys', () => {
    const s = withBrokers(3);
    expectOk(s.apply(createTopic('t', [[1]])));
    expectRejected(s, createTopic('t', [[2]]), 'TOPIC_ALREADY_EXISTS');
    expectRejected(s, createTopic('bad name', [[1]]), 'INVALID_TOPIC_NAME');
    expectRejected(s, createTopic('..', [[1]]), 'INVALID_TOPIC_NAME');
    expectRejected(s, createTopic('x'.repeat(250), [[1]]), 'INVALID_TOPIC_NAME');
    expectRejected(s, createTopic('u', [], { replicationFactor: 1 }), 'INVALID_PARTITIONS');
    expectRejected(s, createTopic('u', [[]], { replicationFactor: 0 }), 'INVALID_REPLICATION_FACTOR');
    expectRejected(s, createTopic('u', [[1, 2], [3]]), 'INVALID_REPLICATION_FACTOR');
    expectRejected(s, createTopic('u', [[1, 1]]), 'INVALID_REPLICATION_FACTOR');
    expectRejected(s, createTopic('u', [[1, 9]]), 'UNKNOWN_BROKER');
    expectRejected(s, createTopic('u', [[1]], { configs: { '': 'x' } }), 'INVALID_TOPIC_CONFIG');
  });

  it('deleteTopic removes the topic and its pending moves; an unknown topic is rejected', () => {
    const s = withBrokers(3);
    expectOk(s.apply(createTopic('t', [[1, 2]])));
    expectOk(s.apply(createTopic('keep', [[1, 2]])));
    expectOk(s.apply({ type: 'recordMove', topic: 't', partition: 0, from: 1, to: 3, state: 'pending' }));
    expectOk(s.apply({ type: 'recordMove', topic: 'keep', partition: 0, from: 1, to: 3, state: 'pending' }));
    expectOk(s.apply({ type: 'deleteTopic', name: 't' }));
    expect(s.topics.has('t')).toBe(false);
    expect([...s.moves.values()].map((m) => m.topic)).toEqual(['keep']);
    expectRejected(s, { type: 'deleteTopic', name: 't' }, 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('addPartitions appends numbered partitions with the topic’s replication factor', () => {
    const s = withBrokers(3);
    expectOk(s.apply(createTopic('t', [[1, 2]])));
    expectOk(
      s.apply({
        type: 'addPartitions',
        name: 't',
        assignment: [
          [2, 3],
          [3, 1],
        ],
      }),
    );
    expect(s.topics.get('t')?.partitions.map((p) => [p.partition, p.leader])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    expectRejected(
      s,
      { type: 'addPartitions', name: 'nope', assignment: [[1, 2]] },
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
    expectRejected(s, { type: 'addPartitions', name: 't', assignment: [] }, 'INVALID_PARTITIONS');
    expectRejected(s, { type: 'addPartitions', name: 't', assignment: [[1]] }, 'INVALID_REPLICATION_FACTOR');
    expectRejected(s, { type: 'addPartitions', name: 't', assignment: [[1, 5]] }, 'UNKNOWN_BROKER');
    // Planned from a count the topic no longer has (two growths racing): refused, nothing added.
    expectRejected(
      s,
      { type: 'addPartitions', name: 't', assignment: [[1, 2]], expectedPartitions: 2 },
      'METADATA_CONFLICT',
    );
    expectOk(s.apply({ type: 'addPartitions', name: 't', assignment: [[1, 2]], expectedPartitions: 3 }));
    expect(s.topics.get('t')?.partitions).toHaveLength(4);
  });

  it('alterTopicConfig sets and deletes overrides; the effective config overlays cluster defaults', () => {
    const s = withBrokers(1);
    expectOk(s.apply(createTopic('t', [[1]], { configs: { a: '1', b: '2' } })));
    expectOk(s.apply({ type: 'alterTopicConfig', name: 't', set: { c: '3', a: '9' }, delete: ['b'] }));
    expect(s.topics.get('t')?.configs).toEqual({ a: '9', c: '3' });
    expectOk(s.apply({ type: 'setClusterConfig', set: { a: 'default', d: '4' }, delete: [] }));
    const view = s.view();
    expect(effectiveTopicConfig(view, view.topics.get('t')!)).toEqual({ a: '9', c: '3', d: '4' });
    expectRejected(
      s,
      { type: 'alterTopicConfig', name: 'x', set: {}, delete: [] },
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
    expectRejected(
      s,
      { type: 'alterTopicConfig', name: 't', set: { '': '1' }, delete: [] },
      'INVALID_TOPIC_CONFIG',
    );
  });
});

describe('replica sets (compare-and-set on the leader epoch)', () => {
  function topic() {
    const s = withBrokers(4);
    expectOk(s.apply(createTopic('t', [[1, 2, 3]])));
    return s;
  }

  it('updateReplicaSet with the current epoch replaces replicas, ISR and leader and bumps the epoch', () => {
    const s = topic();
    const r = expectOk(
      s.apply({
        type: 'updateReplicaSet',
        topic: 't',
        partition: 0,
        expectedEpoch: 0,
        replicas: [1, 2, 3, 4],
        isr: [1, 2],
        leader: 2,
      }),
    );
    expect(r.leaderEpoch).toBe(1);
    expect(s.topics.get('t')?.partitions[0]).toEqual({
      partition: 0,
      replicas: [1, 2, 3, 4],
      isr: [1, 2],
      leader: 2,
      leaderEpoch: 1,
    });
  });

  it('a stale epoch is rejected with METADATA_CONFLICT and changes nothing', () => {
    const s = topic();
    const cmd: MetadataCommand = {
      type: 'updateLeader',
      topic: 't',
      partition: 0,
      expectedEpoch: 0,
      leader: 2,
    };
    expectOk(s.apply(cmd));
    expectRejected(s, cmd, 'METADATA_CONFLICT');
    expectRejected(
      s,
      {
        type: 'updateReplicaSet',
        topic: 't',
        partition: 0,
        expectedEpoch: 0,
        replicas: [1],
        isr: [1],
        leader: 1,
      },
      'METADATA_CONFLICT',
    );
  });

  it('updateReplicaSet rejects unknown partitions, empty or repeated replicas, unknown brokers, ISR or leader outside the replicas', () => {
    const s = topic();
    const base = {
      type: 'updateReplicaSet',
      topic: 't',
      partition: 0,
      expectedEpoch: 0,
      replicas: [1, 2],
      isr: [1],
      leader: 1,
    } as const;
    expectRejected(s, { ...base, partition: 1 }, 'UNKNOWN_TOPIC_OR_PARTITION');
    expectRejected(s, { ...base, topic: 'u' }, 'UNKNOWN_TOPIC_OR_PARTITION');
    expectRejected(s, { ...base, replicas: [] }, 'INVALID_REPLICATION_FACTOR');
    expectRejected(s, { ...base, replicas: [1, 1] }, 'INVALID_REPLICATION_FACTOR');
    expectRejected(s, { ...base, replicas: [1, 9] }, 'UNKNOWN_BROKER');
    expectRejected(s, { ...base, isr: [3] }, 'METADATA_CONFLICT');
    expectRejected(s, { ...base, isr: [1, 1] }, 'METADATA_CONFLICT');
    expectRejected(s, { ...base, leader: 4 }, 'METADATA_CONFLICT');
    expectOk(s.apply({ ...base, leader: -1, isr: [] }));
  });

  it('updateLeader moves the leader hint within the replicas, optionally with a new ISR', () => {
    const s = topic();
    expectOk(
      s.apply({ type: 'updateLeader', topic: 't', partition: 0, expectedEpoch: 0, leader: 3, isr: [3] }),
    );
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({
      leader: 3,
      isr: [3],
      leaderEpoch: 1,
      replicas: [1, 2, 3],
    });
    expectOk(s.apply({ type: 'updateLeader', topic: 't', partition: 0, expectedEpoch: 1, leader: 2 }));
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({ leader: 2, isr: [3], leaderEpoch: 2 });
    expectRejected(
      s,
      { type: 'updateLeader', topic: 't', partition: 0, expectedEpoch: 2, leader: 4 },
      'METADATA_CONFLICT',
    );
    expectRejected(
      s,
      { type: 'updateLeader', topic: 't', partition: 5, expectedEpoch: 0, leader: 1 },
      'UNKNOWN_TOPIC_OR_PARTITION',
    );
  });
});

describe('in-sync sets of many partitions (updateInSyncSets)', () => {
  type Item = { topic: string; partition: number; expectedEpoch: number; leader: number; isr: number[] };
  const item = (topic: string, partition: number, isr: number[], expectedEpoch = 0, leader = 1): Item => ({
    topic,
    partition,
    expectedEpoch,
    leader,
    isr,
  });

  /** Topic t (three partitions, t/1 at epoch 1 after a leader change) and an untouched topic u. */
  function partitions() {
    const s = withBrokers(4);
    expectOk(
      s.apply(
        createTopic('t', [
          [1, 2, 3],
          [1, 2, 3],
          [2, 3, 4],
        ]),
      ),
    );
    expectOk(s.apply(createTopic('u', [[1, 2, 3]])));
    expectOk(s.apply({ type: 'updateLeader', topic: 't', partition: 1, expectedEpoch: 0, leader: 2 }));
    return s;
  }

  it('applies or refuses each item on its own by updateLeader’s rules, moving the version once', () => {
    const s = partitions();
    const u = s.topics.get('u');
    const items = [
      item('t', 0, [1, 2]),
      item('t', 1, [1, 2]), // stale: t/1 moved on to epoch 1
      item('t', 2, [2, 3, 1]), // broker 1 is not a replica of t/2
      item('t', 9, [1]),
      item('gone', 0, [1]),
      item('t', 0, [1]), // t/0 again: the first item moved its epoch on
      item('t', 2, [2, 4], 0, 2),
    ];
    const version = s.version;
    expect(s.apply({ type: 'updateInSyncSets', items })).toEqual({
      ok: true,
      version: version + 1,
      inSyncSets: [
        { ok: true, leaderEpoch: 1 },
        { ok: false, code: 'METADATA_CONFLICT' },
        { ok: false, code: 'METADATA_CONFLICT' },
        { ok: false, code: 'UNKNOWN_TOPIC_OR_PARTITION' },
        { ok: false, code: 'UNKNOWN_TOPIC_OR_PARTITION' },
        { ok: false, code: 'METADATA_CONFLICT' },
        { ok: true, leaderEpoch: 1 },
      ],
    });
    // Exactly what the same items as updateLeader commands, one after another, leave.
    const one = partitions();
    const codes = items.map((i) => codeOf(one.apply({ type: 'updateLeader', ...i })));
    expect(codes).toEqual([
      'ok',
      'METADATA_CONFLICT',
      'METADATA_CONFLICT',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'METADATA_CONFLICT',
      'ok',
    ]);
    expect(s.topics).toEqual(one.topics);
    expect(s.topics.get('t')?.partitions[0]).toEqual({
      partition: 0,
      replicas: [1, 2, 3],
      leader: 1,
      leaderEpoch: 1,
      isr: [1, 2],
    });
    expect(s.topics.get('u')).toBe(u);
  });

  it('a batch whose every item is refused changes nothing, version included', () => {
    const s = partitions();
    const before = Buffer.from(encodeSnapshot(s, 0)).toString('hex');
    const r = s.apply({ type: 'updateInSyncSets', items: [item('t', 1, [1]), item('t', 0, [9])] });
    expect(r).toEqual({
      ok: true,
      version: s.version,
      inSyncSets: [
        { ok: false, code: 'METADATA_CONFLICT' },
        { ok: false, code: 'METADATA_CONFLICT' },
      ],
    });
    expect(Buffer.from(encodeSnapshot(s, 0)).toString('hex')).toBe(before);
  });
});

describe('cluster feature levels', () => {
  const registry = (s: MetadataState) =>
    [...s.brokers.values()].map((b) => ({ brokerId: b.id, epoch: b.epoch }));

  it('a broker records the level its registration or a heartbeat names; one without a level is at the baseline', () => {
    const s = new MetadataState();
    expectOk(s.apply(register(1)));
    expectOk(s.apply({ ...register(2), featureLevel: 2 }));
    expect([s.brokers.get(1)?.featureLevel, s.brokers.get(2)?.featureLevel]).toEqual([1, 2]);
    expectOk(s.apply({ type: 'heartbeat', beats: [{ brokerId: 1, atMs: 5, featureLevel: 2 }] }));
    // A beat without a level (an older build's) leaves the recorded one as it is.
    expectOk(s.apply({ type: 'heartbeat', beats: [{ brokerId: 2, atMs: 6 }] }));
    expect([s.brokers.get(1)?.featureLevel, s.brokers.get(2)?.featureLevel]).toEqual([2, 2]);
    // A re-registration (a restart, perhaps on an older build) says its level afresh.
    expectOk(s.apply(register(2)));
    expect(s.brokers.get(2)?.featureLevel).toBe(1);
    expect(s.featureLevel).toBe(1);
  });

  it("a beat from a broker's earlier incarnation does not change the level its new registration said", () => {
    const s = new MetadataState();
    const first = expectOk(s.apply({ ...register(1), featureLevel: 2 })).version;
    // Restarted on an older build: registered anew without a level.
    const second = expectOk(s.apply(register(1))).version;
    expect(s.brokers.get(1)?.featureLevel).toBe(1);
    const beat = (atMs: number, registeredVersion: number) =>
      expectOk(
        s.apply({ type: 'heartbeat', beats: [{ brokerId: 1, atMs, featureLevel: 2, registeredVersion }] }),
      );
    // A beat the newer build proposed before it stopped, applied only now.
    beat(2_000, first);
    expect(s.brokers.get(1)?.featureLevel).toBe(1);
    expect(s.brokers.get(1)?.lastHeartbeatMs).toBe(2_000);
    // This incarnation's own beats count.
    beat(3_000, second);
    expect(s.brokers.get(1)?.featureLevel).toBe(2);
  });

  it('finalizeFeatureLevel raises the level only against the registry it was checked on', () => {
    const s = withBrokers(3);
    expectOk(s.apply({ type: 'updateBroker', brokerId: 3, state: 'decommissioned' }));
    const checked = registry(s);
    // A decommissioned broker still counts: it runs Raft replicas until it is unregistered.
    expect(checked.map((b) => b.brokerId)).toEqual([1, 2, 3]);
    const withoutDecommissioned = checked.filter((b) => b.brokerId !== 3);
    // A broker missing, one too many, or one re-registered (new epoch) since the check: refused.
    expectRejected(
      s,
      { type: 'finalizeFeatureLevel', level: 2, brokers: withoutDecommissioned },
      'METADATA_CONFLICT',
    );
    expectRejected(
      s,
      { type: 'finalizeFeatureLevel', level: 2, brokers: [...checked, { brokerId: 4, epoch: 1 }] },
      'METADATA_CONFLICT',
    );
    expectRejected(
      s,
      { type: 'finalizeFeatureLevel', level: 2, brokers: [...checked, { brokerId: 1, epoch: 1 }] },
      'METADATA_CONFLICT',
    );
    expectOk(s.apply(register(2)));
    expectRejected(s, { type: 'finalizeFeatureLevel', level: 2, brokers: checked }, 'METADATA_CONFLICT');
    // Once unregistered, the decommissioned broker no longer counts.
    expectOk(s.apply({ type: 'unregisterBroker', brokerId: 3 }));
    expect(registry(s).map((b) => b.brokerId)).toEqual([1, 2]);
    const v = expectOk(s.apply({ type: 'finalizeFeatureLevel', level: 2, brokers: registry(s) })).version;
    expect(s.featureLevel).toBe(2);
    expect(s.view().featureLevel).toBe(2);
    expect(s.version).toBe(v);
    // Never lowered, never raised to where it is.
    expectRejected(s, { type: 'finalizeFeatureLevel', level: 2, brokers: registry(s) }, 'METADATA_CONFLICT');
    expectRejected(s, { type: 'finalizeFeatureLevel', level: 1, brokers: registry(s) }, 'METADATA_CONFLICT');
  });

  it('setClusterId records the id once: the same again changes nothing, another is refused', () => {
    const s = withBrokers(1);
    expect(s.view().clusterId).toBeNull();
    const v = expectOk(s.apply({ type: 'setClusterId', clusterId: 'first' })).version;
    expect(s.view().clusterId).toBe('first');
    expect(expectOk(s.apply({ type: 'setClusterId', clusterId: 'first' })).version).toBe(v);
    expectRejected(s, { type: 'setClusterId', clusterId: 'second' }, 'METADATA_CONFLICT');
    expectRejected(new MetadataState(), { type: 'setClusterId', clusterId: '' }, 'INVALID_REQUEST');
    expectRejected(
      new MetadataState(),
      { type: 'setClusterId', clusterId: 'x'.repeat(129) },
      'INVALID_REQUEST',
    );
  });

  it('once a level is finalized, a build that does not support it cannot register', () => {
    const s = new MetadataState();
    expectOk(s.apply({ ...register(1), featureLevel: 2 }));
    expectOk(s.apply({ type: 'finalizeFeatureLevel', level: 2, brokers: registry(s) }));
    const before = s.brokers.get(1);
    expectRejected(s, register(1), 'UNSUPPORTED_VERSION');
    expectRejected(s, { ...register(4), featureLevel: 1 }, 'UNSUPPORTED_VERSION');
    const r = s.apply(register(5));
    expect(r.ok ? '' : r.message).toMatch(/supports cluster feature levels up to 1.*finalized level 2/);
    expect(s.brokers.get(1)).toBe(before);
    expectOk(s.apply({ ...register(4), featureLevel: 3 }));
    expect(s.brokers.get(4)?.featureLevel).toBe(3);
  });
});

describe("pinned partitions (an operator's assignment)", () => {
  /** Brokers 1..n on a build that supports pins, the cluster finalized at that level. */
  const pinsFinalized = (n: number): MetadataState => {
    const s = new MetadataState();
    for (let id = 1; id <= n; id++) {
      expectOk(s.apply(register(id, { featureLevel: FEATURE.pinnedAssignments })));
    }
    const brokers = [...s.brokers.values()].map((b) => ({ brokerId: b.id, epoch: b.epoch }));
    expectOk(s.apply({ type: 'finalizeFeatureLevel', level: FEATURE.pinnedAssignments, brokers }));
    return s;
  };
  const pins = (s: MetadataState, topic: string) =>
    s.topics.get(topic)?.partitions.map((p) => p.pinned === true);

  it('below the pinned-assignments level a pin is not recorded: the image is what an older build makes of it', () => {
    const s = withBrokers(3);
    const older = withBrokers(3);
    expect(s.featureLevel).toBeLessThan(FEATURE.pinnedAssignments);
    expectOk(s.apply(createTopic('t', [[1, 2]], { pinned: true })));
    expectOk(s.apply({ type: 'addPartitions', name: 't', assignment: [[2, 3]], pinned: true }));
    // An older decoder drops the field: the command as such a replica applies it.
    expectOk(older.apply(createTopic('t', [[1, 2]])));
    expectOk(older.apply({ type: 'addPartitions', name: 't', assignment: [[2, 3]] }));
    expect(pins(s, 't')).toEqual([false, false]);
    expect(encodeSnapshot(s, 1)).toEqual(encodeSnapshot(older, 1));
  });

  it('from the level on, createTopic and addPartitions pin the partitions they were asked to', () => {
    const s = pinsFinalized(3);
    expectOk(s.apply(createTopic('manual', [[1, 2]], { pinned: true })));
    expectOk(s.apply(createTopic('placed', [[1, 2]])));
    expect(pins(s, 'manual')).toEqual([true]);
    expect(pins(s, 'placed')).toEqual([false]);
    // Added partitions are pinned by their own command's assignment, not the topic's.
    expectOk(s.apply({ type: 'addPartitions', name: 'manual', assignment: [[2, 3]] }));
    expectOk(s.apply({ type: 'addPartitions', name: 'placed', assignment: [[2, 3]], pinned: true }));
    expect(pins(s, 'manual')).toEqual([true, false]);
    expect(pins(s, 'placed')).toEqual([false, true]);
    // An unpinned partition carries no field at all (images without pins are unchanged by them).
    expect(Object.hasOwn(s.topics.get('placed')?.partitions[0] ?? {}, 'pinned')).toBe(false);
  });

  it('a pinned partition stays pinned through replica-set, leader and in-sync set changes', () => {
    const s = pinsFinalized(3);
    expectOk(s.apply(createTopic('t', [[1, 2]], { pinned: true })));
    expectOk(
      s.apply({
        type: 'updateReplicaSet',
        topic: 't',
        partition: 0,
        expectedEpoch: 0,
        replicas: [3, 2],
        isr: [2],
        leader: 2,
      }),
    );
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({ replicas: [3, 2], pinned: true });
    expectOk(s.apply({ type: 'updateLeader', topic: 't', partition: 0, expectedEpoch: 1, leader: 3 }));
    expectOk(
      s.apply({
        type: 'updateInSyncSets',
        items: [{ topic: 't', partition: 0, expectedEpoch: 2, leader: 3, isr: [3, 2] }],
      }),
    );
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({ leaderEpoch: 3, pinned: true });
  });
});

describe('moves and cluster config', () => {
  it('recordMove records and updates a move (keeping when it was first recorded); completeMove removes it', () => {
    const s = withBrokers(3);
    expectOk(s.apply(createTopic('t', [[1, 2]])));
    const first = expectOk(
      s.apply({ type: 'recordMove', topic: 't', partition: 0, from: 1, to: 3, state: 'pending' }),
    );
    expectOk(s.apply({ type: 'recordMove', topic: 't', partition: 0, from: 1, to: 3, state: 'adding' }));
    expect([...s.moves.values()]).toEqual([
      { topic: 't', partition: 0, from: 1, to: 3, state: 'adding', recordedVersion: first.version },
    ]);
    expectOk(s.apply({ type: 'completeMove', topic: 't', partition: 0, from: 1, to: 3 }));
    expect(s.moves.size).toBe(0);
    expectRejected(
      s,
      { type: 'completeMove', topic: 't', partition: 0, from: 1, to: 3 },
      'METADATA_CONFLICT',
    );
  });

  it('recordMove rejects an unknown partition, an unknown target broker, and a move onto the same broker', () => {
    const s = withBrokers(2);
    expectOk(s.apply(createTopic('t', [[1]])));
    const base = { type: 'recordMove', topic: 't', partition: 0, from: 1, to: 2, state: 'pending' } as const;
    expectRejected(s, { ...base, partition: 3 }, 'UNKNOWN_TOPIC_OR_PARTITION');
    expectRejected(s, { ...base, to: 9 }, 'UNKNOWN_BROKER');
    expectRejected(s, { ...base, to: 1 }, 'METADATA_CONFLICT');
  });

  it('setClusterConfig sets and deletes cluster-wide defaults; an empty key is rejected', () => {
    const s = new MetadataState();
    expectOk(s.apply({ type: 'setClusterConfig', set: { z: '1', a: '2' }, delete: [] }));
    expectOk(s.apply({ type: 'setClusterConfig', set: { m: '3' }, delete: ['z', 'missing'] }));
    expect(s.clusterConfig).toEqual({ a: '2', m: '3' });
    expect(Object.keys(s.clusterConfig)).toEqual(['a', 'm']);
    expectRejected(s, { type: 'setClusterConfig', set: { '': 'x' }, delete: [] }, 'INVALID_CONFIG');
  });
});

describe('versioning and request ids', () => {
  it('every applied change increments the version by exactly one; rejections do not', () => {
    const s = withBrokers(2);
    const versions = [
      s.apply(createTopic('a', [[1]])),
      s.apply(createTopic('a', [[1]])),
      s.apply({ type: 'heartbeat', beats: [{ brokerId: 1, atMs: 5 }] }),
      s.apply({ type: 'deleteTopic', name: 'a' }),
    ].map((r) => [codeOf(r), r.version]);
    expect(versions).toEqual([
      ['ok', 3],
      ['TOPIC_ALREADY_EXISTS', 3],
      ['ok', 4],
      ['ok', 5],
    ]);
  });

  it('a retried request id returns its first result and is applied once', () => {
    const s = withBrokers(1);
    const first = s.apply(createTopic('t', [[1]]), 'req-1');
    expect(s.apply(createTopic('t', [[1]]), 'req-1')).toEqual(first);
    expect(codeOf(s.apply(createTopic('t', [[1]]), 'req-2'))).toBe('TOPIC_ALREADY_EXISTS');
    expect(s.version).toBe(2);
  });

  it('remembers at most RECENT_REQUESTS_MAX request ids, forgetting the oldest first', () => {
    const s = withBrokers(1);
    for (let i = 0; i <= RECENT_REQUESTS_MAX; i++)
      s.apply({ type: 'heartbeat', beats: [{ brokerId: 1, atMs: i }] }, `r${i}`);
    expect(s.recentRequests.size).toBe(RECENT_REQUESTS_MAX);
    expect(s.recentRequests.has('r0')).toBe(false);
    expect(s.recentRequests.has(`r${RECENT_REQUESTS_MAX}`)).toBe(true);
  });

  it('a view is a point-in-time image that later commands do not change', () => {
    const s = withBrokers(1);
    expectOk(s.apply(createTopic('t', [[1]])));
    const view = s.view();
    expectOk(s.apply({ type: 'deleteTopic', name: 't' }));
    expectOk(s.apply({ type: 'updateBroker', brokerId: 1, state: 'alive' }));
    expect(view.topics.has('t')).toBe(true);
    expect(view.brokers.get(1)?.state).toBe('starting');
    expect(view.version).toBe(2);
  });
});
