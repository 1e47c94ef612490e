/**
 * A single-node log keeps its idempotent producers' state across restarts (storage/log-state.ts): snapshot
 * files at each roll and at close, loaded on open and brought up to the log end from the batch headers.
 */
import { cp, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeduplicatedLog } from '../../src/broker/deduplicated-log.js';
import { PRODUCER_STATE } from '../../src/broker/producer-state.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import type { LogConfig } from '../../src/storage/config.js';
import { decodeStateSnapshot, encodeStateSnapshot } from '../../src/storage/log-state.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import type { StorageLogger } from '../../src/storage/types.js';
import { ManualClock, openLog, readAll, tempDir } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function dir(): Promise<string> {
  const d = await tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

/** Logs that say what they did, to tell a snapshot load from a scan and to see warnings. */
function recordingLogger() {
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  const logger: StorageLogger = {
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => lines.push({ level: 'error', msg, obj }),
  };
  return { logger, lines };
}

// No zero-filled space ahead of the data, so a cut of the file's last bytes tears the last batch.
const NO_PREALLOCATION: Partial<LogConfig> = { preallocateBytes: 0 };

async function open(path: string, overrides: Partial<LogConfig> = {}, logger?: StorageLogger) {
  const log = await openLog(
    path,
    { ...NO_PREALLOCATION, ...overrides },
    {
      clock: new ManualClock(),
      producerState: PRODUCER_STATE,
      ...(logger === undefined ? {} : { logger }),
    },
  );
  return { log, served: new DeduplicatedLog(log, { topic: 't', partition: 0 }) };
}

/** Producer 7's batch at `seq` holding one record per value (batches are written in place: a fresh copy). */
const seqBatch = (seq: number, values: string[], producerEpoch = 0) =>
  encodeRecordBatch(
    values.map((v) => ({ key: null, value: Buffer.from(v) })),
    { baseTimestamp: 1_700_000_000_000, producerId: 7, producerEpoch, baseSequence: seq },
  );

/** Snapshot files are written apart from appends: polls the folder until it holds `offsets`. */
async function snapshotsBecome(path: string, offsets: number[]): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (JSON.stringify(await snapshotFiles(path)) === JSON.stringify(offsets)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(await snapshotFiles(path)).toEqual(offsets);
}

async function snapshotFiles(path: string): Promise<number[]> {
  return (await readdir(path))
    .filter((n) => n.endsWith('.snapshot'))
    .map((n) => Number(n.slice(0, -'.snapshot'.length)))
    .sort((a, b) => a - b);
}

/** Appends batches at sequences 0, 2, 4, ... of two records each; returns their base offsets. */
async function writeBatches(served: DeduplicatedLog, count: number, from = 0): Promise<number[]> {
  const offsets: number[] = [];
  for (let i = from; i < from + count; i++) {
    offsets.push((await served.append(seqBatch(2 * i, [`v${2 * i}`, `v${2 * i + 1}`]))).baseOffset);
  }
  return offsets;
}

/** A retry is answered with `offset` and writes nothing; the producer's next batch is then accepted. */
async function expectRemembered(log: PartitionLog, served: DeduplicatedLog, seq: number, offset: number) {
  const end = log.logEndOffset();
  expect((await served.append(seqBatch(seq, ['retry', 'retry']))).baseOffset).toBe(offset);
  expect(log.logEndOffset()).toBe(end);
  const next = await served.append(seqBatch(seq + 2, ['next', 'next']));
  expect(next.baseOffset).toBe(end);
}

describe('producer state snapshots of a single-node log', () => {
  it('a clean close snapshots the state at the log end, and open loads it without reading the log', async () => {
    const path = await dir();
    const first = await open(path);
    const offsets = await writeBatches(first.served, 3);
    await first.log.close();
    expect(await snapshotFiles(path)).toEqual([6]);

    const { logger, lines } = recordingLogger();
    const again = await open(path, {}, logger);
    expect(lines.filter((l) => l.msg.includes('rebuilt'))).toEqual([]);
    await expectRemembered(again.log, again.served, 4, offsets[2]!);
    await again.log.close();
  });

  it('a retry of a first batch (sequence 0) across a restart is not written twice', async () => {
    const path = await dir();
    const first = await open(path);
    await first.served.append(seqBatch(0, ['a']));
    await first.log.close();
    const again = await open(path);
    expect((await again.served.append(seqBatch(0, ['a']))).baseOffset).toBe(0);
    expect((await readAll(again.log)).map((r) => r.value)).toEqual(['a']);
    await again.log.close();
  });

  it('writes a snapshot when the log rolls, and keeps only the newest three', async () => {
    const path = await dir();
    // Each two-record batch is ~90 bytes: every batch after the first rolls the log.
    const { log, served } = await open(path, { segmentBytes: 100 });
    await writeBatches(served, 2);
    // The group that rolled ends at offset 4: the snapshot covers both batches.
    await snapshotsBecome(path, [4]);
    await writeBatches(served, 4, 2);
    await log.close();
    expect(await snapshotFiles(path)).toEqual([8, 10, 12]);
  });

  it('after a crash, rebuilds from the last roll snapshot plus the batches written since', async () => {
    const path = await dir();
    const crashed = await dir();
    // Two batches per segment: the groups of batches 2 and 4 roll the log (snapshots at 6 and 10).
    const { log, served } = await open(path, { segmentBytes: 200 });
    const offsets = await writeBatches(served, 6);
    await snapshotsBecome(path, [6, 10]);
    // The folder as a crash would leave it: no snapshot at close (flush 'always': every batch is on disk).
    await cp(path, crashed, { recursive: true });
    await log.close();

    const { logger, lines } = recordingLogger();
    const again = await open(crashed, { segmentBytes: 200 }, logger);
    expect(lines.find((l) => l.msg.includes('rebuilt'))?.obj).toEqual({ snapshotOffset: 10, logEnd: 12 });
    // Batches from before the snapshot and after it are both known.
    expect((await again.served.append(seqBatch(6, ['x', 'x']))).baseOffset).toBe(offsets[3]);
    await expectRemembered(again.log, again.served, 10, offsets[5]!);
    await again.log.close();
  });

  it('ignores a corrupt snapshot with a warning and rebuilds the state from the log', async () => {
    const path = await dir();
    const first = await open(path);
    const offsets = await writeBatches(first.served, 3);
    await first.log.close();
    const file = join(path, `${String(6).padStart(20, '0')}.snapshot`);
    const bytes = await readFile(file);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(file, bytes);

    const { logger, lines } = recordingLogger();
    const again = await open(path, {}, logger);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.obj.problem)).toEqual(['CRC mismatch']);
    await expectRemembered(again.log, again.served, 4, offsets[2]!);
    await again.log.close();
    // The bad file is gone, replaced by the one written at close.
    expect(await snapshotFiles(path)).toEqual([8]);
    expect((await readFile(join(path, `${String(8).padStart(20, '0')}.snapshot`))).length).toBeGreaterThan(
      21,
    );
  });

  it('retention deletes the snapshots below the new log start', async () => {
    const path = await dir();
    const { log, served } = await open(path, { segmentBytes: 100, retentionBytes: 1 });
    await writeBatches(served, 4);
    await snapshotsBecome(path, [4, 6, 8]);
    const { logStartOffset } = await log.applyRetention(0);
    expect(logStartOffset).toBe(6);
    expect(await snapshotFiles(path)).toEqual([6, 8]);
    await log.close();
  });

  it('retention that rolls the active segment away snapshots the state at the new start: a crash keeps it', async () => {
    const path = await dir();
    const crashed = await dir();
    // One segment (the default segment_bytes), all of it past retention_bytes 0.
    const { log, served } = await open(path, { retentionBytes: 0 });
    const offsets = await writeBatches(served, 2);
    await log.applyRetention(0);
    expect(log.logStartOffset()).toBe(4);
    expect(await snapshotFiles(path)).toEqual([4]);
    await cp(path, crashed, { recursive: true });
    await log.close();

    const again = await open(crashed);
    await expectRemembered(again.log, again.served, 2, offsets[1]!);
    await again.log.close();
  });

  it('a torn tail cut on open takes its batch out of the state: its retry is written again', async () => {
    const path = await dir();
    const first = await open(path);
    await writeBatches(first.served, 2);
    await first.log.close();
    expect(await snapshotFiles(path)).toEqual([4]);
    // The last batch's final bytes never reached the disk; the snapshot at close covers it all the same.
    const segment = join(path, `${String(0).padStart(20, '0')}.log`);
    await truncate(segment, (await readFile(segment)).length - 5);

    const { logger, lines } = recordingLogger();
    const again = await open(path, {}, logger);
    // A snapshot past the log end is expected after a torn tail: dropped quietly, not as unreadable.
    expect(await snapshotFiles(path)).toEqual([]);
    expect(lines.filter((l) => l.level === 'warn' && l.msg.includes('snapshot'))).toEqual([]);
    expect(again.log.logEndOffset()).toBe(2);
    // Were the table to hold the cut batch, its retry would be answered with offset 2 and never written.
    expect((await again.served.append(seqBatch(2, ['v2', 'v3']))).baseOffset).toBe(2);
    expect((await readAll(again.log)).map((r) => r.value)).toEqual(['v0', 'v1', 'v2', 'v3']);
    await again.log.close();
  });

  it('truncation drops the truncated batches from the state and the snapshots that covered them', async () => {
    const path = await dir();
    const { log, served } = await open(path);
    await writeBatches(served, 3);
    await log.close();
    const again = await open(path);
    expect(await again.log.truncateTo(2)).toBe(2);
    expect(await snapshotFiles(path)).toEqual([]);
    // A state still holding the cut batch would answer its retry with offset 2 and write nothing.
    expect((await again.served.append(seqBatch(2, ['w2', 'w3']))).baseOffset).toBe(2);
    expect((await readAll(again.log)).map((r) => r.value)).toEqual(['v0', 'v1', 'w2', 'w3']);
    await again.log.close();
  });
});

describe('snapshot file format', () => {
  it('pins the bytes of a snapshot file: magic, version, offset, body length, CRC-32C of the body', () => {
    const file = encodeStateSnapshot(258, Buffer.from([0x90]));
    expect(file.toString('hex')).toBe(`5342505301000000000000010200000001c0d5af46${'90'}`);
    expect(decodeStateSnapshot(file, 258)).toEqual({ body: Buffer.from([0x90]) });
  });

  it('says why a snapshot file cannot be trusted', () => {
    const file = encodeStateSnapshot(5, Buffer.from('body'));
    const problem = (f: Buffer, offset = 5) =>
      (decodeStateSnapshot(f, offset) as { problem?: string }).problem;
    expect(problem(file, 6)).toBe('offset differs from the file name');
    expect(problem(file.subarray(0, 10))).toBe('10 bytes, shorter than the header');
    expect(problem(file.subarray(0, file.length - 1))).toBe('body of 4 bytes in a 24');
    const flipped = Buffer.from(file);
    flipped[flipped.length - 1]! ^= 1;
    expect(problem(flipped)).toBe('CRC mismatch');
    const future = Buffer.from(file);
    future[4] = 2;
    expect(problem(future)).toBe('version 2');
  });
});
