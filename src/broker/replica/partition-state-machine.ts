/**
 * What a partition replica applies: the high watermark and the idempotent producers' committed state. A
 * committed data entry moves the high watermark to the end of the entry's batch and records its producer
 * sequence range; Raft-only entries never reach here (the driver applies membership changes itself and
 * settles a leader's no-op without the state machine). Snapshots carry both, so a restarted replica does not
 * re-read its whole log, and a follower installing a snapshot starts its log there.
 */
import { readBatchHeader } from '../../protocol/record-batch.js';
import type { Entry } from '../../raft/core/types.js';
import type { StateMachine } from '../../raft/node-types.js';
import { type HighWatermarkListener, HighWatermarkNotifier } from '../../storage/high-watermark.js';
import { decodePartitionSnapshot, encodePartitionSnapshot } from '../../storage/partition-store.js';
import { idempotentBatchOf, ProducerStateTable } from '../producer-state.js';

export interface AppliedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
}

export class PartitionStateMachine implements StateMachine {
  private hw: number;
  private readonly notifier: HighWatermarkNotifier;
  /** Committed producer state (the leader builds its own view on top, with batches still in flight). */
  private producers = new ProducerStateTable();

  /** `startOffset`: the log start, where the high watermark sits before anything is applied. */
  constructor(startOffset: number, onListenerError: (err: unknown) => void) {
    this.hw = startOffset;
    this.notifier = new HighWatermarkNotifier(() => this.hw, onListenerError);
  }

  apply(entry: Entry): AppliedBatch {
    const header = readBatchHeader(
      Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength),
    );
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    const idempotent = idempotentBatchOf(header);
    if (idempotent !== undefined) this.producers.record(idempotent, header.baseOffset);
    if (lastOffset + 1 > this.hw) {
      this.hw = lastOffset + 1;
      this.notifier.notify(this.hw);
    }
    return { baseOffset: header.baseOffset, lastOffset };
  }

  snapshot(): Uint8Array {
    return encodePartitionSnapshot(this.hw, this.producers.encode());
  }

  restore(data: Uint8Array): void {
    const { nextOffset, stateMachine } = decodePartitionSnapshot(data);
    this.hw = nextOffset;
    this.producers = ProducerStateTable.decode(stateMachine);
    this.notifier.notify(this.hw);
  }

  /** A copy of the committed producer state (a new leader's starting point). */
  committedProducers(): ProducerStateTable {
    return this.producers.clone();
  }

  /** Offset after the last committed record: consumers read below it. */
  highWatermark(): number {
    return this.hw;
  }

  onHighWatermark(listener: HighWatermarkListener): () => void {
    return this.notifier.subscribe(listener);
  }

  /** Wakes waiting readers one last time (the replica is closing). */
  close(): void {
    this.notifier.close();
  }
}
