/** The idempotent-producer table: retries answered with the original offset, gaps and old epochs refused. */
import { describe, expect, it } from 'vitest';
import {
  type IdempotentBatch,
  PRODUCER_BATCHES_KEPT,
  PRODUCERS_KEPT,
  ProducerStateTable,
} from '../../src/broker/producer-state.js';

const b = (producerId: number, firstSeq: number, lastSeq: number, producerEpoch = 0): IdempotentBatch => ({
  producerId,
  producerEpoch,
  firstSeq,
  lastSeq,
});

describe('ProducerStateTable', () => {
  it('appends contiguous batches, answers retries of the kept ones with their offset, refuses gaps', () => {
    const t = new ProducerStateTable();
    expect(t.check(b(7, 0, 2)).kind).toBe('append');
    t.record(b(7, 0, 2), 100);
    expect(t.check(b(7, 3, 4)).kind).toBe('append');
    t.record(b(7, 3, 4), 103);
    expect(t.check(b(7, 0, 2))).toMatchObject({ kind: 'duplicate', batch: { baseOffset: 100 } });
    expect(t.check(b(7, 3, 4))).toMatchObject({ kind: 'duplicate', batch: { baseOffset: 103 } });
    expect(t.check(b(7, 6, 6))).toMatchObject({ kind: 'refuse', code: 'OUT_OF_ORDER_SEQUENCE' });
    // A retry overlapping a kept batch differently is not the same batch: refused, not duplicated.
    expect(t.check(b(7, 3, 5))).toMatchObject({ kind: 'refuse', code: 'OUT_OF_ORDER_SEQUENCE' });
    // Another producer has its own sequence space, starting at 0.
    expect(t.check(b(8, 0, 0)).kind).toBe('append');
    expect(t.check(b(9, 4, 4))).toMatchObject({ kind: 'refuse', code: 'UNKNOWN_PRODUCER_ID' });
  });

  it(`keeps the last ${PRODUCER_BATCHES_KEPT} batches per producer: an older retry is out of order`, () => {
    const t = new ProducerStateTable();
    for (let i = 0; i <= PRODUCER_BATCHES_KEPT; i++) t.record(b(1, i, i), i);
    expect(t.check(b(1, 0, 0))).toMatchObject({ kind: 'refuse', code: 'OUT_OF_ORDER_SEQUENCE' });
    expect(t.check(b(1, 1, 1))).toMatchObject({ kind: 'duplicate', batch: { baseOffset: 1 } });
  });

  it('fences an older epoch; a newer epoch must start at sequence 0 and resets the batches', () => {
    const t = new ProducerStateTable();
    t.record(b(1, 0, 9, 2), 0);
    expect(t.check(b(1, 10, 10, 1))).toMatchObject({ kind: 'refuse', code: 'INVALID_PRODUCER_EPOCH' });
    expect(t.check(b(1, 5, 5, 3))).toMatchObject({ kind: 'refuse', code: 'OUT_OF_ORDER_SEQUENCE' });
    expect(t.check(b(1, 0, 0, 3)).kind).toBe('append');
    t.record(b(1, 0, 0, 3), 10);
    expect(t.check(b(1, 0, 9, 3))).toMatchObject({ kind: 'refuse', code: 'OUT_OF_ORDER_SEQUENCE' });
  });

  it('forgets a proposal that never reached the log with the later unwritten ones; written batches stay', () => {
    const t = new ProducerStateTable();
    t.record(b(1, 0, 0), 0);
    t.record(b(1, 1, 1), -1);
    t.record(b(1, 2, 2), -1);
    expect(t.forget(b(1, 0, 0))).toEqual([]);
    expect(t.check(b(1, 0, 0)).kind).toBe('duplicate');
    expect(t.forget(b(1, 1, 1))).toMatchObject([{ firstSeq: 2, lastSeq: 2 }]);
    expect(t.check(b(1, 1, 1)).kind).toBe('append');
    expect(t.check(b(1, 2, 2))).toMatchObject({ kind: 'refuse', code: 'OUT_OF_ORDER_SEQUENCE' });
  });

  it('survives encode/decode and cloning unchanged, clones independent', () => {
    const t = new ProducerStateTable();
    t.record(b(1, 0, 4), 0);
    t.record(b(2, 0, 0, 5), 5);
    const back = ProducerStateTable.decode(t.encode());
    expect(back.check(b(1, 0, 4))).toMatchObject({ kind: 'duplicate', batch: { baseOffset: 0 } });
    expect(back.check(b(2, 0, 0, 4))).toMatchObject({ kind: 'refuse', code: 'INVALID_PRODUCER_EPOCH' });
    const copy = t.clone();
    copy.record(b(1, 5, 5), 6);
    expect(t.check(b(1, 5, 5)).kind).toBe('append');
    expect(ProducerStateTable.decode(new Uint8Array(0)).size).toBe(0);
  });

  it(`forgets the least recently written producer beyond ${PRODUCERS_KEPT}`, () => {
    const t = new ProducerStateTable();
    for (let id = 1; id <= PRODUCERS_KEPT; id++) t.record(b(id, 0, 0), id);
    t.record(b(1, 1, 1), 0); // producer 1 written again: now the newest
    t.record(b(PRODUCERS_KEPT + 1, 0, 0), 0);
    expect(t.size).toBe(PRODUCERS_KEPT);
    expect(t.check(b(2, 5, 5))).toMatchObject({ kind: 'refuse', code: 'UNKNOWN_PRODUCER_ID' }); // forgotten
    expect(t.check(b(2, 0, 0)).kind).toBe('append');
    expect(t.check(b(1, 1, 1)).kind).toBe('duplicate');
  });
});
