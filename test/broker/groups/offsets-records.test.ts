/**
 * The `__consumer_offsets` records: what a coordinator writes reads back identically, the last record of
 * a key wins, tombstones delete, and a record this version cannot read is skipped rather than fatal.
 */
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { GroupSnapshot } from '../../../src/broker/groups/group-types.js';
import {
  committedForEarlierTopic,
  decodeOffsetsRecord,
  groupRecord,
  markerRecord,
  offsetRecord,
  offsetsBatch,
} from '../../../src/broker/groups/offsets-records.js';
import { OffsetsState } from '../../../src/broker/groups/offsets-state.js';
import { decodeRecords } from '../../../src/protocol/record-batch.js';

function roundTrip(records: Parameters<typeof offsetsBatch>[0]) {
  return decodeRecords(offsetsBatch(records, 1_000)).map(decodeOffsetsRecord);
}

const snapshot: GroupSnapshot = {
  groupId: 'g',
  generation: 4,
  protocolType: 'consumer',
  protocol: 'range',
  leaderId: 'a-1',
  members: [
    {
      memberId: 'a-1',
      groupInstanceId: 'host-a',
      clientId: 'a',
      clientHost: '127.0.0.1',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 60_000,
      subscription: Buffer.from([1, 2, 3]),
      assignment: Buffer.from([4, 5]),
    },
  ],
  writtenAtMs: 123,
};

describe('__consumer_offsets records', () => {
  it('read back what was written: offsets, tombstones, group generations and load markers', () => {
    const decoded = roundTrip([
      offsetRecord('g', 'orders', 3, { offset: 42, metadata: 'm', commitTimestampMs: 7 }),
      offsetRecord('g', 'orders', 3, null),
      groupRecord('g', snapshot),
      groupRecord('g', null),
      markerRecord(2, 9),
    ]);
    expect(decoded).toEqual([
      {
        kind: 'offset',
        groupId: 'g',
        topic: 'orders',
        partition: 3,
        value: { offset: 42, metadata: 'm', commitTimestampMs: 7 },
      },
      { kind: 'offset', groupId: 'g', topic: 'orders', partition: 3, value: null },
      { kind: 'group', groupId: 'g', value: snapshot },
      { kind: 'group', groupId: 'g', value: null },
      { kind: 'marker', brokerId: 2, leadership: 9 },
    ]);
    const member = (decoded[2] as { value: GroupSnapshot }).value.members[0];
    expect(Buffer.isBuffer(member?.subscription)).toBe(true);
  });

  it('skips keys and values it does not understand instead of failing the load', () => {
    const records = decodeRecords(
      offsetsBatch(
        [
          { key: pack([9, 'future-kind']), value: pack({ anything: true }) },
          { key: Buffer.from([0xc1]), value: null }, // not msgpack
          { key: pack([1, 'g', 't', 0]), value: pack({ offset: 'x' }) },
          { key: null, value: Buffer.from('no key') },
        ],
        1,
      ),
    );
    expect(records.map(decodeOffsetsRecord)).toEqual([null, null, null, null]);
  });

  it('never throws on random keys and values (property)', () => {
    const seed = Number(process.env.SEED ?? Date.now() % 2 ** 31);
    console.log('offsets-records property seed', seed);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.option(fc.uint8Array({ maxLength: 64 })),
        (key, value) => {
          const [record] = decodeRecords(
            offsetsBatch([{ key: Buffer.from(key), value: value === null ? null : Buffer.from(value) }], 1),
          );
          const decoded = decodeOffsetsRecord(record!);
          expect(decoded === null || typeof decoded.kind === 'string').toBe(true);
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it('folds to the last value of each key; tombstones delete offsets and generations', () => {
    const state = new OffsetsState();
    const apply = (records: Parameters<typeof offsetsBatch>[0]) => {
      for (const r of roundTrip(records)) if (r !== null) state.apply(r);
    };
    apply([
      offsetRecord('g', 't', 0, { offset: 5, metadata: '', commitTimestampMs: 1 }),
      offsetRecord('g', 't', 1, { offset: 6, metadata: '', commitTimestampMs: 1 }),
      offsetRecord('g', 't', 0, { offset: 9, metadata: '', commitTimestampMs: 2 }),
      groupRecord('g', snapshot),
      offsetRecord('h', 't', 0, { offset: 1, metadata: '', commitTimestampMs: 1 }),
    ]);
    expect(state.committed('g', 't', 0)?.offset).toBe(9);
    expect(state.committed('g', 't', 1)?.offset).toBe(6);
    expect(state.groupIds()).toEqual(['g', 'h']);
    apply([offsetRecord('h', 't', 0, null), groupRecord('g', null)]);
    expect(state.committed('h', 't', 0)).toBeUndefined();
    expect(state.groups.has('g')).toBe(false);
    expect(state.groupIds()).toEqual(['g']);
  });

  it("keeps the topic's incarnation with an offset; one from an earlier topic of the name is recognised", () => {
    const [withIncarnation, without] = roundTrip([
      offsetRecord('g', 't', 0, { offset: 5, metadata: '', commitTimestampMs: 1, topicIncarnation: 41 }),
      offsetRecord('g', 't', 1, { offset: 6, metadata: '', commitTimestampMs: 1 }),
    ]);
    expect(withIncarnation).toMatchObject({ value: { offset: 5, topicIncarnation: 41 } });
    expect(without).toMatchObject({ value: { offset: 6 } });
    expect(without?.kind === 'offset' && without.value).not.toHaveProperty('topicIncarnation');
    const committed = { offset: 5, metadata: '', commitTimestampMs: 1, topicIncarnation: 41 };
    expect(committedForEarlierTopic(committed, 41)).toBe(false);
    expect(committedForEarlierTopic(committed, 42)).toBe(true); // deleted and created again
    expect(committedForEarlierTopic(committed, undefined)).toBe(false); // not known here (yet, or any more)
    expect(committedForEarlierTopic({ offset: 5, metadata: '', commitTimestampMs: 1 }, 42)).toBe(false);
  });
});
