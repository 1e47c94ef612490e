/**
 * The deduplicator in front of a partition's writer when writes fail: a failed batch and the later batches
 * checked as its successors are forgotten together, so retries are written (once, in sequence order) and
 * never answered as duplicates of batches the log does not hold.
 */
import { describe, expect, it } from 'vitest';
import { ProducerDeduplicator, type WrittenBatch } from '../../src/broker/producer-dedup.js';
import { ProducerStateTable } from '../../src/broker/producer-state.js';
import { isStreamBusError } from '../../src/errors/index.js';
import { encodeRecordBatch, readBatchHeader } from '../../src/protocol/record-batch.js';

const PRODUCER_ID = 7;

function batchOf(seq: number): Buffer {
  return encodeRecordBatch([{ key: null, value: Buffer.from(`v${seq}`) }], {
    baseTimestamp: 0,
    producerId: PRODUCER_ID,
    producerEpoch: 0,
    baseSequence: seq,
  });
}

/** A writer whose log is a list of sequences; a write is held until the test settles it. */
class FakeWriter {
  readonly log: number[] = [];
  private readonly held: { seq: number; resolve(w: WrittenBatch): void; reject(e: Error): void }[] = [];

  readonly writeNow = (batch: Buffer): Promise<WrittenBatch> => {
    const offset = this.log.length;
    this.log.push(readBatchHeader(batch).baseSequence);
    return Promise.resolve({ baseOffset: offset, lastOffset: offset });
  };

  readonly writeHeld = (batch: Buffer): Promise<WrittenBatch> =>
    new Promise((resolve, reject) => {
      this.held.push({ seq: readBatchHeader(batch).baseSequence, resolve, reject });
    });

  /** The held write of `seq` reaches the log now. */
  land(seq: number): void {
    const w = this.take(seq);
    const offset = this.log.length;
    this.log.push(seq);
    w.resolve({ baseOffset: offset, lastOffset: offset });
  }

  fail(seq: number): void {
    this.take(seq).reject(new Error(`write of ${seq} dropped`));
  }

  private take(seq: number): { resolve(w: WrittenBatch): void; reject(e: Error): void } {
    const at = this.held.findIndex((h) => h.seq === seq);
    const [w] = this.held.splice(at, 1);
    if (w === undefined) throw new Error(`no held write of ${seq}`);
    return w;
  }
}

const settle = <T>(p: Promise<T>): Promise<T | Error> => p.catch((e: unknown) => e as Error);

describe('ProducerDeduplicator: failed writes', () => {
  it('batches whose writes fail oldest first (a refused Raft flush) are all written by their retries, in order', async () => {
    const w = new FakeWriter();
    const dedup = new ProducerDeduplicator(() => new ProducerStateTable(), { topic: 't', partition: 0 });
    await dedup.append(batchOf(0), w.writeNow);
    const first = [1, 2, 3].map((seq) => settle(dedup.append(batchOf(seq), w.writeHeld)));
    for (const seq of [1, 2, 3]) w.fail(seq);
    await Promise.all(first);

    const retries = [];
    for (const seq of [1, 2, 3]) retries.push(await dedup.append(batchOf(seq), w.writeNow));

    expect(w.log).toEqual([0, 1, 2, 3]);
    expect(retries.map((r) => r.baseOffset)).toEqual([1, 2, 3]);
  });

  it('a later batch that reaches the log after an earlier one failed stays: the earlier retry is out of order, not written after it', async () => {
    const w = new FakeWriter();
    const dedup = new ProducerDeduplicator(() => new ProducerStateTable(), { topic: 't', partition: 0 });
    await dedup.append(batchOf(0), w.writeNow);
    const one = settle(dedup.append(batchOf(1), w.writeHeld));
    const two = settle(dedup.append(batchOf(2), w.writeHeld));
    w.fail(1);
    await one;
    // The producer's next batch is checked once the write of 2 (checked as 1's successor) has ended.
    const three = settle(dedup.append(batchOf(3), w.writeHeld));
    w.land(2);
    expect(await two).toMatchObject({ baseOffset: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    w.land(3);
    expect(await three).toMatchObject({ baseOffset: 2 });

    const retryOfOne = await settle(dedup.append(batchOf(1), w.writeNow));
    expect(isStreamBusError(retryOfOne) && retryOfOne.code).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(w.log).toEqual([0, 2, 3]);
  });

  it('a producer whose first batch failed starts over from that sequence, not from any', async () => {
    const w = new FakeWriter();
    const dedup = new ProducerDeduplicator(() => new ProducerStateTable(), { topic: 't', partition: 0 });
    const zero = settle(dedup.append(batchOf(0), w.writeHeld));
    w.fail(0);
    await zero;
    const skipped = await settle(dedup.append(batchOf(1), w.writeNow));
    expect(isStreamBusError(skipped) && skipped.code).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(await dedup.append(batchOf(0), w.writeNow)).toMatchObject({ baseOffset: 0 });
    expect(w.log).toEqual([0]);
  });
});
