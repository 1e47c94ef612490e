/**
 * What `bench consume` counts: exactly --messages (not the whole last poll), and the bytes really read
 * (key + value), from which mib_per_s is computed.
 */
import { describe, expect, it } from 'vitest';
import { countRead } from '../../cmd/bench/consume.js';
import { newHistogram, summarize } from '../../cmd/bench/report.js';
import type { ConsumerMessage } from '../../src/index.js';

const message = (key: string | null, valueBytes: number | null): ConsumerMessage => ({
  topic: 't',
  partition: 0,
  offset: 0,
  timestamp: 0,
  key: key === null ? null : Buffer.from(key),
  value: valueBytes === null ? null : Buffer.alloc(valueBytes),
  headers: [],
});

describe('bench consume counting', () => {
  it('counts only the messages still wanted from a poll that returned more', () => {
    const poll = [message(null, 10), message('k', 20), message(null, 30)];
    expect(countRead(poll, 2)).toEqual({ count: 2, bytes: 10 + 1 + 20 });
    expect(countRead(poll, 5)).toEqual({ count: 3, bytes: 61 });
    expect(countRead(poll, 0)).toEqual({ count: 0, bytes: 0 });
  });

  it('counts key and value bytes; a null key or value is 0 bytes', () => {
    expect(countRead([message('abc', null), message(null, null)], 2)).toEqual({ count: 2, bytes: 3 });
  });

  it('mib_per_s is computed from the bytes given, not messages x size_bytes', () => {
    const s = summarize('consume', 1000, 999, 2 * 1048576, 2, newHistogram());
    expect(s.mib_per_s).toBe(1);
    expect(s.msgs_per_s).toBe(500);
    expect(s.size_bytes).toBe(999);
  });
});
