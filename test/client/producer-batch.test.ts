/**
 * The send trackers and batches a producer works with: a failed send's promise never goes unhandled, and a
 * failed send's records leave the batches not built yet (and only those).
 */
import { describe, expect, it } from 'vitest';
import {
  BATCH_OVERHEAD_BYTES,
  type Batch,
  dropFailedSends,
  openBatch,
  recordSizeBytes,
  type SendTracker,
  settleFailed,
  trackSend,
} from '../../src/client/producer-batch.js';
import { StreamBusError } from '../../src/errors/index.js';

const tooLarge = () => new StreamBusError('BATCH_TOO_LARGE', { operation: 'producer.send' });

function batchOf(records: { value: string; tracker: SendTracker }[]): Batch {
  const batch = openBatch('t', 0, -1, 0);
  records.forEach(({ value, tracker }, i) => {
    const record = { key: null, value, timestamp: 0 };
    batch.records.push(record);
    batch.trackers.push(tracker);
    batch.resultIndexes.push(i);
    batch.sizeBytes += recordSizeBytes(record);
  });
  return batch;
}

describe('trackSend', () => {
  it('a send that fails before anyone awaits it is no unhandled rejection, and its awaiter still gets the error', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const { tracker, settled } = trackSend(2);
      settleFailed(tracker, tooLarge());
      // Node reports a rejection nobody handled once the turn's microtasks have run.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      await expect(settled).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE' });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('dropFailedSends', () => {
  it("takes a failed send's records out of a batch not built yet, keeping the others in order, and returns their bytes", () => {
    const failed = trackSend(2);
    const live = trackSend(2);
    const batch = batchOf([
      { value: 'f0', tracker: failed.tracker },
      { value: 'l0', tracker: live.tracker },
      { value: 'f1-longer', tracker: failed.tracker },
      { value: 'l1', tracker: live.tracker },
    ]);
    settleFailed(failed.tracker, tooLarge());
    const droppedBytes = dropFailedSends(batch);
    expect(droppedBytes).toBe(
      recordSizeBytes({ key: null, value: 'f0', timestamp: 0 }) +
        recordSizeBytes({ key: null, value: 'f1-longer', timestamp: 0 }),
    );
    expect(batch.records.map((r) => r.value)).toEqual(['l0', 'l1']);
    expect(batch.trackers).toEqual([live.tracker, live.tracker]);
    expect(batch.resultIndexes).toEqual([1, 3]);
    expect(batch.sizeBytes).toBe(BATCH_OVERHEAD_BYTES + 2 * recordSizeBytes(batch.records[0]!));
  });

  it('leaves a batch of live sends whole (0 bytes), and empties one of failed sends only', () => {
    const live = trackSend(1);
    const whole = batchOf([{ value: 'l0', tracker: live.tracker }]);
    expect(dropFailedSends(whole)).toBe(0);
    expect(whole.records).toHaveLength(1);
    const failed = trackSend(1);
    const emptied = batchOf([{ value: 'f0', tracker: failed.tracker }]);
    settleFailed(failed.tracker, tooLarge());
    expect(dropFailedSends(emptied)).toBeGreaterThan(0);
    expect(emptied.records).toEqual([]);
    expect(emptied.sizeBytes).toBe(BATCH_OVERHEAD_BYTES);
  });

  it('leaves a built batch whole: its sequences are taken and a send of it may have been written', () => {
    const failed = trackSend(1);
    const built = batchOf([{ value: 'f0', tracker: failed.tracker }]);
    built.bytes = Buffer.alloc(1);
    settleFailed(failed.tracker, tooLarge());
    expect(dropFailedSends(built)).toBe(0);
    expect(built.records).toHaveLength(1);
  });
});
