/** Compacting one stored batch (batch-compaction.ts): what stays of a batch and its records. */
import { describe, expect, it } from 'vitest';
import {
  batchCrcMatches,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  stampBatch,
  validateBatch,
} from '../../src/protocol/record-batch.js';
import {
  compactBatch,
  DELETE_HORIZON_ATTRIBUTE,
  DELETE_HORIZON_MAX_MS,
  mapBatchKeys,
} from '../../src/storage/batch-compaction.js';
import { KeyOffsetMap } from '../../src/storage/key-offset-map.js';
import { encodeControlBatch } from '../../src/storage/raft-batch.js';

const T0 = 1_700_000_000_000;

/** A batch of producer 9 at base offset 100, epoch 4: records a@100, b@101 (tombstone), c@102. */
function sample(compression: 'none' | 'gzip' = 'none'): Buffer {
  const batch = encodeRecordBatch(
    [
      { key: 'a', value: 'A', timestamp: T0 },
      { key: 'b', value: null, timestamp: T0 + 5 },
      { key: 'c', value: 'C', timestamp: T0 + 9, headers: [{ key: 'h', value: Buffer.from('v') }] },
    ],
    { baseTimestamp: T0, compression, producerId: 9, producerEpoch: 2, baseSequence: 40 },
  );
  stampBatch(batch, 100, 4);
  return batch;
}

function mapOf(entries: [string, number][]): KeyOffsetMap {
  const map = new KeyOffsetMap(100);
  for (const [k, o] of entries) map.put(Buffer.from(k), o);
  return map;
}

const rule = { nowMs: T0 + 1000, deleteRetentionMs: 60_000, decompressedBytesMax: 1 << 20 };

describe('compactBatch', () => {
  it.each(['none', 'gzip'] as const)(
    'drops superseded records, keeping header fields and record bytes (%s)',
    (compression) => {
      const out = compactBatch(
        sample(compression),
        mapOf([
          ['a', 150],
          ['c', 102],
        ]),
        { ...rule, deleteRetentionMs: 0 },
      );
      const h = readBatchHeader(out.batch);
      expect(batchCrcMatches(out.batch, 0, out.batch.length)).toBe(true);
      expect(h).toMatchObject({
        baseOffset: 100,
        lastOffsetDelta: 2,
        partitionLeaderEpoch: 4,
        producerId: 9,
        producerEpoch: 2,
        baseSequence: 40,
        maxTimestamp: T0 + 9,
        recordCount: 2,
      });
      expect(out).toMatchObject({ changed: true, removedRecords: 1, tombstoneHorizonMs: T0 + 1000 });
      const records = decodeRecords(out.batch);
      expect(
        records.map((r) => [r.offset, r.key?.toString(), r.value?.toString() ?? null, r.timestamp]),
      ).toEqual([
        [101, 'b', null, T0 + 5],
        [102, 'c', 'C', T0 + 9],
      ]);
      expect(records[1]!.headers).toEqual([{ key: 'h', value: Buffer.from('v') }]);
    },
  );

  it('stamps the delete horizon of kept tombstones once, and drops them when it has passed', () => {
    const map = mapOf([]);
    const first = compactBatch(sample(), map, rule);
    expect(first.changed).toBe(true);
    expect(readBatchHeader(first.batch).attributes & DELETE_HORIZON_ATTRIBUTE).toBe(DELETE_HORIZON_ATTRIBUTE);
    expect(readBatchHeader(first.batch).baseTimestamp).toBe(T0 + 1000 + 60_000);
    // Not yet: unchanged, and the horizon is the stamped one, not a new one.
    const again = compactBatch(first.batch, map, { ...rule, nowMs: T0 + 1000 + 59_999 });
    expect(again).toMatchObject({ changed: false, tombstoneHorizonMs: T0 + 61_000 });
    const past = compactBatch(first.batch, map, { ...rule, nowMs: T0 + 61_000 });
    expect(past).toMatchObject({ changed: true, removedRecords: 1, tombstoneHorizonMs: -1 });
    expect(decodeRecords(past.batch).map((r) => [r.key?.toString(), r.timestamp])).toEqual([
      ['a', T0],
      ['c', T0 + 9],
    ]);
    expect(readBatchHeader(past.batch).attributes & DELETE_HORIZON_ATTRIBUTE).toBe(0);
  });

  it('caps the horizon so that record timestamps stay exact with a huge delete_retention_ms', () => {
    const out = compactBatch(sample(), mapOf([]), {
      ...rule,
      nowMs: T0,
      deleteRetentionMs: Number.MAX_SAFE_INTEGER,
    });
    expect(readBatchHeader(out.batch).baseTimestamp).toBe(DELETE_HORIZON_MAX_MS);
    expect(decodeRecords(out.batch).map((r) => r.timestamp)).toEqual([T0, T0 + 5, T0 + 9]);
  });

  it('leaves an empty, uncompressed batch when every record goes', () => {
    const out = compactBatch(
      sample('gzip'),
      mapOf([
        ['a', 200],
        ['b', 200],
        ['c', 200],
      ]),
      rule,
    );
    const h = readBatchHeader(out.batch);
    expect(out.batch.length).toBe(61);
    expect(h).toMatchObject({
      recordCount: 0,
      lastOffsetDelta: 2,
      baseOffset: 100,
      baseTimestamp: T0,
      producerId: 9,
    });
    expect(h.attributes & 0x47).toBe(0);
    expect(batchCrcMatches(out.batch, 0, 61)).toBe(true);
    expect(decodeRecords(out.batch)).toEqual([]);
  });

  it('never touches a Raft control batch or a batch with nothing to remove', () => {
    const control = encodeControlBatch(1, Buffer.from('conf'), 100, 3);
    expect(compactBatch(control, mapOf([]), rule)).toMatchObject({ batch: control, changed: false });
    const plain = encodeRecordBatch([{ key: 'k', value: 'v' }], { baseTimestamp: T0 });
    expect(compactBatch(plain, mapOf([['k', 0]]), rule)).toMatchObject({ batch: plain, changed: false });
    expect(() => validateBatch(plain)).not.toThrow();
  });

  it("decompresses no further than the log's decompressedBytesMax", () => {
    const gzip = sample('gzip');
    expect(() => compactBatch(gzip, mapOf([['a', 150]]), { ...rule, decompressedBytesMax: 16 })).toThrow(
      expect.objectContaining({ code: 'BATCH_TOO_LARGE' }),
    );
    expect(() => mapBatchKeys(gzip, mapOf([]), 0, 16)).toThrow(
      expect.objectContaining({ code: 'BATCH_TOO_LARGE' }),
    );
  });
});
