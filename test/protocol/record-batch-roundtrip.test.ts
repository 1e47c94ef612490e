/**
 * encodeRecordBatch against decodeRecords on random records (keys and values null, strings or bytes, with
 * and without headers, timestamps ahead of the base), uncompressed and with every codec: every field comes
 * back, the codec bits are Kafka's and the CRC holds. Seeded; the seed is printed and FUZZ_SEED replays a run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPRESSIONS } from '../../src/protocol/compression.js';
import {
  decodeRecords,
  encodeRecordBatch,
  type ProducerRecord,
  validateBatch,
} from '../../src/protocol/record-batch.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
console.log(`record batch round-trip seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const record: fc.Arbitrary<ProducerRecord> = fc.record(
  {
    key: fc.oneof(fc.constant(null), fc.string({ maxLength: 40 }), bytes),
    value: fc.oneof(fc.constant(null), fc.string({ maxLength: 200 }), bytes),
    headers: fc.array(
      fc.record({ key: fc.string({ maxLength: 20 }), value: fc.oneof(fc.constant(null), bytes) }),
      { maxLength: 3 },
    ),
    timestamp: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
  },
  { requiredKeys: ['value'] },
);
const asBytes = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : Buffer.from(v);

describe('record batch encode / decode', () => {
  const KAFKA_CODES = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
  it('offers exactly the codecs Kafka defines', () => {
    expect([...COMPRESSIONS].sort()).toEqual(Object.keys(KAFKA_CODES).sort());
  });
  for (const compression of COMPRESSIONS) {
    it(`round-trips random records (${compression})`, () => {
      fc.assert(
        fc.property(fc.array(record, { minLength: 1, maxLength: 40 }), (records) => {
          const baseTimestamp = 1_700_000_000_000;
          const batch = encodeRecordBatch(records, { baseTimestamp, compression });
          const header = validateBatch(batch);
          expect(header.recordCount).toBe(records.length);
          expect(header.attributes & 0x07).toBe(KAFKA_CODES[compression]);
          const decoded = decodeRecords(batch);
          expect(decoded).toHaveLength(records.length);
          decoded.forEach((d, i) => {
            const r = records[i]!;
            expect(d.offset).toBe(i);
            expect(d.timestamp).toBe(r.timestamp ?? baseTimestamp);
            expect(d.key).toEqual(asBytes(r.key));
            expect(d.value).toEqual(asBytes(r.value));
            expect(d.headers).toEqual(r.headers ?? []);
          });
        }),
        { seed: SEED, numRuns: 300 },
      );
    });
  }
});
