/**
 * Idempotent producers' state for one partition (Kafka's producer state): per producer id, its epoch and
 * its last few batches' sequence ranges with their base offsets. A batch whose range matches a kept batch
 * is a retry of it (answered with the original offset, appended nothing); the next batch must start right
 * after the newest one; an older epoch is fenced. Pure and deterministic: every replica applying the same
 * log builds the same table, and it snapshots with the partition (a replica's Raft snapshots; a single-node
 * log's snapshot files, storage/log-state.ts).
 */
import { Packr } from 'msgpackr';
import { invariant } from '../errors/index.js';
import { IDEMPOTENT_BATCH_WINDOW } from '../protocol/idempotence.js';
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  OFF_PRODUCER_ID,
  readBatchHeader,
  readInt64,
} from '../protocol/record-batch.js';
import type { LogState, LogStateKind } from '../storage/log-state.js';

/** Batches remembered per producer and partition: the producer's window (protocol/idempotence.ts). */
export const PRODUCER_BATCHES_KEPT = IDEMPOTENT_BATCH_WINDOW;
/** Producers remembered per partition; the least recently written are forgotten first. */
export const PRODUCERS_KEPT = 50_000;
const INT32_MAX = 0x7fffffff;

export interface ProducerBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** -1 while the batch is proposed and not yet written (leader only). */
  baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: ProducerBatch[];
  /** The sequence expected next when forget() left no batch kept (leader only). */
  nextSeq?: number;
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly batch: ProducerBatch }
  | {
      readonly kind: 'refuse';
      readonly code: 'OUT_OF_ORDER_SEQUENCE' | 'INVALID_PRODUCER_EPOCH' | 'UNKNOWN_PRODUCER_ID';
      readonly message: string;
    };

export interface IdempotentBatch {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/** The producer fields of a batch header; undefined for a batch of a non-idempotent producer. */
export function idempotentBatchOf(h: BatchHeader): IdempotentBatch | undefined {
  if (h.producerId < 0 || h.baseSequence < 0) return undefined;
  return {
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    firstSeq: h.baseSequence,
    lastSeq: nextSeq(h.baseSequence, h.lastOffsetDelta),
  };
}

/** Sequences wrap at int32 like Kafka's. */
function nextSeq(seq: number, delta: number): number {
  const n = seq + delta;
  return n > INT32_MAX ? n - INT32_MAX - 1 : n;
}

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

export class ProducerStateTable implements LogState {
  private readonly producers = new Map<number, ProducerEntry>();

  get size(): number {
    return this.producers.size;
  }

  check(b: IdempotentBatch): SequenceCheck {
    const entry = this.producers.get(b.producerId);
    if (entry === undefined) {
      // A producer's first batch here starts at 0. Accepting a later one first would let it overtake an
      // earlier batch still being retried, which would then be refused for good. A producer forgotten (by
      // eviction, or by a single-node restart) is told so, as Kafka does: with nothing older unfinished it
      // starts its sequences again under its next epoch rather than failing the batch.
      if (b.firstSeq === 0) return { kind: 'append' };
      return {
        kind: 'refuse',
        code: 'UNKNOWN_PRODUCER_ID',
        message: `producer ${b.producerId} is unknown here and sent sequence ${b.firstSeq}, not 0`,
      };
    }
    if (b.producerEpoch < entry.epoch) {
      return {
        kind: 'refuse',
        code: 'INVALID_PRODUCER_EPOCH',
        message: `producer ${b.producerId} epoch ${b.producerEpoch} is older than ${entry.epoch}`,
      };
    }
    if (b.producerEpoch > entry.epoch) {
      if (b.firstSeq === 0) return { kind: 'append' };
      return {
        kind: 'refuse',
        code: 'OUT_OF_ORDER_SEQUENCE',
        message: `producer ${b.producerId} starts epoch ${b.producerEpoch} at sequence ${b.firstSeq}, not 0`,
      };
    }
    const duplicate = entry.batches.find((x) => x.firstSeq === b.firstSeq && x.lastSeq === b.lastSeq);
    if (duplicate !== undefined) return { kind: 'duplicate', batch: duplicate };
    const newest = entry.batches.at(-1);
    const expected = newest === undefined ? entry.nextSeq : nextSeq(newest.lastSeq, 1);
    if (expected === undefined || b.firstSeq === expected) return { kind: 'append' };
    return {
      kind: 'refuse',
      code: 'OUT_OF_ORDER_SEQUENCE',
      message: `producer ${b.producerId} sent sequence ${b.firstSeq}; expected ${expected}`,
    };
  }

  /** Records an appended batch (check() said append); returns the kept record (its offset may be set later). */
  record(b: IdempotentBatch, baseOffset: number): ProducerBatch {
    let entry = this.producers.get(b.producerId);
    if (entry === undefined || b.producerEpoch !== entry.epoch) {
      entry = { epoch: b.producerEpoch, batches: [] };
    }
    // Re-inserted so Map order is least recently written first (the eviction order).
    this.producers.delete(b.producerId);
    this.producers.set(b.producerId, entry);
    const kept: ProducerBatch = { firstSeq: b.firstSeq, lastSeq: b.lastSeq, baseOffset };
    entry.batches.push(kept);
    if (entry.batches.length > PRODUCER_BATCHES_KEPT) entry.batches.shift();
    if (this.producers.size > PRODUCERS_KEPT) {
      const oldest = this.producers.keys().next().value;
      if (oldest !== undefined) this.producers.delete(oldest);
    }
    return kept;
  }

  /**
   * Records a batch found in the log, whose header starts at `bytes[at]` (a no-op for a batch without
   * producer sequences): how a table is brought up to the end of a log.
   */
  apply(bytes: Buffer, at: number): void {
    if (bytes.length - at < BATCH_HEADER_BYTES || readInt64(bytes, at + OFF_PRODUCER_ID) < 0) return;
    const header = readBatchHeader(bytes, at);
    const b = idempotentBatchOf(header);
    if (b !== undefined) this.record(b, header.baseOffset);
  }

  /**
   * Forgets a proposed batch that never reached the log, with the batches of its producer proposed after it
   * and not written yet: they were checked as its successors and would follow a hole. Returns those later
   * ones (their writes may still be under way). Batches already written stay.
   */
  forget(b: IdempotentBatch): ProducerBatch[] {
    const entry = this.producers.get(b.producerId);
    if (entry === undefined || entry.epoch !== b.producerEpoch) return [];
    const at = entry.batches.findIndex(
      (x) => x.firstSeq === b.firstSeq && x.lastSeq === b.lastSeq && x.baseOffset < 0,
    );
    if (at < 0) return [];
    const later = entry.batches.slice(at + 1);
    entry.batches = [...entry.batches.slice(0, at), ...later.filter((x) => x.baseOffset >= 0)];
    // With no batch kept the forgotten one still says where the producer is: its retry comes next.
    if (entry.batches.length === 0) entry.nextSeq = b.firstSeq;
    return later.filter((x) => x.baseOffset < 0);
  }

  clone(): ProducerStateTable {
    const copy = new ProducerStateTable();
    for (const [id, e] of this.producers) {
      copy.producers.set(id, {
        epoch: e.epoch,
        batches: e.batches.map((x) => ({ ...x })),
        ...(e.nextSeq === undefined ? {} : { nextSeq: e.nextSeq }),
      });
    }
    return copy;
  }

  encode(): Uint8Array {
    const rows: [number, number, [number, number, number][]][] = [];
    for (const [id, e] of this.producers) {
      rows.push([id, e.epoch, e.batches.map((x) => [x.firstSeq, x.lastSeq, x.baseOffset])]);
    }
    return packr.pack(rows);
  }

  static decode(bytes: Uint8Array): ProducerStateTable {
    const table = new ProducerStateTable();
    if (bytes.byteLength === 0) return table;
    const rows = packr.unpack(bytes) as unknown;
    invariant(Array.isArray(rows), 'producer state snapshot is not a list');
    for (const row of rows as [number, number, [number, number, number][]][]) {
      invariant(
        Array.isArray(row) && row.length === 3 && Array.isArray(row[2]),
        'producer state row is malformed',
      );
      const [id, epoch, batches] = row;
      table.producers.set(id, {
        epoch,
        batches: batches.map(([firstSeq, lastSeq, baseOffset]) => ({ firstSeq, lastSeq, baseOffset })),
      });
    }
    return table;
  }
}

/** How a single-node log keeps its producer state across restarts (storage/log-state.ts). */
export const PRODUCER_STATE: LogStateKind = {
  empty: () => new ProducerStateTable(),
  decode: (bytes) => ProducerStateTable.decode(bytes),
};
