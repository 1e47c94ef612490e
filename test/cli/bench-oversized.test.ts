/**
 * `streambus bench produce` against a broker whose batch limit is below the bench's batches: the producer
 * splits them down to single records, so messages that fit alone are all acknowledged, and messages over the
 * limit make the bench fail with the broker's reason, promptly, not after pushing every other record of
 * its failed sends through refusals (it looked hung for minutes).
 */
import { describe, expect, test } from 'vitest';
import { cliBroker } from '../helpers/cli-broker.js';

const LIMIT = 64 * 1024;
const { cli } = cliBroker({ env: { STREAMBUS_LIMITS_BATCH_BYTES_MAX: String(LIMIT) } });

describe(`streambus bench produce against a ${LIMIT}-byte batch limit`, () => {
  test('messages over the limit: exits 1 naming BATCH_TOO_LARGE and the limit', async () => {
    // The bound is the test's: the fix fails in about a second, without it this took over a minute.
    const r = await cli(['bench', 'produce', '--topic', 'over', '--size', '100000', '--warmup', '0'], {
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('BATCH_TOO_LARGE');
    expect(r.stderr).toContain(`exceeds the ${LIMIT}-byte limit`);
  });

  test('messages that fit alone: every one acknowledged, in batches split down to the limit', async () => {
    const r = await cli([
      'bench',
      'produce',
      '--topic',
      'fits',
      '--size',
      '30000',
      '--messages',
      '2000',
      // The warm-up's batches are split and teach the producer the limit, so the measured ones fit.
      '--warmup',
      '100',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { messages: number };
    expect(summary.messages).toBe(2000);
    const d = await cli(['topic', 'describe', 'fits', '--json']);
    const described = JSON.parse(d.stdout) as { partitions: { highWatermark: number }[] }[];
    expect(described[0]!.partitions[0]!.highWatermark).toBe(2100);
  });
});
