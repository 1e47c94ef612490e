/** How a check's worth of in-sync set changes is split into updateInSyncSets commands within their bounds. */
import { describe, expect, it } from 'vitest';
import { encodeCommand, type InSyncSetChange } from '../../src/metadata/commands.js';
import {
  IN_SYNC_SET_ITEMS_MAX,
  IN_SYNC_SETS_BYTES_MAX,
  inSyncSetBatches,
  inSyncSetBytes,
} from '../../src/metadata/in-sync-batches.js';

const change = (topic: string, partition: number, isr: number[]): InSyncSetChange => ({
  topic,
  partition,
  expectedEpoch: partition,
  leader: isr[0] ?? -1,
  isr,
});

describe('in-sync set batches', () => {
  it('estimates no item below its encoded size, so a batch within the bound encodes within it', () => {
    const items = [
      change('t', 0, [1]),
      change('x'.repeat(249), 2 ** 31, [2 ** 31, 7, 2 ** 40]),
      change('orders.eu-west', 70_000, []),
    ];
    const envelope = encodeCommand({ type: 'updateInSyncSets', items: [] }, 'r').byteLength;
    for (const item of items) {
      const encoded = encodeCommand({ type: 'updateInSyncSets', items: [item] }, 'r').byteLength - envelope;
      expect(inSyncSetBytes(item)).toBeGreaterThanOrEqual(encoded);
    }
  });

  it('keeps the order and cuts a run at the item bound', () => {
    const changes = Array.from({ length: 2 * IN_SYNC_SET_ITEMS_MAX + 1 }, (_, i) => change('t', i, [1, 2]));
    const batches = inSyncSetBatches(changes, (c) => c);
    expect(batches.map((b) => b.length)).toEqual([IN_SYNC_SET_ITEMS_MAX, IN_SYNC_SET_ITEMS_MAX, 1]);
    expect(batches.flat()).toEqual(changes);
    expect(inSyncSetBatches([], (c: InSyncSetChange) => c)).toEqual([]);
  });

  it('cuts a run at the byte bound: long topic names and wide sets make smaller commands', () => {
    const wide = Array.from({ length: 50 }, (_, i) => i + 1);
    const changes = Array.from({ length: IN_SYNC_SET_ITEMS_MAX }, (_, i) => change('t'.repeat(249), i, wide));
    const batches = inSyncSetBatches(changes, (c) => c);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) {
      expect(b.reduce((sum, c) => sum + inSyncSetBytes(c), 0)).toBeLessThanOrEqual(IN_SYNC_SETS_BYTES_MAX);
    }
    expect(batches.flat()).toEqual(changes);
  });
});
