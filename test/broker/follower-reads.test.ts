/**
 * A follower's copy as consumers read it, over a replica that keeps the store's contract (OFFSET_OUT_OF_RANGE
 * outside [log start, high watermark]): past its high watermark is "nothing yet" (the leader may hold it),
 * below its log start is OFFSET_OUT_OF_RANGE, and in between it reads as the replica does.
 */
import { describe, expect, it } from 'vitest';
import { followerReads } from '../../src/broker/replica/follower-reads.js';
import { isStreamBusError, StreamBusError } from '../../src/errors/index.js';

function replicaHolding(logStart: number, highWatermark: number) {
  return {
    logStartOffset: () => logStart,
    highWatermark: () => highWatermark,
    onHighWatermark: () => () => {},
    read: async (offset: number) => {
      if (offset < logStart || offset > highWatermark)
        throw new StreamBusError('OFFSET_OUT_OF_RANGE', { operation: 'test.read' });
      return { records: Buffer.from([offset]), highWatermark, logStartOffset: logStart };
    },
  };
}

async function codeOf(work: Promise<unknown>): Promise<string | null> {
  try {
    await work;
    return null;
  } catch (err) {
    return isStreamBusError(err) ? err.code : String(err);
  }
}

describe('followerReads', () => {
  it('past its high watermark answers nothing yet, never OFFSET_OUT_OF_RANGE', async () => {
    const reads = followerReads(replicaHolding(10, 20));
    const ahead = await reads.read(25, 1 << 20);
    expect(ahead).toEqual({ records: Buffer.alloc(0), highWatermark: 20, logStartOffset: 10 });
  });

  it('below its log start is OFFSET_OUT_OF_RANGE, as at the leader; in range it reads the replica', async () => {
    const reads = followerReads(replicaHolding(10, 20));
    expect(await codeOf(reads.read(9, 1 << 20))).toBe('OFFSET_OUT_OF_RANGE');
    expect((await reads.read(15, 1 << 20)).records).toEqual(Buffer.from([15]));
    expect(reads.highWatermark()).toBe(20);
    expect(reads.logStartOffset()).toBe(10);
  });
});
