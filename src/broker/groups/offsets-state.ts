/**
 * What one `__consumer_offsets` partition says, folded: every group's committed offsets and its last
 * persisted generation. A new coordinator rebuilds it by reading the partition up to its load marker;
 * afterwards the coordinator keeps it current as its own writes are acknowledged.
 */
import { decodeRecords, readBatchHeader, splitBatches } from '../../protocol/record-batch.js';
import type { ServedPartition } from '../catalog.js';
import type { GroupSnapshot } from './group-types.js';
import { type CommittedValue, decodeOffsetsRecord, type OffsetsRecord } from './offsets-records.js';

/** Attributes bit 5: a control batch (Raft bookkeeping), never consumer-group data. */
const CONTROL_ATTRIBUTE = 0x20;
const LOAD_READ_BYTES = 1024 * 1024;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class OffsetsState {
  /** groupId -> partitionKey -> committed value. */
  readonly offsets = new Map<string, Map<string, CommittedValue & { topic: string; partition: number }>>();
  /** groupId -> the group's last persisted generation. */
  readonly groups = new Map<string, GroupSnapshot>();

  apply(record: OffsetsRecord): void {
    switch (record.kind) {
      case 'marker':
        return;
      case 'offset': {
        const key = partitionKey(record.topic, record.partition);
        if (record.value === null) {
          const group = this.offsets.get(record.groupId);
          group?.delete(key);
          if (group?.size === 0) this.offsets.delete(record.groupId);
          return;
        }
        let group = this.offsets.get(record.groupId);
        if (group === undefined) {
          group = new Map();
          this.offsets.set(record.groupId, group);
        }
        group.set(key, { ...record.value, topic: record.topic, partition: record.partition });
        return;
      }
      case 'group':
        if (record.value === null) this.groups.delete(record.groupId);
        else this.groups.set(record.groupId, record.value);
        return;
    }
  }

  committed(groupId: string, topic: string, partition: number): CommittedValue | undefined {
    return this.offsets.get(groupId)?.get(partitionKey(topic, partition));
  }

  /** Every group this partition knows of: with a persisted generation or committed offsets. */
  groupIds(): string[] {
    return [...new Set([...this.groups.keys(), ...this.offsets.keys()])].sort();
  }
}

/**
 * Reads `served` from its log start through offset `upTo` (the load marker, already committed) into a
 * fresh state. Records this version does not understand are skipped.
 */
export async function loadOffsetsState(served: ServedPartition, upTo: number): Promise<OffsetsState> {
  const state = new OffsetsState();
  let next = served.logStartOffset();
  while (next <= upTo) {
    const { records } = await served.read(next, LOAD_READ_BYTES);
    if (records.length === 0) break;
    const before = next;
    for (const batch of splitBatches(records)) {
      const header = readBatchHeader(batch);
      const last = header.baseOffset + header.lastOffsetDelta;
      if (last < next) continue;
      if ((header.attributes & CONTROL_ATTRIBUTE) === 0) {
        for (const record of decodeRecords(batch, { minOffset: next })) {
          if (record.offset > upTo) break;
          const decoded = decodeOffsetsRecord(record);
          if (decoded !== null) state.apply(decoded);
        }
      }
      next = last + 1;
    }
    if (next === before) break; // nothing readable past here (cannot happen below the high watermark)
  }
  return state;
}
