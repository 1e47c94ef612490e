import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../../src/errors/index.js';
import {
  COMMAND_FORMAT_VERSION,
  decodeCommand,
  encodeCommand,
  type MetadataCommand,
} from '../../src/metadata/commands.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT_VERSION } from '../../src/metadata/snapshot.js';
import { MetadataState } from '../../src/metadata/state.js';
import { createTopic, expectOk, register, withBrokers } from './fixtures.js';

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const SNAPSHOT_GOLDEN =
  '9201de0009ac6170706c696564496e64657803a776657273696f6e02a762726f6b65727391de000aa2696401ad636c69656e7441646472657373de0002a4686f7374a93132372e302e302e31a4706f7274cd2329ab7065657241646472657373de0002a4686f7374a93132372e302e302e31a4706f7274cd238da47261636ba67261636b2d31a57374617465a87374617274696e67af6c6173744865617274626561744d73cd03e8ac636170616369747948696e7401a565706f636801b17265676973746572656456657273696f6e01ac666561747572654c6576656c01a6746f7069637390a56d6f76657390ad636c7573746572436f6e666967de0001a161a162ae726563656e7452657175657374739192a171de0002a26f6bc3a776657273696f6e02ae6e65787450726f6475636572496401ac666561747572654c6576656c01';
/** The same image as written before feature levels (no featureLevel keys, in the image or its broker). */
const SNAPSHOT_GOLDEN_BEFORE_FEATURE_LEVELS =
  '9201de0008ac6170706c696564496e64657803a776657273696f6e02a762726f6b65727391de0009a2696401ad636c69656e7441646472657373de0002a4686f7374a93132372e302e302e31a4706f7274cd2329ab7065657241646472657373de0002a4686f7374a93132372e302e302e31a4706f7274cd238da47261636ba67261636b2d31a57374617465a87374617274696e67af6c6173744865617274626561744d73cd03e8ac636170616369747948696e7401a565706f636801b17265676973746572656456657273696f6e01a6746f7069637390a56d6f76657390ad636c7573746572436f6e666967de0001a161a162ae726563656e7452657175657374739192a171de0002a26f6bc3a776657273696f6e02ae6e65787450726f6475636572496401';
/** The same image as written before snapshots carried the producer id counter (no nextProducerId key). */
const SNAPSHOT_GOLDEN_BEFORE_PRODUCER_IDS =
  '9201de0007ac6170706c696564496e64657803a776657273696f6e02a762726f6b65727391de0009a2696401ad636c69656e7441646472657373de0002a4686f7374a93132372e302e302e31a4706f7274cd2329ab7065657241646472657373de0002a4686f7374a93132372e302e302e31a4706f7274cd238da47261636ba67261636b2d31a57374617465a87374617274696e67af6c6173744865617274626561744d73cd03e8ac636170616369747948696e7401a565706f636801b17265676973746572656456657273696f6e01a6746f7069637390a56d6f76657390ad636c7573746572436f6e666967de0001a161a162ae726563656e7452657175657374739192a171de0002a26f6bc3a776657273696f6e02';

const EVERY_COMMAND: MetadataCommand[] = [
  register(1),
  {
    type: 'updateBroker',
    brokerId: 1,
    state: 'alive',
    rack: null,
    capacityHint: 2.5,
    clientAddress: { host: 'a', port: 1 },
  },
  { type: 'updateBroker', brokerId: 2 },
  {
    type: 'heartbeat',
    beats: [
      { brokerId: 1, atMs: 5 },
      { brokerId: 2, atMs: 6 },
    ],
  },
  {
    type: 'heartbeat',
    beats: [
      { brokerId: 1, atMs: 5, featureLevel: 2 },
      { brokerId: 2, atMs: 6 },
    ],
  },
  { ...register(4), featureLevel: 2 },
  { type: 'unregisterBroker', brokerId: 3 },
  createTopic(
    't',
    [
      [1, 2],
      [2, 3],
    ],
    { configs: { k: 'v' }, internal: true },
  ),
  createTopic('t', [[1, 2]], { pinned: true }),
  { type: 'deleteTopic', name: 't' },
  { type: 'addPartitions', name: 't', assignment: [[1]] },
  { type: 'addPartitions', name: 't', assignment: [[1]], expectedPartitions: 1, pinned: false },
  { type: 'addPartitions', name: 't', assignment: [[1]], expectedPartitions: 4 },
  {
    type: 'updateReplicaSet',
    topic: 't',
    partition: 0,
    expectedEpoch: 3,
    replicas: [1, 2],
    isr: [1],
    leader: -1,
  },
  { type: 'updateLeader', topic: 't', partition: 0, expectedEpoch: 3, leader: 2 },
  { type: 'updateLeader', topic: 't', partition: 0, expectedEpoch: 3, leader: 2, isr: [2] },
  {
    type: 'updateInSyncSets',
    items: [
      { topic: 't', partition: 0, expectedEpoch: 3, leader: 2, isr: [2] },
      { topic: 'u', partition: 4, expectedEpoch: 0, leader: -1, isr: [] },
    ],
  },
  { type: 'updateInSyncSets', items: [] },
  { type: 'alterTopicConfig', name: 't', set: { a: 'b' }, delete: ['c'] },
  { type: 'recordMove', topic: 't', partition: 1, from: 1, to: 2, state: 'removing' },
  { type: 'completeMove', topic: 't', partition: 1, from: 1, to: 2 },
  { type: 'setClusterConfig', set: {}, delete: ['x'] },
  { type: 'allocateProducerIds', count: 1000 },
  { type: 'setClusterId', clusterId: '2b8def1b-3708-4236-a375-0e786ff1cf37' },
  {
    type: 'finalizeFeatureLevel',
    level: 2,
    brokers: [
      { brokerId: 1, epoch: 3 },
      { brokerId: 2, epoch: 1 },
    ],
  },
  { type: 'finalizeFeatureLevel', level: 2, brokers: [] },
  {
    type: 'alterClientQuotas',
    clientId: '',
    set: { producer_byte_rate: '1048576' },
    delete: ['consumer_byte_rate'],
  },
  { type: 'advanceLogStart', topic: 't', partition: 2, createdVersion: 7, offset: 5_000_000_000 },
];

function expectInvariant(bytes: Uint8Array, pattern: RegExp): void {
  let err: unknown;
  try {
    decodeCommand(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvariantViolation);
  expect((err as Error).message).toMatch(pattern);
}

describe('command codec', () => {
  it('every command type round-trips with its request id', () => {
    for (const [i, c] of EVERY_COMMAND.entries()) {
      const id = i % 2 === 0 ? `req-${i}` : null;
      expect(decodeCommand(encodeCommand(c, id))).toEqual({ command: c, requestId: id });
    }
  });

  it('pins the format-1 bytes of a command (a format change must be deliberate)', () => {
    const bytes = encodeCommand({ type: 'deleteTopic', name: 't' }, 'r');
    expect(hex(bytes)).toBe('9401ab64656c657465546f706963de0001a46e616d65a174a172');
    expect(COMMAND_FORMAT_VERSION).toBe(1);
  });

  it('a malformed log entry fails an invariant instead of being applied', () => {
    expectInvariant(new Uint8Array([0xc1]), /does not decode|4-element/);
    expectInvariant(packr.pack({ type: 'deleteTopic' }), /4-element array/);
    expectInvariant(packr.pack([2, 'deleteTopic', { name: 't' }, null]), /format version 2/);
    expectInvariant(packr.pack([1, 'dropDatabase', {}, null]), /unknown metadata command type/);
    expectInvariant(packr.pack([1, 'toString', {}, null]), /unknown metadata command type/);
    expectInvariant(packr.pack([1, 'deleteTopic', { name: 5 }, null]), /name is not a string/);
    expectInvariant(packr.pack([1, 'deleteTopic', { name: 't' }, 7]), /request id/);
    expectInvariant(packr.pack([1, 'unregisterBroker', { brokerId: 0 }, null]), /broker id/);
    expectInvariant(packr.pack([1, 'unregisterBroker', { brokerId: 1.5 }, null]), /broker id/);
    expectInvariant(
      packr.pack([1, 'updateBroker', { brokerId: 1, state: 'zombie' }, null]),
      /state is invalid/,
    );
    expectInvariant(
      packr.pack([1, 'registerBroker', { ...register(1), clientAddress: { host: 'h', port: 70_000 } }, null]),
      /port is out of range/,
    );
    expectInvariant(
      packr.pack([1, 'createTopic', { ...createTopic('t', [[1]]), assignment: [[1, 'x']] }, null]),
      /broker id/,
    );
    expectInvariant(
      packr.pack([1, 'alterTopicConfig', { name: 't', set: { a: 1 }, delete: [] }, null]),
      /set\.a/,
    );
    expectInvariant(packr.pack([1, 'heartbeat', { beats: [{ brokerId: 1, atMs: -1 }] }, null]), /atMs/);
    expectInvariant(
      packr.pack([1, 'recordMove', { topic: 't', partition: 0, from: 1, to: 2, state: 'done' }, null]),
      /state/,
    );
    expectInvariant(packr.pack([1, 'allocateProducerIds', { count: 0 }, null]), /count/);
    expectInvariant(packr.pack([1, 'updateInSyncSets', { items: {} }, null]), /items is not an array/);
    expectInvariant(
      packr.pack([
        1,
        'updateInSyncSets',
        { items: [{ topic: 't', partition: 0, expectedEpoch: 0, leader: 1, isr: [0] }] },
        null,
      ]),
      /isr is not a broker id/,
    );
    expectInvariant(packr.pack([1, 'allocateProducerIds', { count: 2.5 }, null]), /count/);
    expectInvariant(
      packr.pack([1, 'addPartitions', { name: 't', assignment: [[1]], pinned: 1 }, null]),
      /pinned is not a boolean/,
    );
  });
});

describe('snapshot codec', () => {
  it('a snapshot round trip is exact and re-encodes to the same bytes', () => {
    const s = withBrokers(3);
    expectOk(
      s.apply(
        createTopic(
          'b',
          [
            [1, 2],
            [2, 3],
          ],
          { configs: { x: '1' } },
        ),
      ),
    );
    expectOk(s.apply(createTopic('a', [[3, 1]])));
    expectOk(
      s.apply({ type: 'updateLeader', topic: 'b', partition: 1, expectedEpoch: 0, leader: 3, isr: [3] }),
    );
    expectOk(s.apply({ type: 'recordMove', topic: 'a', partition: 0, from: 3, to: 2, state: 'adding' }));
    expectOk(s.apply({ type: 'setClusterConfig', set: { 'retention.ms': '5' }, delete: [] }));
    s.apply(
      {
        type: 'heartbeat',
        beats: [
          { brokerId: 1, atMs: 9 },
          { brokerId: 9, atMs: 9 },
        ],
      },
      'req',
    );
    s.apply(createTopic('a', [[1]]), 'req-dup');
    s.apply(
      {
        type: 'updateInSyncSets',
        items: [
          { topic: 'b', partition: 0, expectedEpoch: 0, leader: 1, isr: [1] },
          { topic: 'b', partition: 1, expectedEpoch: 0, leader: 3, isr: [3] },
        ],
      },
      'req-isr',
    );
    const bytes = encodeSnapshot(s, 42);
    const { state, appliedIndex } = decodeSnapshot(bytes);
    expect(appliedIndex).toBe(42);
    expect(state.version).toBe(s.version);
    expect(state.brokers).toEqual(s.brokers);
    expect(new Map([...state.topics].sort())).toEqual(new Map([...s.topics].sort()));
    expect(state.moves).toEqual(s.moves);
    expect(state.clusterConfig).toEqual(s.clusterConfig);
    expect([...state.recentRequests]).toEqual([...s.recentRequests]);
    // A retried batch after a restore still answers each item's outcome.
    expect(state.recentRequests.get('req-isr')).toEqual({
      ok: true,
      version: s.version,
      inSyncSets: [
        { ok: true, leaderEpoch: 1 },
        { ok: false, code: 'METADATA_CONFLICT' },
      ],
    });
    expect(hex(encodeSnapshot(state, 42))).toBe(hex(bytes));
    expect(SNAPSHOT_FORMAT_VERSION).toBe(1);
  });

  it('pins the format-1 bytes of a snapshot (a format change must be deliberate)', () => {
    const s = withBrokers(1);
    s.apply({ type: 'setClusterConfig', set: { a: 'b' }, delete: [] }, 'q');
    expect(hex(encodeSnapshot(s, 3))).toBe(SNAPSHOT_GOLDEN);
  });

  it('a format-1 snapshot written before producer ids existed still reads, with the counter at its start', () => {
    const { state, appliedIndex } = decodeSnapshot(Buffer.from(SNAPSHOT_GOLDEN_BEFORE_PRODUCER_IDS, 'hex'));
    expect(appliedIndex).toBe(3);
    expect(state.clusterConfig).toEqual({ a: 'b' });
    expect(state.nextProducerId).toBe(1);
    // Re-encoded it gains the counter and equals what the current code writes for the same image.
    expect(hex(encodeSnapshot(state, 3))).toBe(SNAPSHOT_GOLDEN);
  });

  it('a format-1 snapshot written before feature levels reads as a cluster and brokers at the baseline', () => {
    const { state } = decodeSnapshot(Buffer.from(SNAPSHOT_GOLDEN_BEFORE_FEATURE_LEVELS, 'hex'));
    expect(state.featureLevel).toBe(1);
    expect([...state.brokers.values()].map((b) => b.featureLevel)).toEqual([1]);
    expect(hex(encodeSnapshot(state, 3))).toBe(SNAPSHOT_GOLDEN);
  });

  it('the feature levels survive a snapshot', () => {
    const s = withBrokers(2);
    expectOk(s.apply({ type: 'heartbeat', beats: [{ brokerId: 1, atMs: 5, featureLevel: 2 }] }));
    expectOk(s.apply({ type: 'heartbeat', beats: [{ brokerId: 2, atMs: 5, featureLevel: 2 }] }));
    const brokers = [...s.brokers.values()].map((b) => ({ brokerId: b.id, epoch: b.epoch }));
    expectOk(s.apply({ type: 'finalizeFeatureLevel', level: 2, brokers }));
    const { state } = decodeSnapshot(encodeSnapshot(s, 9));
    expect(state.featureLevel).toBe(2);
    expect([...state.brokers.values()].map((b) => b.featureLevel)).toEqual([2, 2]);
  });

  it('the cluster id survives a snapshot; a snapshot without one reads as none recorded', () => {
    const s = withBrokers(1);
    expect(decodeSnapshot(encodeSnapshot(s, 2)).state.clusterId).toBeNull();
    expectOk(s.apply({ type: 'setClusterId', clusterId: 'c-1' }));
    const { state } = decodeSnapshot(encodeSnapshot(s, 3));
    expect(state.clusterId).toBe('c-1');
    expect(state.view().clusterId).toBe('c-1');
  });

  it('a pinned partition survives a snapshot; an unpinned one is written as before pins existed', () => {
    const s = new MetadataState();
    for (const id of [1, 2]) expectOk(s.apply(register(id, { featureLevel: FEATURE.pinnedAssignments })));
    const brokers = [...s.brokers.values()].map((b) => ({ brokerId: b.id, epoch: b.epoch }));
    expectOk(s.apply({ type: 'finalizeFeatureLevel', level: FEATURE.pinnedAssignments, brokers }));
    expectOk(s.apply(createTopic('t', [[1, 2]], { pinned: true })));
    expectOk(s.apply({ type: 'addPartitions', name: 't', assignment: [[2, 1]] }));
    const bytes = encodeSnapshot(s, 7);
    const { state } = decodeSnapshot(bytes);
    expect(state.topics.get('t')?.partitions.map((p) => p.pinned)).toEqual([true, undefined]);
    expect(hex(encodeSnapshot(state, 7))).toBe(hex(bytes));
    // `pinned: false` is never written, so a snapshot saying it is malformed.
    const raw = packr.unpack(bytes) as [number, { topics: { partitions: Record<string, unknown>[] }[] }];
    const partition = raw[1].topics[0]?.partitions[0] as Record<string, unknown>;
    partition.pinned = false;
    expect(() => decodeSnapshot(packr.pack(raw))).toThrow(/pinned/);
  });

  it('a malformed snapshot fails an invariant', () => {
    const good = packr.unpack(encodeSnapshot(withBrokers(1), 1)) as [number, Record<string, unknown>];
    const bad = (patch: Record<string, unknown>, version = 1): Uint8Array =>
      packr.pack([version, { ...good[1], ...patch }]);
    expect(() => decodeSnapshot(bad({}, 2))).toThrow(InvariantViolation);
    expect(() => decodeSnapshot(bad({ version: -1 }))).toThrow(/version/);
    expect(() => decodeSnapshot(bad({ featureLevel: 0 }))).toThrow(/featureLevel/);
    expect(() => decodeSnapshot(bad({ brokers: [{ id: 1 }] }))).toThrow(InvariantViolation);
    expect(() =>
      decodeSnapshot(bad({ recentRequests: [['r', { ok: false, code: 'NOPE', message: '', version: 1 }]] })),
    ).toThrow(/unknown error code/);
    expect(() => decodeSnapshot(new Uint8Array([1, 2, 3]))).toThrow(InvariantViolation);
  });
});
