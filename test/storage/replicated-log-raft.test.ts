/**
 * Conformance: three real RaftNodes, each on a ReplicatedLog in its own folder, replicate stamped record
 * batches; the leader is killed (store closed) while the others go on, then restarted from disk and caught
 * up (through 'unavailable' and background loads with a small cache). Every store must end up holding the
 * same entries, and client reads must return the same bytes on every replica.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { asBuffer } from '../../src/protocol/bytes.js';
import { splitBatches, stampBatch } from '../../src/protocol/record-batch.js';
import { type Entry, mulberry32, type NodeId } from '../../src/raft/core/index.js';
import { RaftNode, type StateMachine } from '../../src/raft/node.js';
import { MemoryHub } from '../../src/raft/transport/memory-transport.js';
import type { RaftTransport } from '../../src/raft/transport/types.js';
import type { LogConfig } from '../../src/storage/config.js';
import { decodePartitionSnapshot, encodePartitionSnapshot } from '../../src/storage/partition-store.js';
import { isRaftControlBatch } from '../../src/storage/raft-batch.js';
import type { ReplicatedLog } from '../../src/storage/replicated-log.js';
import { scratchDir } from '../helpers/scratch-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { batchOf } from './helpers.js';
import { entriesOf, openReplicated, sameEntry } from './replicated-log-helpers.js';

/** A trivial partition state machine: tracks the next offset from the batches it applies. */
class OffsetMachine implements StateMachine {
  nextOffset = 0;
  applied = 0;

  apply(entry: Entry): unknown {
    const batch = asBuffer(entry.data);
    const base = Number(batch.readBigInt64BE(0));
    if (base !== this.nextOffset) throw new Error(`batch at ${base}, expected ${this.nextOffset}`);
    this.nextOffset = base + batch.readInt32BE(23) + 1;
    this.applied++;
    return base;
  }

  snapshot(): Uint8Array {
    return encodePartitionSnapshot(this.nextOffset, Buffer.from(String(this.applied)));
  }

  restore(data: Uint8Array): void {
    const s = decodePartitionSnapshot(data);
    this.nextOffset = s.nextOffset;
    this.applied = Number(Buffer.from(s.stateMachine).toString());
  }
}

interface Replica {
  id: NodeId;
  dir: string;
  node: RaftNode;
  store: ReplicatedLog;
  transport: RaftTransport;
  sm: OffsetMachine;
}

const ids = [1, 2, 3];
const cfg = { segmentBytes: 4096, indexIntervalBytes: 512 };
const running: Replica[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) await stop(r);
});

async function stop(r: Replica): Promise<void> {
  await r.node.stop();
  await r.transport.close();
  await r.store.close();
}

async function start(
  hub: MemoryHub,
  id: NodeId,
  dir: string,
  seed: number,
  overrides: Partial<LogConfig> = {},
): Promise<Replica> {
  const store = await openReplicated(
    dir,
    { ...cfg, ...overrides },
    { bootstrapVoters: ids, cacheBytes: 4096 },
  );
  const sm = new OffsetMachine();
  const transport = hub.transport(id);
  const node = new RaftNode({
    id,
    storage: store,
    stateMachine: sm,
    transport,
    tickIntervalMs: 10,
    electionTimeoutTicks: 10,
    random: mulberry32(seed + id),
    snapshotIntervalEntries: 40,
    snapshotKeepEntries: 10,
    maxSizePerMsgBytes: 2048,
  });
  node.on('applied', ({ appliedIndex }) => store.setAppliedIndex(appliedIndex));
  await node.start();
  const r = { id, dir, node, store, transport, sm };
  running.push(r);
  return r;
}

function leaderOf(replicas: readonly Replica[]): Replica | undefined {
  return replicas.find((r) => running.includes(r) && r.node.status().role === 'leader');
}

/** Proposes `count` batches through whoever leads, stamped with sequential offsets as a leader would. */
async function produce(replicas: () => readonly Replica[], from: number, count: number): Promise<void> {
  let next = from;
  while (next < from + count) {
    const leader = await waitFor('a leader', () => leaderOf(replicas()));
    const n = Math.min(10, from + count - next);
    let offset = leader.store.logEndOffset();
    const proposals = Array.from({ length: n }, (_, k) => {
      const batch = batchOf([`m${next + k}-a`, `m${next + k}-b`], 1_700_000_000_000 + next + k);
      stampBatch(batch, offset, leader.node.status().term);
      offset += 2;
      return leader.node.propose(batch);
    });
    const results = await Promise.allSettled(proposals);
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    for (const r of results) {
      if (r.status === 'rejected' && !isStreamBusError(r.reason)) throw r.reason;
    }
    // Failed proposals (leadership moved) are retried as new batches; a proposal's outcome may also be
    // unknown yet committed, so the total may exceed `count`: the check below compares replicas, not counts.
    next += ok;
  }
}

/** The data batches a client reads from `from` to `endOffset`, following reads across segments. */
async function dataBatches(store: ReplicatedLog, from: number, endOffset: number): Promise<Buffer> {
  const out: Buffer[] = [];
  let offset = from;
  while (offset < endOffset) {
    const chunk = await store.read(offset, 64 * 1024 * 1024, endOffset);
    expect(chunk.length).toBeGreaterThan(0);
    for (const b of splitBatches(chunk)) {
      const lastOffset = Number(b.readBigInt64BE(0)) + b.readInt32BE(23);
      if (isRaftControlBatch(b) || lastOffset < offset) continue;
      out.push(b);
      offset = lastOffset + 1;
    }
  }
  return Buffer.concat(out);
}

describe('ReplicatedLog under a real Raft cluster', () => {
  it('three replicas hold identical entries and serve identical bytes after a leader crash and restart', async () => {
    const seed = Number(process.env.RLOG_RAFT_SEED ?? (Date.now() ^ 0x5eed) >>> 0);
    console.log(
      `replicated-log conformance seed=${seed} (RLOG_RAFT_SEED to reuse; message timing stays real)`,
    );
    const hub = new MemoryHub();
    const dirs = new Map(ids.map((id) => [id, scratchDir(`rlog-raft-${id}-`)]));
    let replicas: Replica[] = [];
    for (const id of ids) replicas.push(await start(hub, id, dirs.get(id)!, seed));
    const current = () => replicas;

    await produce(current, 0, 100);
    const old = await waitFor('a leader', () => leaderOf(replicas));
    await stop(old);
    running.splice(running.indexOf(old), 1);
    replicas = replicas.filter((r) => r !== old);
    await produce(current, 100, 60);
    const restarted = await start(hub, old.id, old.dir, seed);
    replicas.push(restarted);
    await produce(current, 160, 40);

    const leader = await waitFor('a leader', () => leaderOf(replicas));
    const last = leader.store.lastIndex();
    await waitFor(
      'every replica applied the whole log',
      () => replicas.every((r) => r.node.status().appliedIndex >= last && r.store.lastIndex() === last),
      20_000,
    );
    const reference = await entriesOf(leader.store, 1, last + 1);
    const endOffset = leader.store.logEndOffset();
    expect(
      reference.filter((e) => e.type === 'normal' && e.data.byteLength > 0).length,
    ).toBeGreaterThanOrEqual(200);
    const referenceBytes = await leader.store.read(0, 64 * 1024 * 1024, endOffset);
    for (const r of replicas) {
      expect(r.store.firstIndex()).toBe(1);
      expect(r.store.logEndOffset()).toBe(endOffset);
      expect(r.sm.nextOffset).toBe(endOffset);
      const entries = await entriesOf(r.store, 1, last + 1);
      expect(entries.length).toBe(reference.length);
      for (let k = 0; k < entries.length; k++) {
        if (!sameEntry(entries[k]!, reference[k]!)) throw new Error(`node ${r.id} differs at index ${k + 1}`);
      }
      // Whole-log reads stop at a segment boundary: compare segment by segment from every offset reached.
      let offset = 0;
      let all = Buffer.alloc(0);
      while (offset < endOffset) {
        const chunk = await r.store.read(offset, 64 * 1024 * 1024, endOffset);
        expect(chunk.length).toBeGreaterThan(0);
        all = Buffer.concat([all, chunk]);
        let at = 0;
        while (at < chunk.length) {
          const size = chunk.readInt32BE(at + 8) + 12;
          const lastOffset = Number(chunk.readBigInt64BE(at)) + chunk.readInt32BE(at + 23);
          if (lastOffset >= offset) offset = lastOffset + 1;
          at += size;
        }
      }
      expect(all.subarray(0, referenceBytes.length).equals(referenceBytes)).toBe(true);
      if (r === leader) continue;
      const mine = await r.store.read(0, 64 * 1024 * 1024, endOffset);
      expect(mine.equals(referenceBytes)).toBe(true);
    }
    console.log(
      `replicated-log conformance: last index ${last}, end offset ${endOffset}, background loads ${replicas
        .map((r) => `${r.id}:${r.store.stats().backgroundLoads}`)
        .join(' ')}`,
    );
  }, 60_000);

  it("a follower left behind the leaders' log start is caught up by a snapshot, then replicates on", async () => {
    const seed = Number(process.env.RLOG_RAFT_SEED ?? (Date.now() ^ 0xbeef) >>> 0);
    console.log(`replicated-log snapshot conformance seed=${seed}`);
    const hub = new MemoryHub();
    const retention = { retentionBytes: 0 };
    let replicas: Replica[] = [];
    for (const id of ids)
      replicas.push(await start(hub, id, scratchDir(`rlog-snap-${id}-`), seed, retention));
    const current = () => replicas;
    await produce(current, 0, 30);
    const leader = await waitFor('a leader', () => leaderOf(replicas));
    const lagging = replicas.find((r) => r !== leader)!;
    await stop(lagging);
    running.splice(running.indexOf(lagging), 1);
    replicas = replicas.filter((r) => r !== lagging);
    const laggingLast = lagging.store.lastIndex();
    await produce(current, 30, 150);
    // Both remaining replicas drop what their snapshots cover, past what the stopped one holds.
    for (const r of replicas) {
      await waitFor(
        'a snapshot past the lagging log',
        () => r.store.snapshot().metadata.index > laggingLast + 10,
      );
      await r.store.applyRetention({ floorIndex: r.store.snapshot().metadata.index, nowMs: 0 });
      expect(r.store.firstIndex()).toBeGreaterThan(laggingLast + 1);
    }
    const back = await start(hub, lagging.id, lagging.dir, seed, retention);
    replicas.push(back);
    await waitFor('the snapshot installed', () => back.store.firstIndex() > laggingLast + 1, 20_000);
    await produce(current, 180, 20);
    const now = await waitFor('a leader', () => leaderOf(replicas));
    const last = now.store.lastIndex();
    await waitFor(
      'every replica applied the whole log',
      () => replicas.every((r) => r.node.status().appliedIndex >= last && r.store.lastIndex() === last),
      20_000,
    );
    const endOffset = now.store.logEndOffset();
    const from = Math.max(...replicas.map((r) => r.store.firstIndex()));
    const fromOffset = Math.max(...replicas.map((r) => r.store.logStartOffset()));
    const reference = await entriesOf(now.store, from, last + 1);
    const referenceData = await dataBatches(now.store, fromOffset, endOffset);
    // Installed from the snapshot: its log starts past everything it held, at the snapshot's offset.
    expect(back.store.firstIndex()).toBeGreaterThan(laggingLast + 1);
    expect(back.store.logStartOffset()).toBeGreaterThan(0);
    for (const r of replicas) {
      expect(r.store.logEndOffset()).toBe(endOffset);
      expect(r.sm.nextOffset).toBe(endOffset);
      const entries = await entriesOf(r.store, from, last + 1);
      for (let k = 0; k < entries.length; k++) {
        if (!sameEntry(entries[k]!, reference[k]!))
          throw new Error(`node ${r.id} differs at index ${from + k}`);
      }
      expect((await dataBatches(r.store, fromOffset, endOffset)).equals(referenceData)).toBe(true);
    }
  }, 60_000);
});
