/** When a compacted log is due for cleaning and how much of it may be cleaned (cleaning-plan.ts). */
import { describe, expect, it } from 'vitest';
import { NO_CHECKPOINT } from '../../src/storage/cleaner-checkpoint.js';
import { groupForCleaning, planCleaning } from '../../src/storage/cleaning-plan.js';
import type { SegmentSummary } from '../../src/storage/retention.js';

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

const policy = (minCleanableDirtyRatio: number, minCompactionLagMs = 0) => ({
  minCleanableDirtyRatio,
  minCompactionLagMs,
});

describe('planCleaning', () => {
  it('is due once the dirty part reaches min_cleanable_dirty_ratio of the cleanable bytes', () => {
    const four = segments([9, 9, 9, 9]);
    const checkpoint = (firstDirtyOffset: number) => ({ firstDirtyOffset, tombstoneHorizonMs: -1 });
    expect(planCleaning(four, checkpoint(20), policy(0.5), NOW)).toMatchObject({
      dirtyRatio: 0.5,
      due: true,
    });
    expect(planCleaning(four, checkpoint(30), policy(0.5), NOW)).toMatchObject({
      dirtyRatio: 0.25,
      due: false,
    });
    expect(planCleaning(four, checkpoint(40), policy(0), NOW)).toMatchObject({ dirtyRatio: 0, due: false });
    // A log never cleaned is all dirty.
    expect(planCleaning(four, NO_CHECKPOINT, policy(1), NOW)).toMatchObject({
      firstDirtyOffset: 0,
      due: true,
    });
  });

  it('cleans only the oldest segments whose newest record is at least min_compaction_lag_ms old', () => {
    const plan = planCleaning(segments([900, 800, 100, 900]), NO_CHECKPOINT, policy(0.5, 500), NOW);
    expect(plan).toMatchObject({ segmentCount: 2, due: true });
    expect(planCleaning(segments([100, 900]), NO_CHECKPOINT, policy(0, 500), NOW)).toMatchObject({
      segmentCount: 0,
      due: false,
    });
  });

  it('is due when a kept tombstone reaches its delete horizon, dirty or not', () => {
    const clean = { firstDirtyOffset: 40, tombstoneHorizonMs: NOW };
    expect(planCleaning(segments([9, 9, 9, 9]), clean, policy(0.5), NOW).due).toBe(true);
    expect(planCleaning(segments([9, 9, 9, 9]), clean, policy(0.5), NOW - 1).due).toBe(false);
  });

  it('clamps a checkpoint outside the log (retention moved the start, a truncation the end)', () => {
    const two = segments([9, 9]).map((s) => ({
      ...s,
      baseOffset: s.baseOffset + 100,
      nextOffset: s.nextOffset + 100,
    }));
    expect(planCleaning(two, NO_CHECKPOINT, policy(0.5), NOW).firstDirtyOffset).toBe(100);
    expect(
      planCleaning(two, { firstDirtyOffset: 999, tombstoneHorizonMs: -1 }, policy(0), NOW),
    ).toMatchObject({
      firstDirtyOffset: 120,
      due: false,
    });
  });
});

describe('groupForCleaning', () => {
  const sized = (sizes: number[], offsetsEach = 10): SegmentSummary[] =>
    sizes.map((sizeBytes, i) => ({
      baseOffset: i * offsetsEach,
      nextOffset: (i + 1) * offsetsEach,
      sizeBytes,
      maxTimestamp: 0,
    }));
  const bases = (runs: SegmentSummary[][]) => runs.map((run) => run.map((s) => s.baseOffset));

  it('groups adjacent segments while their bytes stay within segment_bytes, oldest first', () => {
    expect(bases(groupForCleaning(sized([300, 300, 400, 100, 901, 50, 50]), 1000))).toEqual([
      [0, 10, 20],
      [30],
      [40, 50],
      [60],
    ]);
  });

  it('keeps a segment as big as segment_bytes, or bigger, alone', () => {
    expect(bases(groupForCleaning(sized([1000, 1200, 10]), 1000))).toEqual([[0], [10], [20]]);
  });

  it("ends a run before its offsets pass what a segment's index holds relative to its base", () => {
    const runs = groupForCleaning(sized([1, 1, 1, 1], 2 ** 30), 1000);
    // 0x7fffffff: offsets up to 2^31 - 1 from the base, so two segments of 2^30 offsets fit, three do not.
    expect(bases(runs)).toEqual([
      [0, 2 ** 30],
      [2 ** 31, 3 * 2 ** 30],
    ]);
  });
});
