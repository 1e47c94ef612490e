/** Read-only views of the simulated replicas: whole logs, client reads, convergence. */
import { splitBatches } from '../../../src/protocol/record-batch.js';
import type { Entry } from '../../../src/raft/core/index.js';
import type { ReplicatedLog } from '../../../src/storage/replicated-log.js';
import { isDataEntry } from './segment-checker.js';
import type { SegmentNode } from './segment-node.js';

/** Every entry [1, last] of a log, waiting out background loads. */
export async function allEntries(log: ReplicatedLog): Promise<Entry[]> {
  const out: Entry[] = [];
  let i = log.firstIndex();
  for (let attempts = 0; i <= log.lastIndex() && attempts < 10_000; attempts++) {
    const got = log.entries(i, log.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
    if (got === 'unavailable') {
      await log.loadsIdle();
      continue;
    }
    if (got === 'compacted') throw new Error(`entries from ${i} compacted`);
    out.push(...got);
    i += got.length;
  }
  return out;
}

/** The data batches a client reads from offset 0 to the log end, through the Kafka read path. */
export async function readData(log: ReplicatedLog): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const end = log.logEndOffset();
  let offset = log.logStartOffset();
  while (offset < end) {
    const chunk = await log.read(offset, 1 << 20, end);
    let progressed = false;
    for (const b of splitBatches(chunk)) {
      if (!isDataEntry({ term: 0, index: 0, type: 'normal', data: b })) continue;
      const base = Number(b.readBigInt64BE(0));
      const last = base + b.readInt32BE(23);
      if (last < offset) continue;
      out.push(Buffer.from(b));
      offset = last + 1;
      progressed = true;
    }
    if (!progressed) throw new Error(`no progress reading at offset ${offset}`);
  }
  return out;
}

export function converged(nodes: readonly SegmentNode[]): boolean {
  const leader = nodes.find((n) => n.core?.role === 'leader');
  if (leader?.log === undefined) return false;
  const last = leader.log.lastIndex();
  return nodes.every((n) => {
    const st = n.core?.status();
    return st !== undefined && n.log?.lastIndex() === last && st.commit === last && st.applied === last;
  });
}

export function describeNodes(nodes: readonly SegmentNode[]): string {
  return nodes
    .map((n) => {
      const st = n.core?.status();
      return st === undefined
        ? `${n.id}:down`
        : `${n.id}:${st.role} t${st.term} last ${n.log?.lastIndex()} commit ${st.commit} applied ${st.applied}`;
    })
    .join(', ');
}
