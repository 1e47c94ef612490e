import { readBatchHeader, splitBatches, stampBatch } from '../../src/protocol/record-batch.js';
import type { Entry } from '../../src/raft/core/types.js';
import type { LogConfig } from '../../src/storage/config.js';
import { isRaftControlBatch } from '../../src/storage/raft-batch.js';
import { ReplicatedLog, type ReplicatedLogDeps } from '../../src/storage/replicated-log.js';
import { batchOf, config, ManualClock, valuesOf } from './helpers.js';

export const clock = new ManualClock();

export function openReplicated(
  dir: string,
  overrides: Partial<LogConfig> = {},
  deps: Partial<ReplicatedLogDeps> = {},
): Promise<ReplicatedLog> {
  return ReplicatedLog.open(dir, config(overrides), { clock, ...deps });
}

/** Builds entries the way a leader does: data batches stamped with sequential offsets as they are made. */
export class EntryMaker {
  constructor(
    public nextOffset = 0,
    public nextIndex = 1,
  ) {}

  data(term: number, values: string[], timestampMs = clock.nowMs()): Entry {
    const batch = batchOf(values, timestampMs);
    stampBatch(batch, this.nextOffset, term);
    this.nextOffset += values.length;
    return { term, index: this.nextIndex++, type: 'normal', data: batch };
  }

  noop(term: number): Entry {
    return { term, index: this.nextIndex++, type: 'normal', data: new Uint8Array(0) };
  }

  conf(term: number, payload: string): Entry {
    return { term, index: this.nextIndex++, type: 'conf-change', data: Buffer.from(payload) };
  }
}

/** Entries [lo, hi) from the store, waiting for background loads when they answer 'unavailable'. */
export async function entriesOf(log: ReplicatedLog, lo: number, hi: number): Promise<Entry[]> {
  const out: Entry[] = [];
  let i = lo;
  for (let attempts = 0; i < hi && attempts < 1000; attempts++) {
    const got = log.entries(i, hi, Number.MAX_SAFE_INTEGER);
    if (got === 'unavailable') {
      await log.loadsIdle();
      continue;
    }
    if (got === 'compacted') throw new Error(`entries from ${i} compacted`);
    out.push(...got);
    i += got.length;
  }
  if (i < hi) throw new Error(`could not read entries from ${i}`);
  return out;
}

export function sameEntry(a: Entry, b: Entry): boolean {
  return (
    a.term === b.term &&
    a.index === b.index &&
    a.type === b.type &&
    Buffer.from(a.data).equals(Buffer.from(b.data))
  );
}

/** Every record (offset, value) readable below `endOffset`, following batches across segments. */
export async function readValues(log: ReplicatedLog, endOffset = log.logEndOffset(), maxBytes = 1 << 20) {
  const out: { offset: number; value: string }[] = [];
  let offset = log.logStartOffset();
  while (offset < endOffset) {
    const buf = await log.read(offset, maxBytes, endOffset);
    const values = valuesOf(buf);
    if (values.length === 0) throw new Error(`no progress reading at ${offset}`);
    for (const v of values) if (v.offset >= offset) out.push(v);
    offset = values[values.length - 1]!.offset + 1;
  }
  return out;
}

/** The batches of a read answer: data or Raft control, with their offsets. */
export function batchesOf(buf: Buffer): { control: boolean; baseOffset: number; lastOffset: number }[] {
  return [...splitBatches(buf)].map((b) => {
    const h = readBatchHeader(b);
    return {
      control: isRaftControlBatch(b),
      baseOffset: h.baseOffset,
      lastOffset: h.baseOffset + h.lastOffsetDelta,
    };
  });
}
