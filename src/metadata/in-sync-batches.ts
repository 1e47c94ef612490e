/**
 * The bounds of one updateInSyncSets command, and the split of a check's worth of in-sync set changes into
 * commands within them (pure).
 */
import type { InSyncSetChange } from './commands.js';

/**
 * Items in one command. A broker leading thousands of partitions publishes them in a few commands; the
 * bound keeps one entry's apply (and its result, remembered with its request id) small.
 */
export const IN_SYNC_SET_ITEMS_MAX = 1_000;

/**
 * Estimated encoded bytes of one command's items: well under a Raft append message (maxSizePerMsgBytes,
 * 1 MiB, which a larger entry would exceed alone) and the peer frame limit a forwarded proposal travels in.
 */
export const IN_SYNC_SETS_BYTES_MAX = 256 * 1024;

/**
 * An upper bound of an item's msgpack size: a map of five keys (41 bytes of names and headers), the topic
 * (at most 255 ASCII bytes, 2 of header), three integers of at most 9 bytes and the ISR (9 bytes an id).
 */
export function inSyncSetBytes(item: InSyncSetChange): number {
  return 1 + 41 + 2 + item.topic.length + 3 * 9 + 3 + 9 * item.isr.length;
}

/** Splits `changes`, in order, into runs that each fit one command (at least one change a run). */
export function inSyncSetBatches<T>(changes: readonly T[], itemOf: (change: T) => InSyncSetChange): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const change of changes) {
    const size = inSyncSetBytes(itemOf(change));
    if (
      current.length > 0 &&
      (current.length >= IN_SYNC_SET_ITEMS_MAX || bytes + size > IN_SYNC_SETS_BYTES_MAX)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(change);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
