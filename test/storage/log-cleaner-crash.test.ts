/**
 * A cleaner pass cut by power loss at every one of its file operations in turn (the simulated file system:
 * a random prefix of unsynced directory changes and writes survives): the log reopens without error and
 * holds, at each offset, either the record it had or nothing, always every key's latest record and every
 * batch; no `.cleaned` or `.swap` file is left; and the next pass ends where an uninterrupted one would.
 * The pass cut is a log's second: it both cleans segments closed since the first and merges the ones the
 * first made small into one.
 */
import { describe, expect, it } from 'vitest';
import { SimPowerLoss, SimStorageFs } from '../../chaos/sim/segment/sim-storage-fs.js';
import type { LogConfig } from '../../src/storage/config.js';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import {
  consumeAll,
  type KeyedRecord,
  keyedBatch,
  type ReadRecord,
  seededRandom,
} from './compaction-helpers.js';
import { config, ManualClock } from './helpers.js';

const DIR = '/sim/t-0';
const LOG: LogConfig = config({
  cleanupPolicy: 'compact',
  segmentBytes: 1024,
  indexIntervalBytes: 200,
  minCleanableDirtyRatio: 0,
  preallocateBytes: 0,
});

function open(fs: SimStorageFs, clock: ManualClock): Promise<PartitionLog> {
  return PartitionLog.open(DIR, LOG, { clock, fs });
}

/** `batches` batches of a few records over six keys, some deleted: segments that compact to little. */
async function fill(log: PartitionLog, clock: ManualClock, random: () => number, batches: number) {
  for (let b = 0; b < batches; b++) {
    const records: KeyedRecord[] = [];
    for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
      records.push({
        key: `k${Math.floor(random() * 6)}`,
        value: random() < 0.2 ? null : `v${b}.${i}.${'y'.repeat(80)}`,
      });
    }
    await log.append(keyedBatch(records, clock.nowMs(), random() < 0.3 ? 'gzip' : 'none'));
  }
}

const key = (r: ReadRecord) => `${r.offset}:${r.key}=${r.value}`;

const seed = Number(process.env.CLEANER_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('log cleaner crash safety', () => {
  it(`recovers a log whose cleaning pass lost power at any step, finishing or rolling back the swap (seed ${seed})`, async () => {
    console.log(`log cleaner crash seed: ${seed} (rerun with CLEANER_CRASH_SEED=${seed})`);
    const random = seededRandom(seed);
    let completed = false;
    let crashes = 0;
    // The same log every time, so that the crash lands on each file operation of the same pass in turn.
    const fillSeed = Math.floor(random() * 2 ** 31);
    for (let crashAt = 1; !completed; crashAt++) {
      expect(crashAt).toBeLessThan(500);
      const fs = new SimStorageFs({ tearModel: 'sectors' });
      const clock = new ManualClock();
      const log = await open(fs, clock);
      const fillRandom = seededRandom(fillSeed);
      await fill(log, clock, fillRandom, 40);
      await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 1000 });
      await fill(log, clock, fillRandom, 20);
      const before = await consumeAll(log);
      const cleanedEnd = log.cleanableSegments().at(-1)!.nextOffset;
      const latest = new Map<string, number>();
      for (const r of before.records) if (r.offset < cleanedEnd) latest.set(r.key, r.offset);
      const mustKeep = before.records.filter((r) => r.offset >= cleanedEnd || latest.get(r.key) === r.offset);

      fs.armCrash(crashAt);
      try {
        const pass = await cleanLog(log, { nowMs: clock.nowMs(), keysMax: 1000 });
        expect(pass?.mergedSegments, 'the pass merges segments').toBeGreaterThan(0);
        completed = true;
      } catch (err) {
        if (!(err instanceof SimPowerLoss)) throw err;
        crashes++;
      }
      fs.armCrash(0);
      if (!completed) fs.crash(random);

      const reopened = completed ? log : await open(fs, clock);
      const after = await consumeAll(reopened);
      const original = new Set(before.records.map(key));
      for (const r of after.records)
        expect(original.has(key(r)), `${key(r)} after crash at op ${crashAt}`).toBe(true);
      const kept = new Set(after.records.map(key));
      for (const r of mustKeep)
        expect(kept.has(key(r)), `${key(r)} lost after crash at op ${crashAt}`).toBe(true);
      expect(after.batches).toEqual(before.batches);
      expect(fs.listing().filter((f) => /\.(cleaned|swap)$/.test(f.path))).toEqual([]);

      // The next pass finishes the job: exactly the latest record per key in the cleaned range.
      await cleanLog(reopened, { nowMs: clock.nowMs(), keysMax: 1000 });
      expect((await consumeAll(reopened)).records.map(key)).toEqual(mustKeep.map(key));
      await reopened.close();
    }
    expect(crashes).toBeGreaterThan(5);
  });
});
