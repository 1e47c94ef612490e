/**
 * Idempotent producer state is rebuilt from batch headers (log-state.ts): after the cleaner emptied a
 * producer's batches, a log opened without its state snapshots still knows that producer's last batches,
 * because every batch keeps its producer id, epoch, base sequence and offset range.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeduplicatedLog } from '../../src/broker/deduplicated-log.js';
import { PRODUCER_STATE } from '../../src/broker/producer-state.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import { consumeAll } from './compaction-helpers.js';
import { ManualClock, openLog, tempDir } from './helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterEach(async () => {
  await dir?.cleanup();
});

const CONFIG = {
  cleanupPolicy: 'compact' as const,
  segmentBytes: 300,
  minCleanableDirtyRatio: 0,
  preallocateBytes: 0,
};

/** Producer 7's batch at `seq`: the same two keys every time, so each batch supersedes the one before. */
const seqBatch = (seq: number) =>
  encodeRecordBatch(
    [
      { key: 'a', value: `a${seq}` },
      { key: 'b', value: `b${seq}` },
    ],
    { baseTimestamp: 1_700_000_000_000, producerId: 7, producerEpoch: 0, baseSequence: seq },
  );

async function open(path: string) {
  const log = await openLog(path, CONFIG, { clock: new ManualClock(), producerState: PRODUCER_STATE });
  return { log, served: new DeduplicatedLog(log, { topic: 't', partition: 0 }) };
}

describe('producer state after compaction', () => {
  it('rebuilt from the headers of emptied batches, still answers retries with their first offsets', async () => {
    dir = await tempDir();
    const first = await open(dir.path);
    const offsets: number[] = [];
    for (let i = 0; i < 15; i++) offsets.push((await first.served.append(seqBatch(2 * i))).baseOffset);
    const result = await cleanLog(first.log, { nowMs: 1_700_000_000_000, keysMax: 100 });
    expect(result?.removedRecords).toBeGreaterThan(10);
    const end = first.log.logEndOffset();
    await first.log.close();
    // As after a crash that lost every snapshot: the state comes from the batches alone.
    for (const f of await readdir(dir.path)) if (f.endsWith('.snapshot')) await rm(join(dir.path, f));

    const again = await open(dir.path);
    // Batch 10: among the producer's last five, emptied by the cleaner (batch 11 holds the keys' latest).
    const retried = 2 * 10;
    const readable = (await consumeAll(again.log)).records;
    expect(readable.some((r) => r.offset === offsets[10])).toBe(false);
    expect((await again.served.append(seqBatch(retried))).baseOffset).toBe(offsets[10]);
    expect(again.log.logEndOffset()).toBe(end);
    expect((await again.served.append(seqBatch(30))).baseOffset).toBe(end);
    await again.log.close();
  });
});
