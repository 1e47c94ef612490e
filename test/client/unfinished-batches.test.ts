import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/client/producer-batch.js';
import { UnfinishedBatches } from '../../src/client/unfinished-batches.js';

/** Only the fields UnfinishedBatches reads. */
function batch(topic: string, partition: number, seq: number, producerId: number): Batch {
  return { topic, partition, seq, producerId } as Batch;
}

describe('UnfinishedBatches', () => {
  it('finds an older pending batch only in the same partition and producer id', () => {
    const u = new UnfinishedBatches();
    const older = batch('t', 0, 1, 7);
    const newer = batch('t', 0, 2, 7);
    for (const b of [older, newer, batch('t', 1, 0, 7), batch('u', 0, 0, 7), batch('t', 0, 0, 8)]) u.add(b);
    expect(u.olderPending(newer)).toBe(true);
    expect(u.olderPending(older)).toBe(false); // other partitions, topics and ids do not count
    u.delete(older);
    expect(u.olderPending(newer)).toBe(false);
    expect(u.size).toBe(4);
    expect([...u]).not.toContain(older);
  });

  it('never reports one for a batch without a producer id, nor counts an unsealed one', () => {
    const u = new UnfinishedBatches();
    const plain = batch('t', 0, 3, -1);
    u.add(batch('t', 0, 1, -1));
    u.add(plain);
    expect(u.olderPending(plain)).toBe(false);
    const sequenced = batch('t', 0, 5, 9);
    u.add(batch('t', 0, -1, 9)); // still open: no sealing order yet
    u.add(sequenced);
    expect(u.olderPending(sequenced)).toBe(false);
  });
});
