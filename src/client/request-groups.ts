/**
 * The batches of one drain round gathered into Produce requests: one per leader and acks level, as many as
 * keep each under `maxRequestBytes` (the brokers' limits.frame_bytes_max: a larger frame is refused by
 * closing the connection, which fails every request in flight on it, and its retry would fail alike).
 */
import type { Acks } from '../protocol/index.js';
import type { Batch } from './producer-batch.js';

/**
 * Room kept for a request's header (client id, trace context) and body framing. Generous on purpose: an
 * estimate too low risks a refused frame, one too high only an earlier second request.
 */
export const REQUEST_OVERHEAD_BYTES = 4096;
/** Body framing of a partition entry besides its topic name and batch bytes (an estimate, as above). */
const ENTRY_OVERHEAD_BYTES = 64;

export interface RequestGroup {
  readonly leaderId: number;
  readonly acks: Acks;
  batches: Batch[];
}

export class RequestGroups {
  private readonly open = new Map<string, RequestGroup & { bytes: number }>();
  private readonly full: RequestGroup[] = [];

  constructor(private readonly maxRequestBytes: number) {}

  /** Adds a built batch to its leader's request, starting another one when it would pass the limit. */
  add(leaderId: number, batch: Batch): void {
    const key = `${leaderId}/${batch.acks}`;
    const cost = batch.bytes!.length + Buffer.byteLength(batch.topic) + ENTRY_OVERHEAD_BYTES;
    let group = this.open.get(key);
    if (group !== undefined && group.batches.length > 0 && group.bytes + cost > this.maxRequestBytes) {
      this.full.push(group);
      group = undefined;
    }
    if (group === undefined) {
      group = { leaderId, acks: batch.acks, batches: [], bytes: REQUEST_OVERHEAD_BYTES };
      this.open.set(key, group);
    }
    group.batches.push(batch);
    group.bytes += cost;
  }

  /** The requests, those filled first before the others. */
  list(): RequestGroup[] {
    return [...this.full, ...this.open.values()];
  }
}
