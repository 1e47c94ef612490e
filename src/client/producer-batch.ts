/**
 * The producer's unit of work: a batch of records for one partition, with the send() calls waiting on it,
 * and how it is built (encoded once, taking its partition's sequence when idempotent).
 */
import { invariant, StreamBusError } from '../errors/index.js';
import type { Compression } from '../protocol/compression.js';
import type { Acks } from '../protocol/index.js';
import { encodeRecordBatch, type ProducerRecord } from '../protocol/record-batch.js';
import { type IdempotenceState, NO_IDENTITY } from './idempotence.js';
import type { RecordMetadata } from './producer-options.js';
import type { Clock, TimerHandle } from './timers.js';

/**
 * One send() call. Its records may spread over several batches; it settles once, when the last of them is
 * acknowledged (or the first fails). One promise per call, not per message, keeps the hot path light.
 */
export interface SendTracker {
  results: RecordMetadata[];
  remaining: number;
  settled: boolean;
  resolve(results: RecordMetadata[]): void;
  reject(err: unknown): void;
}

/**
 * A tracker for a send() of `count` messages, and the promise it settles. The send() awaits that promise
 * only once all its records are appended, which can wait for buffer space while its first batches are
 * already out: one failing meanwhile rejects it with nobody listening yet, an unhandled rejection that
 * ends the process. So it is marked handled here; the send() still gets the rejection when it awaits.
 */
export function trackSend(count: number): { tracker: SendTracker; settled: Promise<RecordMetadata[]> } {
  let tracker!: SendTracker;
  const settled = new Promise<RecordMetadata[]>((resolve, reject) => {
    tracker = { results: new Array(count), remaining: count, settled: false, resolve, reject };
  });
  settled.catch(() => undefined);
  return { tracker, settled };
}

export interface Batch {
  topic: string;
  partition: number;
  acks: Acks;
  records: ProducerRecord[];
  /** For records[i]: the send() it came from and its index in that call's results. */
  trackers: SendTracker[];
  resultIndexes: number[];
  sizeBytes: number;
  timer: TimerHandle | null;
  /** Encoded once, when the batch is first taken for sending; every retry re-sends these bytes. */
  bytes: Buffer | null;
  /** The identity and base sequence in `bytes` (-1 for a batch that is not idempotent or not built yet). */
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** Its place among its partition's idempotent batches (IdempotenceState.takeSequence); -1 otherwise. */
  ordinal: number;
  attempts: number;
  /** The error of its last failed attempt, if any: what it fails with once out of time (deliveryExpired). */
  lastError: StreamBusError | null;
  /** Times the batch was sent. One sent before may already be written, whatever its answer said. */
  sends: number;
  /**
   * Whether a send of it under its current identity may have been written: one that got no answer, or an
   * answer other than a refusal before writing (produce-request.ts). Only a batch that cannot have been
   * written may be re-sequenced under a newer identity (resequence) without risking a second copy.
   */
  maybeWritten: boolean;
  /**
   * Whether an older batch of its partition was unacknowledged when this attempt was sent: an out-of-order
   * answer is then that batch's gap, even if it arrives (from an old leader, on another connection) after
   * the older batch was acknowledged.
   */
  sentBehindOlder: boolean;
  /** When the batch was opened: its delivery timeout counts from here. */
  createdMs: number;
  /**
   * Sealing order (-1 while open); the ready queue is kept in this order, and retried batches go back in
   * it, so a partition's batches are built (take their sequences) and sent in sequence.
   */
  seq: number;
  /**
   * The room in sealing order between this batch and the next one sealed (1): the pieces of a batch split
   * after a too-large refusal share it (splitBatch), so they keep their batch's place in line.
   */
  seqSpan: number;
  /** Settles when the batch is acknowledged or has failed for good (what flush() waits for). */
  done: Promise<void>;
  markDone: () => void;
}

/** Bytes of batch and record framing beyond keys, values and headers (an estimate for batch sizing). */
export const BATCH_OVERHEAD_BYTES = 61;
export const RECORD_OVERHEAD_BYTES = 24;

export function sizeOf(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/** A record's share of its batch's size estimate (`sizeBytes`): framing, key, value and headers. */
export function recordSizeBytes(record: ProducerRecord): number {
  let size = RECORD_OVERHEAD_BYTES + sizeOf(record.key) + sizeOf(record.value);
  if (record.headers) for (const h of record.headers) size += sizeOf(h.key) + sizeOf(h.value);
  return size;
}

/** A new, empty batch, not sealed yet (seq -1) and never sent. */
export function openBatch(topic: string, partition: number, acks: Acks, createdMs: number): Batch {
  let markDone = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    markDone = resolve;
  });
  return {
    topic,
    partition,
    acks,
    records: [],
    trackers: [],
    resultIndexes: [],
    sizeBytes: BATCH_OVERHEAD_BYTES,
    timer: null,
    bytes: null,
    ...NO_IDENTITY,
    attempts: 0,
    lastError: null,
    sends: 0,
    maybeWritten: false,
    sentBehindOlder: false,
    createdMs,
    seq: -1,
    seqSpan: 1,
    ordinal: -1,
    done,
    markDone,
  };
}

/**
 * Splits a batch the leader refused as too large, before writing it (so none of its sends was written),
 * into pieces of about half its records' size (at least two: it holds two records or more), in record
 * order, none built yet. Each piece carries its records' send() trackers, keeps the batch's delivery
 * timeout and retries spent, and takes a place in line inside the batch's own (`seqSpan`). Returns the
 * pieces and the size they aim at.
 */
export function splitBatch(batch: Batch): { pieces: Batch[]; targetBytes: number } {
  invariant(batch.records.length > 1 && !batch.maybeWritten, 'only an unwritten batch of 2+ records splits');
  const targetBytes = BATCH_OVERHEAD_BYTES + Math.ceil((batch.sizeBytes - BATCH_OVERHEAD_BYTES) / 2);
  const pieces: Batch[] = [];
  let piece: Batch | null = null;
  for (let i = 0; i < batch.records.length; i++) {
    const record = batch.records[i]!;
    const size = recordSizeBytes(record);
    if (piece === null || (piece.records.length > 0 && piece.sizeBytes + size > targetBytes)) {
      piece = openBatch(batch.topic, batch.partition, batch.acks, batch.createdMs);
      piece.attempts = batch.attempts;
      pieces.push(piece);
    }
    piece.records.push(record);
    piece.trackers.push(batch.trackers[i]!);
    piece.resultIndexes.push(batch.resultIndexes[i]!);
    piece.sizeBytes += size;
  }
  const span = batch.seqSpan / pieces.length;
  pieces.forEach((p, i) => {
    p.seq = batch.seq + i * span;
    p.seqSpan = span;
  });
  return { pieces, targetBytes };
}

/**
 * Takes out of a batch not built yet the records of send() calls that already failed, returning the bytes
 * they held (their share of `sizeBytes`); a built batch (sequences taken, maybe sent) is left whole (0).
 * Such a send's caller was told it failed and will send it again if it wants it: the records still to go
 * would be copies-to-be, and against a size limit each one would be refused (and split) alone, which kept
 * a large failed send busy for minutes. A tracker settles with success only when all its records are
 * acknowledged, so one settled with records still unbuilt has failed.
 */
export function dropFailedSends(batch: Batch): number {
  if (batch.bytes !== null) return 0;
  let droppedBytes = 0;
  let kept = 0;
  for (let i = 0; i < batch.records.length; i++) {
    const record = batch.records[i]!;
    if (batch.trackers[i]!.settled) {
      droppedBytes += recordSizeBytes(record);
      continue;
    }
    batch.records[kept] = record;
    batch.trackers[kept] = batch.trackers[i]!;
    batch.resultIndexes[kept] = batch.resultIndexes[i]!;
    kept++;
  }
  batch.records.length = kept;
  batch.trackers.length = kept;
  batch.resultIndexes.length = kept;
  batch.sizeBytes -= droppedBytes;
  return droppedBytes;
}

/**
 * Encodes a batch not built yet; a batch that needs an identity (idempotent, acks not 0) takes its
 * partition's next sequences now, once: retries re-send these bytes. Throws what encoding throws.
 */
export function buildBatch(
  batch: Batch,
  idempotence: IdempotenceState | null,
  compression: Compression,
  clock: Clock,
): void {
  if (batch.bytes !== null) return;
  if (idempotence !== null && batch.acks !== 0) {
    const identity = idempotence.current();
    invariant(identity !== null, 'an idempotent batch is built without a producer identity');
    batch.producerId = identity.producerId;
    batch.producerEpoch = identity.producerEpoch;
    const taken = idempotence.takeSequence(batch.topic, batch.partition, batch.records.length);
    batch.baseSequence = taken.baseSequence;
    batch.ordinal = taken.ordinal;
  }
  batch.bytes = encodeRecordBatch(batch.records, {
    compression,
    baseTimestamp: batch.records[0]?.timestamp ?? clock.nowMs(),
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
  });
}

/**
 * Returns a batch that was refused (or never sent) under an identity that is no longer current to the
 * state of one never built: it takes the current identity and its partition's next sequence when next
 * taken for sending. Its retries spent and delivery timeout stay.
 */
export function resequence(batch: Batch): void {
  invariant(!batch.maybeWritten, 'a batch that may have been written is re-sequenced');
  batch.bytes = null;
  Object.assign(batch, NO_IDENTITY);
  batch.ordinal = -1;
  // Never sent under the identity it will take: it cannot be a duplicate there (send-order.ts).
  batch.sends = 0;
  batch.sentBehindOlder = false;
}

/**
 * The error a batch fails with when its next try, at `retryAtMs`, would come after its delivery timeout
 * (counted from when the batch was opened): the last error's code, saying why it stopped; else null.
 */
export function deliveryExpired(
  batch: Batch,
  lastError: StreamBusError,
  retryAtMs: number,
  deliveryTimeoutMs: number,
): StreamBusError | null {
  if (retryAtMs - batch.createdMs <= deliveryTimeoutMs) return null;
  return new StreamBusError(lastError.code, {
    operation: 'producer.send',
    message: `${lastError.message} (delivery timeout of ${deliveryTimeoutMs} ms reached after ${batch.attempts + 1} attempt(s))`,
    cause: lastError,
    metadata: { topic: batch.topic, partition: batch.partition, deliveryTimeoutMs },
  });
}

export function settleFailed(tracker: SendTracker, err: unknown): void {
  if (tracker.settled) return;
  tracker.settled = true;
  tracker.reject(err);
}

/**
 * Settles the batch's records with their send() calls: acknowledged at `baseOffset` + their index (-1 when
 * unknown, acks 0), with the log's append time if it gave one; or failed with `err`, failing their sends.
 */
export function settleRecords(
  batch: Batch,
  err: StreamBusError | null,
  baseOffset: number,
  logAppendTimeMs: number,
): void {
  const { trackers, resultIndexes, records } = batch;
  batch.trackers = [];
  batch.resultIndexes = [];
  for (let i = 0; i < trackers.length; i++) {
    const tracker = trackers[i]!;
    if (tracker.settled) continue;
    if (err) {
      settleFailed(tracker, err);
      continue;
    }
    tracker.results[resultIndexes[i]!] = {
      topic: batch.topic,
      partition: batch.partition,
      offset: baseOffset < 0 ? -1 : baseOffset + i,
      timestamp: logAppendTimeMs >= 0 ? logAppendTimeMs : (records[i]?.timestamp ?? -1),
    };
    if (--tracker.remaining === 0) {
      tracker.settled = true;
      tracker.resolve(tracker.results);
    }
  }
}
