/** Fifo keeps first-in first-out order across the compaction of its taken prefix. */
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/client/fifo.js';

describe('Fifo', () => {
  it('takes items in the order they were put, through many compactions, and is empty at the end', () => {
    const q = new Fifo<number>();
    const taken: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) q.push(next++);
      for (let i = 0; i < 2000; i++) taken.push(q.shift()!);
    }
    expect(q.length).toBe(50 * 1000);
    while (q.length > 0) taken.push(q.shift()!);
    expect(q.shift()).toBeUndefined();
    expect(taken).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});
