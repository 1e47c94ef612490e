/**
 * Invariants of a partition group whose Raft log is the segment log, checked as the simulation runs and
 * once more after healing:
 *
 * - Election Safety: at most one leader per term.
 * - Log Matching at committed indexes: every node that applies index i applies the same stored batch
 *   (term, type and bytes, so also the stamped base offset).
 * - Offsets: the data batches a node applies start at offset 0 and are contiguous and increasing, and each
 *   one's CRC still matches (a torn write never surfaces as data).
 * - Acknowledged batches: after healing, every node holds each acknowledged batch exactly once, at the
 *   offset it was acknowledged with, and all nodes hold identical logs.
 *
 * Violations are collected (the first one stops the run); the simulation reports them with its seed.
 */

import { asBuffer } from '../../../src/protocol/bytes.js';
import { crc32c } from '../../../src/protocol/crc32c.js';
import { batchCrcMatches, decodeRecords, readBatchHeader } from '../../../src/protocol/record-batch.js';
import type { Entry, NodeId } from '../../../src/raft/core/index.js';
import { isRaftControlBatch } from '../../../src/storage/raft-batch.js';

export class SegmentViolation extends Error {
  constructor(
    readonly rule: string,
    detail: string,
  ) {
    super(`${rule}: ${detail}`);
    this.name = 'SegmentViolation';
  }
}

export interface AckedBatch {
  /** The client's id for the batch: the value of its first record is `batch-<id>`. */
  readonly batchId: number;
  readonly index: number;
  readonly term: number;
  readonly offset: number;
  readonly records: number;
}

export interface FinalNodeState {
  readonly firstIndex: number;
  readonly entries: readonly Entry[];
  readonly startOffset: number;
  readonly endOffset: number;
  readonly data: readonly Buffer[];
}

export function entryFingerprint(e: Entry): string {
  return `${e.term}:${e.type}:${e.data.byteLength}:${crc32c(e.data)}`;
}

/** The client batch id in a data batch (`batch-<id>` in its first record), or undefined. */
export function batchIdOf(batch: Buffer): number | undefined {
  const first = decodeRecords(batch)[0];
  const value = first?.value?.toString();
  if (value === undefined || !value.startsWith('batch-')) return undefined;
  return Number(value.slice(6));
}

export function isDataEntry(e: Entry): boolean {
  if (e.type !== 'normal' || e.data.byteLength === 0) return false;
  return !isRaftControlBatch(asBuffer(e.data));
}

/** One node's applied-offset tracker for one life (a restart re-applies from the start). */
export class OffsetTracker {
  nextOffset = 0;
}

export class SegmentChecker {
  private readonly leaders = new Map<number, NodeId>();
  private readonly committed = new Map<number, string>();
  /** The partition's next offset after each committed index (from applied batches and from snapshots). */
  private readonly offsetAfter = new Map<number, number>();
  readonly acked = new Map<number, AckedBatch>();
  violation: SegmentViolation | undefined;

  /** Records a violation; only the first is kept (the run stops there). */
  fail(rule: string, detail: string): void {
    if (this.violation === undefined) this.violation = new SegmentViolation(rule, detail);
  }

  onLeader(node: NodeId, term: number): void {
    const other = this.leaders.get(term);
    if (other !== undefined && other !== node) {
      this.fail('election-safety', `nodes ${other} and ${node} both lead term ${term}`);
    }
    this.leaders.set(term, node);
  }

  /** A node applies a committed entry: log matching, offsets and CRC. */
  onApplied(node: NodeId, e: Entry, offsets: OffsetTracker): void {
    const fp = entryFingerprint(e);
    const known = this.committed.get(e.index);
    if (known === undefined) this.committed.set(e.index, fp);
    else if (known !== fp) {
      this.fail('log-matching', `node ${node} applied ${fp} at committed index ${e.index}, others ${known}`);
    }
    if (!isDataEntry(e)) {
      this.onOffsetAt(node, e.index, offsets.nextOffset, 'applied');
      return;
    }
    const batch = asBuffer(e.data);
    const h = readBatchHeader(batch);
    if (h.baseOffset !== offsets.nextOffset) {
      this.fail(
        'offsets',
        `node ${node} index ${e.index}: batch at offset ${h.baseOffset}, expected ${offsets.nextOffset}`,
      );
    }
    if (!batchCrcMatches(batch, 0, batch.length)) {
      this.fail('crc', `node ${node} applied a batch with a bad CRC at index ${e.index}`);
    }
    offsets.nextOffset = h.baseOffset + h.lastOffsetDelta + 1;
    this.onOffsetAt(node, e.index, offsets.nextOffset, 'applied');
  }

  /** Every node, and every snapshot, must agree on the next offset after a committed index. */
  onOffsetAt(node: NodeId, index: number, nextOffset: number, source: string): void {
    const known = this.offsetAfter.get(index);
    if (known === undefined) this.offsetAfter.set(index, nextOffset);
    else if (known !== nextOffset) {
      this.fail(
        'offsets',
        `node ${node} (${source}): next offset ${nextOffset} after index ${index}, others ${known}`,
      );
    }
  }

  onAcked(a: AckedBatch): void {
    const prev = this.acked.get(a.batchId);
    if (prev !== undefined && (prev.index !== a.index || prev.offset !== a.offset)) {
      this.fail('ack', `batch ${a.batchId} acknowledged twice: index ${prev.index} and ${a.index}`);
    }
    this.acked.set(a.batchId, a);
  }

  /**
   * After healing: each node's log (its entries from its first index to the common last one), its data
   * batches as read through the Kafka read path from its log start offset, and its log end offset.
   * Retention may have deleted a prefix (below a snapshot): acknowledged batches below a node's log start
   * offset are not looked for there.
   */
  checkFinal(nodes: ReadonlyMap<NodeId, FinalNodeState>): void {
    const ids = [...nodes.keys()].sort((a, b) => a - b);
    const ref = nodes.get(ids[0]!)!;
    const refLast = ref.firstIndex + ref.entries.length - 1;
    for (const id of ids) {
      const n = nodes.get(id)!;
      const last = n.firstIndex + n.entries.length - 1;
      if (last !== refLast)
        this.fail('convergence', `node ${id} ends at index ${last}, node ${ids[0]} at ${refLast}`);
      for (let i = Math.max(n.firstIndex, ref.firstIndex); i <= Math.min(last, refLast); i++) {
        if (
          entryFingerprint(n.entries[i - n.firstIndex]!) !==
          entryFingerprint(ref.entries[i - ref.firstIndex]!)
        ) {
          this.fail('convergence', `node ${id} differs from node ${ids[0]} at index ${i}`);
          break;
        }
      }
      if (n.endOffset !== ref.endOffset) {
        this.fail(
          'convergence',
          `log end offsets differ: node ${id} ${n.endOffset}, node ${ids[0]} ${ref.endOffset}`,
        );
      }
      const seen = new Map<number, number[]>();
      let expected = n.startOffset;
      for (const b of n.data) {
        const h = readBatchHeader(b);
        if (h.baseOffset !== expected) {
          this.fail('offsets', `node ${id}: read batch at offset ${h.baseOffset}, expected ${expected}`);
        }
        expected = h.baseOffset + h.lastOffsetDelta + 1;
        const batchId = batchIdOf(b);
        if (batchId !== undefined) seen.set(batchId, [...(seen.get(batchId) ?? []), h.baseOffset]);
      }
      if (expected !== n.endOffset) {
        this.fail('offsets', `node ${id}: data ends at offset ${expected}, log end offset ${n.endOffset}`);
      }
      for (const a of this.acked.values()) {
        if (a.offset < n.startOffset) continue;
        const at = seen.get(a.batchId) ?? [];
        if (at.length !== 1 || at[0] !== a.offset) {
          this.fail(
            'acked-durable',
            `node ${id}: acknowledged batch ${a.batchId} (offset ${a.offset}, index ${a.index}) found at [${at.join(',')}]`,
          );
        }
      }
    }
  }
}
