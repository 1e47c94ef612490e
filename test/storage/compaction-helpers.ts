/** Helpers for log cleaner tests: a seeded generator, keyed batches, and reading a log as a consumer does. */
import { recordsFromFetch } from '../../src/client/fetched-records.js';
import { encodeRecordBatch, readBatchHeader, splitBatches } from '../../src/protocol/record-batch.js';
/** mulberry32 (the core's seeded generator), so a failing run replays from its printed seed. */
import { mulberry32 as seededRandom } from '../../src/raft/core/rand.js';
import type { ThrottleTime } from '../../src/storage/io-throttle.js';

export { seededRandom };

export interface KeyedRecord {
  key: string;
  /** null: a tombstone. */
  value: string | null;
}

export function keyedBatch(
  records: readonly KeyedRecord[],
  timestampMs: number,
  compression: 'none' | 'gzip' = 'none',
): Buffer {
  return encodeRecordBatch(
    records.map((r) => ({ key: r.key, value: r.value })),
    { baseTimestamp: timestampMs, compression },
  );
}

export interface ReadRecord {
  offset: number;
  key: string;
  value: string | null;
  timestamp: number;
}

interface ReadableLog {
  logStartOffset(): number;
  highWatermark(): number;
  read(offset: number, maxBytes: number): Promise<{ records: Buffer }>;
}

/**
 * Every record from the log start to the high watermark, fetched and decoded by the consumer's code
 * (fetched-records.ts), and the batches' offset ranges. Fails when a fetch makes no progress.
 */
export async function consumeAll(
  log: ReadableLog,
  from = log.logStartOffset(),
  maxBytes = 4096,
): Promise<{ records: ReadRecord[]; batches: string[] }> {
  const records: ReadRecord[] = [];
  const batches: string[] = [];
  let offset = from;
  while (offset < log.highWatermark()) {
    const { records: bytes } = await log.read(offset, maxBytes);
    for (const b of splitBatches(bytes)) {
      const h = readBatchHeader(b);
      if (h.baseOffset + h.lastOffsetDelta >= offset) batches.push(`${h.baseOffset}+${h.lastOffsetDelta}`);
    }
    const fetched = recordsFromFetch('t', 0, bytes, offset);
    if (fetched.nextOffset <= offset) throw new Error(`no progress reading at ${offset}`);
    for (const m of fetched.messages) {
      records.push({
        offset: m.offset,
        key: m.key?.toString() ?? '',
        value: m.value === null ? null : m.value.toString(),
        timestamp: m.timestamp,
      });
    }
    offset = fetched.nextOffset;
  }
  return { records, batches };
}

/** Time for an IoThrottle that moves only when the throttle sleeps (or the test moves it): waits are counted, not timed. */
export class FakeThrottleTime implements ThrottleTime {
  now = 0;
  readonly sleeps: number[] = [];
  nowMs(): number {
    return this.now;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.now += ms;
    return Promise.resolve();
  }
}
