import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendResult } from '../../src/storage/partition-append.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { batchOf, ManualClock, openLog, readAll, TestFs, tempDir } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
const logs: PartitionLog[] = [];
const gatedFs: TestFs[] = [];

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  // A failed assertion can leave fsyncs held; let them go so close() finishes.
  for (const fs of gatedFs.splice(0)) fs.releaseDatasyncs();
  await Promise.allSettled(logs.splice(0).map((l) => l.close()));
  await dir.cleanup();
});

function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  return { promise, settled: () => done };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("flushPolicy 'always' with group commit", () => {
  it('covers every append made while an fsync runs with one fsync, and resolves none before its fsync', async () => {
    const fs = new TestFs();
    gatedFs.push(fs);
    const log = await openLog(dir.path, {}, { fs });
    logs.push(log);
    const syncsAtStart = fs.datasyncs;
    fs.holdDatasyncs();
    const firstWaiting = fs.datasyncWaiting();
    const first = track(log.append(batchOf(['first'])));
    await firstWaiting;
    const rest = Array.from({ length: 99 }, (_, i) => track(log.append(batchOf([`m${i}`]))));
    await tick();
    expect(first.settled()).toBe(false);
    expect(log.highWatermark()).toBe(0);
    expect((await log.read(0, 1000)).records.length).toBe(0);

    const secondWaiting = fs.datasyncWaiting();
    fs.releaseDatasyncs();
    fs.holdDatasyncs();
    const firstResult = await first.promise;
    expect(firstResult.baseOffset).toBe(0);
    await secondWaiting;
    await tick();
    expect(rest.some((r) => r.settled())).toBe(false);
    // The first append is durable and visible; the 99 others are written but not yet fsynced, so hidden.
    expect(log.highWatermark()).toBe(1);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['first']);

    fs.releaseDatasyncs();
    const results: AppendResult[] = await Promise.all(rest.map((r) => r.promise));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 99 }, (_, i) => i + 1));
    expect(fs.datasyncs - syncsAtStart).toBe(2);
    expect(log.stats()).toMatchObject({ appends: 100, writeGroups: 2, highWatermark: 100 });
  });

  it('makes far fewer fsyncs than appends under many concurrent appends', async () => {
    const fs = new TestFs();
    gatedFs.push(fs);
    const log = await openLog(dir.path, {}, { fs });
    logs.push(log);
    const before = log.stats().fsyncs;
    const producers = Array.from({ length: 8 }, async (_, p) => {
      for (let i = 0; i < 100; i++) await log.append(batchOf([`p${p}-${i}`]));
    });
    const burst = Array.from({ length: 400 }, (_, i) => log.append(batchOf([`burst-${i}`])));
    await Promise.all([...producers, ...burst]);
    const stats = log.stats();
    expect(stats.appends).toBe(1200);
    expect(stats.fsyncs - before).toBeLessThan(stats.appends / 4);
    expect(stats.fsyncs - before).toBe(stats.writeGroups);
    const values = await readAll(log);
    expect(values.map((v) => v.offset)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
  });
});

describe("flushPolicy 'interval' and 'never'", () => {
  it("'interval' resolves appends after the write and fsyncs on the timer", async () => {
    const fs = new TestFs();
    gatedFs.push(fs);
    let timer: (() => void) | undefined;
    const log = await openLog(
      dir.path,
      { flushPolicy: 'interval', flushIntervalMs: 500 },
      {
        fs,
        clock: new ManualClock(),
        scheduleInterval: (fn, ms) => {
          expect(ms).toBe(500);
          timer = fn;
          return () => (timer = undefined);
        },
      },
    );
    logs.push(log);
    const syncs = fs.datasyncs;
    for (let i = 0; i < 10; i++) await log.append(batchOf([`v${i}`]));
    expect(fs.datasyncs).toBe(syncs);
    expect(log.highWatermark()).toBe(10);
    timer!();
    await log.flush();
    expect(fs.datasyncs).toBe(syncs + 1);
    await log.close();
    expect(timer).toBeUndefined();
  });

  it("'never' leaves fsync to the OS but close still fsyncs", async () => {
    const fs = new TestFs();
    gatedFs.push(fs);
    const log = await openLog(dir.path, { flushPolicy: 'never' }, { fs });
    const syncs = fs.datasyncs;
    for (let i = 0; i < 10; i++) await log.append(batchOf([`v${i}`]));
    expect(fs.datasyncs).toBe(syncs);
    await log.close();
    expect(fs.datasyncs).toBe(syncs + 1);
  });
});

describe('waiting for new data', () => {
  it('notifies high-watermark listeners and resolves waiters when data becomes visible', async () => {
    const log = await openLog(dir.path);
    logs.push(log);
    const seen: number[] = [];
    const unsubscribe = log.onHighWatermark((hw) => seen.push(hw));
    const waiter = log.waitForHighWatermarkAbove(0);
    await log.append(batchOf(['a', 'b']));
    expect(await waiter).toBe(2);
    unsubscribe();
    await log.append(batchOf(['c']));
    expect(seen).toEqual([2]);
    expect(await log.waitForHighWatermarkAbove(1)).toBe(3);
  });

  it('rejects a waiter when its signal aborts or the log closes', async () => {
    const log = await openLog(dir.path);
    const controller = new AbortController();
    const aborted = log.waitForHighWatermarkAbove(5, controller.signal);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'REQUEST_ABORTED' });
    const closing = expect(log.waitForHighWatermarkAbove(5)).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    await log.close();
    await closing;
  });
});
