import { describe, expect, it } from 'vitest';
import {
  failoverMs,
  fullyInSync,
  percentile,
  type SendRecord,
  summarize,
} from '../../chaos/bench/failover-bench.js';
import type { MetadataResponse } from '../../src/protocol/messages.js';

const send = (partition: number, issuedMs: number, ackedMs: number | null): SendRecord => ({
  partition,
  issuedMs,
  ackedMs,
  failed: false,
});

describe('failover bench measurement', () => {
  it('counts only sends issued at or after the kill, however early an older send was acknowledged', () => {
    const sends = [send(0, 990, 1005), send(0, 995, 2400), send(0, 1000, 2300), send(0, 1010, 2310)];
    expect(failoverMs(sends, 0, 1000)).toBe(1300);
  });

  it('takes the earliest acknowledgement even when a later-issued send is acknowledged first', () => {
    const sends = [send(0, 1001, 2500), send(0, 1011, 2200)];
    expect(failoverMs(sends, 0, 1000)).toBe(1200);
  });

  it('ignores other partitions and reports null while nothing after the kill is acknowledged', () => {
    const sends = [send(1, 1001, 1100), send(0, 1002, null)];
    expect(failoverMs(sends, 0, 1000)).toBeNull();
    expect(failoverMs([], 0, 1000)).toBeNull();
  });

  it('percentile is nearest-rank, so p99 of 20 samples is the maximum', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(twenty, 0.99)).toBe(20);
    expect(percentile(twenty, 0.5)).toBe(10);
    expect(percentile([7], 0.01)).toBe(7);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('a kill with no acknowledgement is slower than every measured one, not dropped', () => {
    const s = summarize([1200, null, 1000]);
    expect(s.kills).toBe(3);
    expect(s.unacked).toBe(1);
    expect(s.p50_ms).toBe(1200);
    expect(s.p99_ms).toBeNull();
    expect(s.max_ms).toBeNull();
    expect(s.min_ms).toBe(1000);
    expect(s.mean_ms).toBe(1100);
  });
});

describe('failover bench readiness', () => {
  const md = (isr: number[], leaderId = 1): MetadataResponse => ({
    clusterId: 'c',
    controllerId: 1,
    brokers: [],
    topics: [
      {
        name: 't',
        error: null,
        internal: false,
        partitions: [{ partition: 0, leaderId, leaderEpoch: 3, replicas: [1, 2, 3], isr, error: null }],
      },
    ],
  });

  it('is in sync only with a leader and every replica in the ISR', () => {
    expect(fullyInSync(md([1, 2, 3]), 't', 1)).toBe(true);
    expect(fullyInSync(md([1, 3]), 't', 1)).toBe(false);
    expect(fullyInSync(md([1, 2, 3], -1), 't', 1)).toBe(false);
    expect(fullyInSync(md([1, 2, 3]), 't', 2)).toBe(false);
    expect(fullyInSync(md([1, 2, 3]), 'other', 1)).toBe(false);
  });
});
