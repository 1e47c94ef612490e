/**
 * A PartitionStore in memory for replica tests: MemoryRaftStorage for the Raft side, plus the Kafka side
 * computed from its entries (data batches only; Raft-only entries are not turned into control batches here).
 * Stamps every data batch on save like the real store, and never compacts on snapshots.
 */
import { readBatchHeader, stampBatch } from '../../src/protocol/record-batch.js';
import type { Entry, NodeId, Snapshot } from '../../src/raft/core/types.js';
import { MemoryRaftStorage } from '../../src/raft/storage/memory-storage.js';
import type { StorageUpdate } from '../../src/raft/storage/types.js';
import type { LogConfig } from '../../src/storage/config.js';
import {
  decodePartitionSnapshot,
  type PartitionStore,
  type PartitionStoreRetentionResult,
} from '../../src/storage/partition-store.js';

const HEADER_BYTES = 61;

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function isDataBatch(e: Entry): boolean {
  return e.type === 'normal' && e.data.byteLength >= HEADER_BYTES;
}

export class MemoryPartitionStore extends MemoryRaftStorage implements PartitionStore {
  private startOffset = 0;
  saves = 0;
  /** The last config a topic config change handed over (the memory store has no segments to apply it to). */
  config: LogConfig | undefined;

  static bootstrapped(voters: readonly NodeId[]): MemoryPartitionStore {
    const s = new MemoryPartitionStore();
    const boot = MemoryRaftStorage.bootstrap(voters);
    s.append(boot.allEntries());
    s.setHardState(boot.hardState());
    return s;
  }

  private dataEntries(): Entry[] {
    return this.allEntries().filter(isDataBatch);
  }

  reconfigure(config: LogConfig): void {
    this.config = config;
  }

  /** What the replica last said about caching writes (undefined: never told). */
  writesCached: boolean | undefined;

  cacheWrites(cached: boolean): void {
    this.writesCached = cached;
  }

  /** DeleteRecords' floor (advanceLogStart). */
  private logStartFloor = 0;

  logStartOffset(): number {
    return Math.max(this.startOffset, this.logStartFloor);
  }

  advanceLogStart(offset: number): number {
    this.logStartFloor = Math.max(this.logStartFloor, offset);
    return this.logStartOffset();
  }

  logEndOffset(): number {
    const last = this.dataEntries().at(-1);
    if (last === undefined) return this.startOffset;
    const h = readBatchHeader(asBuffer(last.data));
    return h.baseOffset + h.lastOffsetDelta + 1;
  }

  sizeBytes(): number {
    return this.dataEntries().reduce((n, e) => n + e.data.byteLength, 0);
  }

  override save(update: StorageUpdate): void {
    this.saves++;
    if (update.snapshot !== undefined && update.snapshot.metadata.index > this.snapshot().metadata.index) {
      this.startOffset = decodePartitionSnapshot(update.snapshot.data).nextOffset;
    }
    const first = update.entries[0];
    // Stamps continue from the end of what survives a truncation of a conflicting suffix.
    let next =
      first !== undefined && first.index <= this.lastIndex()
        ? this.endBefore(first.index)
        : this.logEndOffset();
    for (const e of update.entries) {
      if (!isDataBatch(e)) continue;
      const batch = asBuffer(e.data);
      const h = readBatchHeader(batch);
      stampBatch(batch, next, e.term);
      next += h.lastOffsetDelta + 1;
    }
    super.save(update);
  }

  private endBefore(index: number): number {
    let end = this.startOffset;
    for (const e of this.allEntries()) {
      if (e.index >= index) break;
      if (!isDataBatch(e)) continue;
      const h = readBatchHeader(asBuffer(e.data));
      end = h.baseOffset + h.lastOffsetDelta + 1;
    }
    return end;
  }

  override saveSnapshot(snapshot: Snapshot): void {
    super.saveSnapshot(snapshot, 0);
  }

  async read(fetchOffset: number, maxBytes: number, endOffset: number): Promise<Buffer> {
    const out: Buffer[] = [];
    let bytes = 0;
    for (const e of this.dataEntries()) {
      const batch = asBuffer(e.data);
      const h = readBatchHeader(batch);
      const last = h.baseOffset + h.lastOffsetDelta;
      if (last < fetchOffset) continue;
      if (last >= endOffset) break;
      if (out.length > 0 && bytes + batch.length > maxBytes) break;
      out.push(batch);
      bytes += batch.length;
    }
    return Buffer.concat(out);
  }

  async offsetForTimestamp(): Promise<null> {
    return null;
  }

  setAppliedIndex(): void {}

  async applyRetention(): Promise<PartitionStoreRetentionResult> {
    return { deletedSegments: 0, deletedBytes: 0, logStartOffset: this.startOffset };
  }

  async flush(): Promise<void> {}
}
