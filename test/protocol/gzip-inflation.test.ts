/**
 * inflateGzipRecords: what a gzip records region inflates to, counted as it streams and never held; the
 * records' length prefixes are followed across zlib's output chunks (256 KiB), which split them anywhere.
 * Bodies of at most 1 KiB (1 MiB at deflate's worst ratio) are inflated in one step instead: both ways are
 * covered.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateGzipRecords } from '../../src/protocol/gzip-inflation.js';
import { BATCH_HEADER_BYTES, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { noiseBytes } from '../helpers/batch-bytes.js';

/** The uncompressed records region of a batch of `values` (with `keys`, keyed records; null: no key). */
function recordsRegion(values: readonly Buffer[], keys?: readonly (Buffer | null)[]): Buffer {
  return encodeRecordBatch(
    values.map((value, i) => ({ value, key: keys?.[i] ?? null })),
    { baseTimestamp: 1_700_000_000_000 },
  ).subarray(BATCH_HEADER_BYTES);
}

describe('inflateGzipRecords', () => {
  it('counts every record when chunk boundaries fall inside lengths and bodies', async () => {
    const seed = Number(process.env.GZIP_INFLATION_SEED ?? Date.now() >>> 0);
    console.log(`gzip-inflation seed ${seed} (replay: GZIP_INFLATION_SEED=${seed})`);
    let x = seed || 1;
    const next = (): number => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x;
    };
    // 12,000 records of 0-400 bytes (1- and 2-byte length varints): about ten 256 KiB chunks.
    const values = Array.from({ length: 12_000 }, () => Buffer.alloc(next() % 400, next() & 0xff));
    const region = recordsRegion(values);
    const body = gzipSync(region);
    expect(body.length).toBeGreaterThan(1024);
    const outcome = await inflateGzipRecords(body, region.length);
    expect(outcome).toEqual({ within: true, bytes: region.length, records: values.length });
  });

  it('counts the records of a small body inflated in one step', async () => {
    const region = recordsRegion([Buffer.from('a'), Buffer.alloc(300), Buffer.from('c')]);
    const body = gzipSync(region);
    expect(body.length).toBeLessThanOrEqual(1024);
    expect(await inflateGzipRecords(body, region.length)).toEqual({
      within: true,
      bytes: region.length,
      records: 3,
    });
  });

  it('stops past the limit: a region one byte over it is not within, streamed or in one step', async () => {
    const streamed = recordsRegion([noiseBytes(600_000)]);
    expect(gzipSync(streamed).length).toBeGreaterThan(1024);
    expect(await inflateGzipRecords(gzipSync(streamed), streamed.length - 1)).toEqual({ within: false });
    const small = recordsRegion([Buffer.alloc(200_000)]);
    expect(gzipSync(small).length).toBeLessThanOrEqual(1024);
    expect(await inflateGzipRecords(gzipSync(small), small.length - 1)).toEqual({ within: false });
  });

  it('rejects bytes that are not gzip, and records that do not split by their lengths', async () => {
    await expect(inflateGzipRecords(Buffer.from('not gzip at all'), 1 << 20)).rejects.toThrow();
    const region = recordsRegion([Buffer.from('value')]);
    await expect(inflateGzipRecords(gzipSync(region.subarray(0, -2)), 1 << 20)).rejects.toThrow(/short/);
    await expect(inflateGzipRecords(gzipSync(Buffer.from([0x02])), 1 << 20)).rejects.toThrow(
      /declares 1 bytes/,
    );
  });

  it('with keysRequired, finds the first record without a key, across chunk boundaries and in one step', async () => {
    // 12,000 records of 0-400 bytes, keys of 0-30 bytes: about ten 256 KiB chunks, split anywhere.
    let x = 12345;
    const next = (): number => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x;
    };
    const values = Array.from({ length: 12_000 }, (_, i) => Buffer.alloc(next() % 400, i & 0xff));
    const keys = values.map(() => Buffer.alloc(next() % 31, 0x6b));
    const region = recordsRegion(values, keys);
    expect(await inflateGzipRecords(gzipSync(region), region.length, true)).toEqual({
      within: true,
      bytes: region.length,
      records: values.length,
      firstKeyless: -1,
    });
    for (const keyless of [0, 1, 4_321, 7_777, 11_999]) {
      const withNull = keys.map((k, i) => (i === keyless || i === 11_999 ? null : k));
      const r = recordsRegion(values, withNull);
      const outcome = await inflateGzipRecords(gzipSync(r), r.length, true);
      expect(outcome, `keyless record ${keyless}`).toMatchObject({
        records: values.length,
        firstKeyless: keyless,
      });
    }
    const small = recordsRegion([Buffer.from('a'), Buffer.from('b')], [Buffer.from('k'), null]);
    expect(gzipSync(small).length).toBeLessThanOrEqual(1024);
    expect(await inflateGzipRecords(gzipSync(small), small.length, true)).toMatchObject({ firstKeyless: 1 });
    // An empty key is a key.
    const empty = recordsRegion([Buffer.from('a')], [Buffer.alloc(0)]);
    expect(await inflateGzipRecords(gzipSync(empty), empty.length, true)).toMatchObject({ firstKeyless: -1 });
  });

  it('with keysRequired, rejects a record whose key runs past it', async () => {
    const region = recordsRegion([Buffer.from('v')], [Buffer.from('key')]);
    // Body: attributes, timestampDelta 0, offsetDelta 0, key length 3 (zigzag 6): make it 100 (zigzag 200).
    const bad = Buffer.concat([region.subarray(0, 4), Buffer.from([0xc8, 0x01]), region.subarray(5)]);
    bad[0] = region[0]! + 2;
    await expect(inflateGzipRecords(gzipSync(bad), 1 << 20, true)).rejects.toThrow(/key runs past/);
    // Without keysRequired only the lengths are walked.
    expect(await inflateGzipRecords(gzipSync(bad), 1 << 20)).toMatchObject({ records: 1 });
  });
});
