/**
 * A gzip batch appended to a compacted topic is inflated once on the append path: the bomb / record-count
 * check and the every-record-has-a-key check share one inflation (gzip-inflation.ts), small bodies (in one
 * step) and large ones (streamed) alike.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { splitAndValidate } from '../../src/storage/append-validation.js';

const inflations = vi.hoisted(() => ({ count: 0 }));

vi.mock('node:zlib', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:zlib')>();
  return {
    ...real,
    gunzip: (...args: Parameters<typeof real.gunzip>) => {
      inflations.count++;
      return real.gunzip(...args);
    },
    gunzipSync: (...args: Parameters<typeof real.gunzipSync>) => {
      inflations.count++;
      return real.gunzipSync(...args);
    },
    createGunzip: (...args: Parameters<typeof real.createGunzip>) => {
      inflations.count++;
      return real.createGunzip(...args);
    },
  };
});

const LIMITS = { batchBytesMax: 16 << 20, decompressedBytesMax: 64 << 20, keysRequired: true };

function gzipBatch(values: readonly string[]): Buffer {
  return encodeRecordBatch(
    values.map((value, i) => ({ key: `k${i}`, value })),
    { baseTimestamp: 1_700_000_000_000, compression: 'gzip' },
  );
}

beforeEach(() => {
  inflations.count = 0;
});

describe('append of a gzip batch to a compacted topic', () => {
  it('inflates a small batch once', async () => {
    const batch = gzipBatch(['a', 'b', 'c']);
    expect(batch.length).toBeLessThan(1024);
    await splitAndValidate(batch, LIMITS);
    expect(inflations.count).toBe(1);
  });

  it('inflates a large batch once, streamed', async () => {
    // Values that do not compress: a body well over the one-step threshold.
    const values = Array.from({ length: 200 }, () => randomBytes(2000).toString('base64'));
    const batch = gzipBatch(values);
    expect(batch.length).toBeGreaterThan(100_000);
    await splitAndValidate(batch, LIMITS);
    expect(inflations.count).toBe(1);
  });
});
