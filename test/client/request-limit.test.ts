/**
 * The request limit a producer keeps to after a broker refused a request as over its frame limit
 * (limitAfterRefusal): every refusal shrinks the requests after it, so none is ever met again by the same
 * request, and a batch refused alone no longer fits (it is split or fails instead of being resent).
 */
import { describe, expect, it } from 'vitest';
import { type Batch, openBatch } from '../../src/client/producer-batch.js';
import { fitsAlone, limitAfterRefusal, RequestGroups } from '../../src/client/request-groups.js';
import { StreamBusError } from '../../src/errors/index.js';

function built(partition: number, bytes: number): Batch {
  const b = openBatch('t', partition, -1, 0);
  b.bytes = Buffer.alloc(bytes);
  return b;
}

const refusal = (limitBytes?: number) =>
  new StreamBusError('FRAME_TOO_LARGE', limitBytes === undefined ? {} : { metadata: { limitBytes } });

describe('limitAfterRefusal', () => {
  it('takes the limit the broker answered, and the regrouped batches then fit in requests under it', () => {
    const batches = [0, 1, 2, 3].map((p) => built(p, 100_000));
    const limit = limitAfterRefusal(64 * 1024 * 1024, batches, refusal(256 * 1024));
    expect(limit).toBe(256 * 1024);
    const groups = new RequestGroups(limit);
    for (const b of batches) {
      expect(fitsAlone(b, limit)).toBe(true);
      groups.add(1, b);
    }
    expect(groups.list().map((g) => g.batches.length)).toEqual([2, 2]);
  });

  it('without a limit in the answer still goes below the refused request, so a batch refused alone no longer fits', () => {
    const alone = built(0, 300_000);
    const limit = limitAfterRefusal(64 * 1024 * 1024, [alone], refusal());
    expect(fitsAlone(alone, limit)).toBe(false);
    const pair = [built(0, 100_000), built(1, 100_000)];
    const after = limitAfterRefusal(64 * 1024 * 1024, pair, refusal());
    const groups = new RequestGroups(after);
    for (const b of pair) groups.add(1, b);
    expect(groups.list()).toHaveLength(2);
  });

  it('never raises the limit: an answered limit above the current one is ignored', () => {
    expect(limitAfterRefusal(100_000, [built(0, 200_000)], refusal(1 << 30))).toBe(100_000);
  });
});
