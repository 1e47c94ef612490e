import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { batchOf, openLog, readAll, TestFs, tempDir } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const logs: PartitionLog[] = [];
const gatedFs: TestFs[] = [];
const FIRST = '00000000000000000000.log';

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  // A failed assertion can leave fsyncs held; let them go so close() finishes.
  for (const fs of gatedFs.splice(0)) fs.releaseDatasyncs();
  await Promise.allSettled(logs.splice(0).map((l) => l.close()));
  await dir.cleanup();
});

async function setUp(overrides: Parameters<typeof openLog>[1] = {}) {
  const fs = new TestFs();
  gatedFs.push(fs);
  const log = await openLog(dir.path, overrides, { fs });
  logs.push(log);
  for (let i = 0; i < 3; i++) await log.append(batchOf([`ok-${i}`]));
  return { fs, log };
}

describe('disk full', () => {
  it('turns ENOSPC on a partial write into DISK_FULL, removes the partial bytes and keeps serving', async () => {
    const { fs, log } = await setUp();
    const sizeBefore = (await stat(join(dir.path, FIRST))).size;
    fs.failNext({ op: 'write', code: 'ENOSPC', partialBytes: 30 });
    await expect(log.append(batchOf(['lost']))).rejects.toMatchObject({
      code: 'DISK_FULL',
      category: 'transient',
    });
    expect((await stat(join(dir.path, FIRST))).size).toBe(sizeBefore);
    expect(log.highWatermark()).toBe(3);
    expect(log.logEndOffset()).toBe(3);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['ok-0', 'ok-1', 'ok-2']);
    // Space is back: the next append takes the offset the failed one would have had.
    expect((await log.append(batchOf(['later']))).baseOffset).toBe(3);
    await log.close();
    const reopened = await openLog(dir.path);
    logs.push(reopened);
    expect((await readAll(reopened)).map((r) => r.value)).toEqual(['ok-0', 'ok-1', 'ok-2', 'later']);
  });

  it('fails the whole group when the fsync hits ENOSPC, and only that group', async () => {
    const { fs, log } = await setUp();
    fs.holdDatasyncs();
    const waiting = fs.datasyncWaiting();
    const failing = log.append(batchOf(['g1']));
    const failCheck = expect(failing).rejects.toMatchObject({ code: 'DISK_FULL' });
    await waiting;
    // Queued behind the failing group: a separate group, which must succeed.
    const queued = Array.from({ length: 5 }, (_, i) => log.append(batchOf([`q${i}`])));
    fs.failNext({ op: 'datasync', code: 'ENOSPC' });
    fs.releaseDatasyncs();
    await failCheck;
    const results = await Promise.all(queued);
    expect(results.map((r) => r.baseOffset)).toEqual([3, 4, 5, 6, 7]);
    expect((await readAll(log)).map((r) => r.value)).toEqual([
      'ok-0',
      'ok-1',
      'ok-2',
      'q0',
      'q1',
      'q2',
      'q3',
      'q4',
    ]);
  });

  it('undoes a segment roll that failed with ENOSPC', async () => {
    const { fs, log } = await setUp({ segmentBytes: 200 });
    const segments = log.stats().segments;
    const files = await readdir(dir.path);
    fs.failNext({ op: 'create', code: 'ENOSPC' });
    await expect(log.append(batchOf(['x'.repeat(150)]))).rejects.toMatchObject({ code: 'DISK_FULL' });
    expect(log.stats().segments).toBe(segments);
    expect((await readdir(dir.path)).sort()).toEqual(files.sort());
    const ok = await log.append(batchOf(['x'.repeat(150)]));
    expect(ok.baseOffset).toBe(3);
    expect(log.stats().segments).toBe(segments + 1);
    expect((await readAll(log)).map((r) => r.offset)).toEqual([0, 1, 2, 3]);
  });

  it('maps other I/O errors to STORAGE_ERROR', async () => {
    const { fs, log } = await setUp();
    fs.failNext({ op: 'write', code: 'EIO' });
    await expect(log.append(batchOf(['x']))).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    expect((await log.append(batchOf(['y']))).baseOffset).toBe(3);
  });
});
