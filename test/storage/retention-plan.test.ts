import { describe, expect, it } from 'vitest';
import { planRetention, type SegmentSummary } from '../../src/storage/retention.js';

const NOW = 1_000_000;

/** Segments of 100 bytes and 10 offsets each; `ages[i]` = how long ago segment i's newest record was. */
function segments(ages: number[]): SegmentSummary[] {
  return ages.map((age, i) => ({
    baseOffset: i * 10,
    nextOffset: i * 10 + 10,
    sizeBytes: 100,
    maxTimestamp: NOW - age,
  }));
}

describe('planRetention', () => {
  it('deletes the expired prefix by time, stopping at the first segment still within retention', () => {
    expect(
      planRetention(segments([900, 800, 100, 900, 50]), 50, { retentionMs: 500, retentionBytes: -1 }, NOW),
    ).toEqual(['retention_ms', 'retention_ms']);
  });

  it('never deletes the active (last) segment, even when everything is expired', () => {
    expect(
      planRetention(segments([900, 900, 900]), 30, { retentionMs: 1, retentionBytes: -1 }, NOW),
    ).toHaveLength(2);
    expect(planRetention(segments([900]), 10, { retentionMs: 1, retentionBytes: 0 }, NOW)).toEqual([]);
  });

  it('deletes by size while the rest stays at or above retentionBytes', () => {
    const five = segments([1, 1, 1, 1, 1]);
    expect(planRetention(five, 50, { retentionMs: -1, retentionBytes: 250 }, NOW)).toEqual([
      'retention_bytes',
      'retention_bytes',
    ]);
    expect(planRetention(five, 50, { retentionMs: -1, retentionBytes: 300 }, NOW)).toHaveLength(2);
    expect(planRetention(five, 50, { retentionMs: -1, retentionBytes: 301 }, NOW)).toHaveLength(1);
    expect(planRetention(five, 50, { retentionMs: -1, retentionBytes: 500 }, NOW)).toEqual([]);
  });

  it('combines time then size, and keeps segments holding data above the high watermark', () => {
    const segs = segments([900, 1, 1, 1]);
    expect(planRetention(segs, 40, { retentionMs: 500, retentionBytes: 200 }, NOW)).toEqual([
      'retention_ms',
      'retention_bytes',
    ]);
    expect(planRetention(segs, 5, { retentionMs: 500, retentionBytes: 0 }, NOW)).toEqual([]);
  });

  it('keeps everything with retentionMs = -1 and retentionBytes = -1', () => {
    expect(planRetention(segments([1e9, 1e9, 1]), 30, { retentionMs: -1, retentionBytes: -1 }, NOW)).toEqual(
      [],
    );
  });
});
