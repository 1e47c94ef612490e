import { describe, expect, it } from 'vitest';
import type { CleanupPolicy } from '../../src/storage/config.js';
import { planRetention, type SegmentSummary } from '../../src/storage/retention.js';

const NOW = 1_000_000;

function policy(retentionMs: number, retentionBytes: number, cleanupPolicy: CleanupPolicy = 'delete') {
  return { retentionMs, retentionBytes, cleanupPolicy };
}

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
    expect(planRetention(segments([900, 800, 100, 900, 50]), 50, policy(500, -1), NOW)).toEqual([
      'retention_ms',
      'retention_ms',
    ]);
  });

  it('without activeDeletable (replicated logs), never deletes the active (last) segment', () => {
    expect(planRetention(segments([900, 900, 900]), 30, policy(1, -1), NOW)).toHaveLength(2);
    expect(planRetention(segments([900]), 10, policy(1, 0), NOW)).toEqual([]);
  });

  it('with activeDeletable, deletes the active segment too once it is committed and past retention', () => {
    const all = { activeDeletable: true };
    expect(planRetention(segments([900, 900, 900]), 30, policy(1, -1), NOW, all)).toEqual([
      'retention_ms',
      'retention_ms',
      'retention_ms',
    ]);
    expect(planRetention(segments([900]), 10, policy(-1, 0), NOW, all)).toEqual(['retention_bytes']);
    // Not while it holds data above the high watermark, nor by size while the log is within retentionBytes.
    expect(planRetention(segments([900]), 9, policy(1, -1), NOW, all)).toEqual([]);
    expect(planRetention(segments([900]), 10, policy(-1, 1), NOW, all)).toEqual([]);
    // An empty active segment has nothing to free.
    const empty = [{ baseOffset: 0, nextOffset: 0, sizeBytes: 0, maxTimestamp: -1 }];
    expect(planRetention(empty, 0, policy(1, 0), NOW, all)).toEqual([]);
  });

  it('deletes by size while the rest stays at or above retentionBytes', () => {
    const five = segments([1, 1, 1, 1, 1]);
    expect(planRetention(five, 50, policy(-1, 250), NOW)).toEqual(['retention_bytes', 'retention_bytes']);
    expect(planRetention(five, 50, policy(-1, 300), NOW)).toHaveLength(2);
    expect(planRetention(five, 50, policy(-1, 301), NOW)).toHaveLength(1);
    expect(planRetention(five, 50, policy(-1, 500), NOW)).toEqual([]);
  });

  it('combines time then size, and keeps segments holding data above the high watermark', () => {
    const segs = segments([900, 1, 1, 1]);
    expect(planRetention(segs, 40, policy(500, 200), NOW)).toEqual(['retention_ms', 'retention_bytes']);
    expect(planRetention(segs, 5, policy(500, 0), NOW)).toEqual([]);
  });

  it('keeps everything with retentionMs = -1 and retentionBytes = -1', () => {
    expect(planRetention(segments([1e9, 1e9, 1]), 30, policy(-1, -1), NOW)).toEqual([]);
  });

  it('deletes nothing from a compact-only topic, by time or by size; compact,delete retains as delete does', () => {
    const old = segments([900, 900, 900, 1]);
    expect(planRetention(old, 40, policy(500, 0, 'compact'), NOW)).toEqual([]);
    expect(planRetention(old, 40, policy(500, -1, 'compact,delete'), NOW)).toHaveLength(3);
  });
});
