/**
 * The batches of one drain round gathered into Produce requests: one per leader and acks level, as many as
 * keep each under `maxRequestBytes` (the brokers' limits.frame_bytes_max: a larger frame is refused unread,
 * FRAME_TOO_LARGE, and the connection closed, failing every later request in flight on it). Also the limit
 * a producer keeps to once a broker refused a request so (limitAfterRefusal).
 */
import { StreamBusError } from '../errors/index.js';
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
    const cost = costBytes(batch);
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

/** A built batch's share of a request's size: its bytes and its partition entry's framing. */
function costBytes(batch: Batch): number {
  return batch.bytes!.length + Buffer.byteLength(batch.topic) + ENTRY_OVERHEAD_BYTES;
}

/** Whether a built batch fits in a request of `maxRequestBytes` by itself. */
export function fitsAlone(batch: Batch, maxRequestBytes: number): boolean {
  return REQUEST_OVERHEAD_BYTES + costBytes(batch) <= maxRequestBytes;
}

/**
 * The request limit after a leader refused a request of `batches` as over its limits.frame_bytes_max: the
 * limit it answered (`limitBytes`), and below the refused request's estimated size in any case. So every
 * refusal shrinks the requests after it, and one of a single batch leaves that batch no longer fitting
 * (it is split or fails): a refusal can never be met by the same request again.
 */
export function limitAfterRefusal(current: number, batches: readonly Batch[], err: StreamBusError): number {
  const answered = err.metadata.limitBytes;
  const limit = typeof answered === 'number' && answered > 0 ? answered : current;
  const refusedBytes = batches.reduce((n, b) => n + costBytes(b), REQUEST_OVERHEAD_BYTES);
  return Math.max(1, Math.min(current, limit, refusedBytes - 1));
}

/**
 * The error a batch too large for any request fails with: BATCH_TOO_LARGE, as for a record over the batch
 * limit or over maxRequestBytes (one code for "this record cannot be sent for its size", as Kafka's
 * RecordTooLargeException), naming the broker's limit; the broker's FRAME_TOO_LARGE is its cause.
 */
export function tooLargeForRequests(
  batch: Batch,
  refusal: StreamBusError,
  maxRequestBytes: number,
): StreamBusError {
  const sizeBytes = batch.bytes!.length;
  return new StreamBusError('BATCH_TOO_LARGE', {
    operation: 'producer.send',
    message: `a batch of ${batch.records.length} record(s) for ${batch.topic}/${batch.partition} is ${sizeBytes} bytes, more than a request its leader accepts may carry: ${refusal.message}`,
    cause: refusal,
    metadata: { topic: batch.topic, partition: batch.partition, sizeBytes, maxRequestBytes },
  });
}
