/**
 * The consumer's async iterator hands a polled batch over one message at a time. poll() moved each partition's
 * position past its whole batch; while the batch is handed over, the position is held at the next message not
 * yet handed over, so a `break` or a throw mid-batch, and any commit meanwhile (auto-commit, close()'s
 * included), never counts messages the loop did not see.
 */
import { keyOf, type PartitionState } from './fetch-round.js';
import type { ConsumerMessage } from './fetched-records.js';

interface HeldPosition {
  /** The partition's epoch at the poll: a seek since then leaves its position alone. */
  readonly epoch: number;
  /** Where poll() had moved the position (past the batch, and past any gap after it). */
  readonly end: number;
  /** Messages of this partition not yet handed over. */
  left: number;
}

export class HandOver {
  private readonly held = new Map<PartitionState, HeldPosition>();

  /** Moves each partition of the batch back to its first message. */
  constructor(
    readonly messages: readonly ConsumerMessage[],
    private readonly partitions: ReadonlyMap<string, PartitionState>,
  ) {
    for (const m of messages) {
      const s = partitions.get(keyOf(m.topic, m.partition));
      if (s === undefined) continue;
      const h = this.held.get(s);
      if (h !== undefined) {
        h.left++;
        continue;
      }
      this.held.set(s, { epoch: s.epoch, end: s.position ?? m.offset + 1, left: 1 });
      s.position = m.offset;
    }
  }

  /**
   * Moves the message's partition past it, the last one to where poll() had put it. False when the message
   * is no longer wanted: its partition was unassigned, or sought elsewhere, since the poll.
   */
  take(m: ConsumerMessage): boolean {
    const s = this.partitions.get(keyOf(m.topic, m.partition));
    const h = s === undefined ? undefined : this.held.get(s);
    if (s === undefined || h === undefined || s.epoch !== h.epoch) return false;
    h.left--;
    s.position = h.left === 0 ? h.end : m.offset + 1;
    return true;
  }

  /** True when messages were left behind in a partition still positioned by this batch. */
  get leftBehind(): boolean {
    for (const [s, h] of this.held) if (h.left > 0 && s.epoch === h.epoch) return true;
    return false;
  }
}
