/**
 * The log cleaner on a replicated partition log: only closed segments whose every entry is committed are
 * cleaned; Raft entry i stays the i-th stored batch (same index, term, type; Raft control entries byte for
 * byte); consumers see the latest record per key there; a reopened log has the same Raft log; and a pass
 * cut by power loss at any step leaves a log that opens with its Raft log whole.
 */
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimPowerLoss, SimStorageFs } from '../../chaos/sim/segment/sim-storage-fs.js';
import { readBatchHeader, stampBatch } from '../../src/protocol/record-batch.js';
import type { Entry } from '../../src/raft/core/types.js';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import { encodePartitionSnapshot } from '../../src/storage/partition-store.js';
import { isRaftControlBatch } from '../../src/storage/raft-batch.js';
import type { ReplicatedLog } from '../../src/storage/replicated-log.js';
import { consumeAll, type KeyedRecord, keyedBatch, seededRandom } from './compaction-helpers.js';
import { tempDir } from './helpers.js';
import { clock, entriesOf, openReplicated } from './replicated-log-helpers.js';

const COMPACTED = {
  cleanupPolicy: 'compact' as const,
  segmentBytes: 1024,
  indexIntervalBytes: 200,
  minCleanableDirtyRatio: 0,
  preallocateBytes: 0,
};

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

interface Written {
  offset: number;
  key: string;
  value: string | null;
}

/** Entries as a leader makes them: keyed data batches stamped with offsets, no-ops and a conf change. */
function makeEntries(random: () => number, count: number): { entries: Entry[]; written: Written[] } {
  const entries: Entry[] = [];
  const written: Written[] = [];
  let offset = 0;
  let term = 1;
  for (let index = 1; index <= count; index++) {
    if (random() < 0.05) term++;
    const roll = random();
    if (roll < 0.08) {
      entries.push({ term, index, type: 'normal', data: new Uint8Array(0) });
      continue;
    }
    if (roll < 0.1) {
      entries.push({ term, index, type: 'conf-change', data: Buffer.from(`conf ${index}`) });
      continue;
    }
    const records: KeyedRecord[] = [];
    for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
      records.push({
        key: `k${Math.floor(random() * 5)}`,
        // Values outweigh batch headers: cleaned segments shrink enough for the next pass to merge them.
        value: random() < 0.15 ? null : `v${index}.${i}.`.padEnd(80, 'w'),
      });
    }
    const batch = keyedBatch(records, clock.nowMs(), random() < 0.3 ? 'gzip' : 'none');
    stampBatch(batch, offset, term);
    written.push(...records.map((r, i) => ({ ...r, offset: offset + i })));
    offset += records.length;
    entries.push({ term, index, type: 'normal', data: batch });
  }
  return { entries, written };
}

/** What Raft sees of an entry; for data batches their offsets and producer fields, not their records. */
function raftView(e: Entry): string {
  const data = Buffer.from(e.data);
  if (e.type !== 'normal' || data.length === 0 || isRaftControlBatch(data))
    return `${e.index}/${e.term}/${e.type}/${data.toString('hex')}`;
  const h = readBatchHeader(data);
  return `${e.index}/${e.term}/data@${h.baseOffset}+${h.lastOffsetDelta}/pid${h.producerId}/seq${h.baseSequence}`;
}

async function consumed(log: ReplicatedLog): Promise<string[]> {
  const end = log.logEndOffset();
  const view = {
    logStartOffset: () => log.logStartOffset(),
    highWatermark: () => end,
    read: async (offset: number, maxBytes: number) => ({ records: await log.read(offset, maxBytes, end) }),
  };
  return (await consumeAll(view)).records.map((r) => `${r.offset}:${r.key}=${r.value}`);
}

function latestPerKeyBelow(written: readonly Written[], cleanedEnd: number): string[] {
  const latest = new Map<string, number>();
  for (const r of written) if (r.offset < cleanedEnd) latest.set(r.key, r.offset);
  return written
    .filter((r) => r.offset >= cleanedEnd || latest.get(r.key) === r.offset)
    .map((r) => `${r.offset}:${r.key}=${r.value}`);
}

const seed = Number(process.env.REPLICATED_CLEANER_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('log cleaner on a replicated log', () => {
  it(`cleans only committed closed segments and keeps the Raft log entry for entry (seed ${seed})`, async () => {
    console.log(`replicated log cleaner seed: ${seed} (rerun with REPLICATED_CLEANER_SEED=${seed})`);
    const random = seededRandom(seed);
    const { entries, written } = makeEntries(random, 120);
    let log = await openReplicated(dir.path, COMPACTED);
    const commit = 60 + Math.floor(random() * 40);
    await log.save({ entries, hardState: { term: entries.at(-1)!.term, vote: 0, commit } }, true);
    const raftBefore = (await entriesOf(log, 1, 121)).map(raftView);
    const cleanable = log.cleanableSegments();
    expect(cleanable.length).toBeGreaterThan(0);
    const cleanedEnd = cleanable.at(-1)!.nextOffset;
    const result = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 1000 });
    expect(result?.removedRecords).toBeGreaterThan(0);
    const expected = latestPerKeyBelow(written, cleanedEnd);
    expect(await consumed(log)).toEqual(expected);

    await log.close();
    log = await openReplicated(dir.path, COMPACTED);
    expect([log.firstIndex(), log.lastIndex()]).toEqual([1, 120]);
    expect((await entriesOf(log, 1, 121)).map(raftView)).toEqual(raftBefore);
    expect(await consumed(log)).toEqual(expected);
    // Nothing uncommitted was cleaned: every record from the first uncommitted data entry on is as written.
    const firstUncommitted = entries.slice(commit).find((e) => e.data.byteLength > 0 && e.type === 'normal');
    const from = readBatchHeader(Buffer.from(firstUncommitted!.data)).baseOffset;
    const kept = new Set(await consumed(log));
    for (const r of written.filter((w) => w.offset >= from)) {
      expect(kept.has(`${r.offset}:${r.key}=${r.value}`), `uncommitted record ${r.offset}`).toBe(true);
    }
    await log.close();
  });

  it(`merges small cleaned segments on a later pass, Raft log entry for entry unchanged (seed ${seed})`, async () => {
    const { entries, written } = makeEntries(seededRandom(seed + 2), 160);
    let log = await openReplicated(dir.path, COMPACTED);
    const hardState = (commit: number) => ({ term: entries[commit - 1]!.term, vote: 0, commit });
    await log.save({ entries: entries.slice(0, 80), hardState: hardState(80) }, true);
    expect((await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 1000 }))?.mergedSegments).toBe(0);
    await log.save({ entries: entries.slice(80), hardState: hardState(160) }, true);
    // A catch-up snapshot in each segment, as a replica's driver takes them when the log asks.
    for (let i = 1; i <= 160; i++) {
      if (!log.wantsSnapshot(i)) continue;
      const confState = { voters: [1, 2, 3], learners: [] };
      const data = encodePartitionSnapshot(i, Buffer.from(`sm@${i}`));
      await log.saveSnapshot({ metadata: { index: i, term: entries[i - 1]!.term, confState }, data }, i);
    }
    const snapshotFiles = async () => (await readdir(dir.path)).filter((f) => f.startsWith('raft-snapshot-'));
    const raftBefore = (await entriesOf(log, 1, 161)).map(raftView);
    const segmentsBefore = log.stats().segments;
    expect((await snapshotFiles()).length).toBe(segmentsBefore);
    const catchUpBefore = log.catchUpSnapshot();
    const second = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 1000 });
    expect(second?.mergedSegments).toBeGreaterThan(0);
    expect(log.stats().segments).toBe(segmentsBefore - second!.mergedSegments);
    // One catch-up snapshot per segment still: those of the boundaries merged away went with them.
    expect((await snapshotFiles()).length).toBe(log.stats().segments);
    expect(log.catchUpSnapshot()).toEqual(catchUpBefore);
    const expected = latestPerKeyBelow(written, log.cleanableSegments().at(-1)!.nextOffset);
    expect(await consumed(log)).toEqual(expected);
    for (const s of log.cleanableSegments()) expect(s.sizeBytes).toBeLessThanOrEqual(COMPACTED.segmentBytes);

    await log.close();
    log = await openReplicated(dir.path, COMPACTED);
    expect(log.stats().segments).toBe(segmentsBefore - second!.mergedSegments);
    expect([log.firstIndex(), log.lastIndex()]).toEqual([1, 160]);
    expect((await entriesOf(log, 1, 161)).map(raftView)).toEqual(raftBefore);
    expect(await consumed(log)).toEqual(expected);
    expect(log.catchUpSnapshot()).toEqual(catchUpBefore);
    await log.close();
  });

  it(`opens with its Raft log whole after power loss at any step of a pass, a merging one too (seed ${seed})`, async () => {
    const random = seededRandom(seed + 1);
    for (const merging of [false, true]) {
      let completed = false;
      for (let crashAt = 1; !completed; crashAt++) {
        expect(crashAt).toBeLessThan(500);
        const fs = new SimStorageFs({ tearModel: 'sectors' });
        const { entries } = makeEntries(seededRandom(seed + crashAt), 60);
        const log = await openReplicated('/sim/r-0', COMPACTED, { fs });
        const hardState = (commit: number) => ({ term: entries[commit - 1]!.term, vote: 0, commit });
        if (merging) {
          // A first pass shrinks the oldest segments; the pass cut below merges them.
          await log.save({ entries: entries.slice(0, 30), hardState: hardState(30) }, true);
          await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 1000 });
          await log.save({ entries: entries.slice(30), hardState: hardState(60) }, true);
        } else {
          await log.save({ entries, hardState: hardState(60) }, true);
        }
        const raftBefore = (await entriesOf(log, 1, 61)).map(raftView);
        const before = await consumed(log);
        fs.armCrash(crashAt);
        try {
          const pass = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 1000 });
          if (merging) expect(pass?.mergedSegments, 'the pass merges segments').toBeGreaterThan(0);
          completed = true;
        } catch (err) {
          if (!(err instanceof SimPowerLoss)) throw err;
        }
        fs.armCrash(0);
        if (!completed) fs.crash(random);
        const reopened = completed ? log : await openReplicated('/sim/r-0', COMPACTED, { fs });
        expect([reopened.firstIndex(), reopened.lastIndex()], `crash at op ${crashAt}`).toEqual([1, 60]);
        expect((await entriesOf(reopened, 1, 61)).map(raftView)).toEqual(raftBefore);
        const after = new Set(await consumed(reopened));
        expect([...after].every((r) => before.includes(r))).toBe(true);
        expect(fs.listing().filter((f) => /\.(cleaned|swap)$/.test(f.path))).toEqual([]);
        await reopened.close();
      }
    }
  });
});
