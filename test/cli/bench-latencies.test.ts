/** Bench latency summaries: no percentile above the largest value recorded. */
import { describe, expect, it } from 'vitest';
import { latencies, newHistogram } from '../../cmd/bench/report.js';

describe('bench latencies', () => {
  it('caps percentiles at the max (a bucket upper end once read p99 above it)', () => {
    const h = newHistogram();
    h.recordValue(100_003);
    expect(h.getValueAtPercentile(99)).toBeGreaterThan(100_003); // the bucket's upper end
    expect(latencies(h)).toEqual({ p50_us: 100_003, p99_us: 100_003, p999_us: 100_003, max_us: 100_003 });
    for (let v = 1; v <= 1000; v++) h.recordValue(v);
    const l = latencies(h);
    expect(l.p50_us).toBeGreaterThanOrEqual(500);
    expect(l.p50_us).toBeLessThanOrEqual(501);
    expect(l.p99_us).toBeLessThanOrEqual(l.max_us);
  });
});
