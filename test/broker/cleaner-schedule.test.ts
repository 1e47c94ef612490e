/** The broker's cleaner passes (cleaner-schedule.ts) report what each pass did in streambus_log_cleaner_* metrics. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCleanerPass, scheduleCleaner } from '../../src/broker/cleaner-schedule.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { sleep, type Timers } from '../../src/resilience/clock.js';
import { IoThrottle } from '../../src/storage/io-throttle.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { captureLines } from '../helpers/capture-logger.js';
import { keyedBatch } from '../storage/compaction-helpers.js';
import { ManualClock, openLog, tempDir } from '../storage/helpers.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let log: PartitionLog | undefined;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await log?.close();
  await dir.cleanup();
});

/** Timers that never fire: a throttle wait ends only when it is aborted. */
const neverFires: Timers = { setTimeout: () => ({}), clearTimeout: () => {} };

/** A compacted log of 1 KiB segments holding 20 batches over two keys (about 6 KiB, much to clean). */
async function compactedLogOfTwoKeys(clock: ManualClock): Promise<PartitionLog> {
  const opened = await openLog(
    dir.path,
    { cleanupPolicy: 'compact', segmentBytes: 1024, minCleanableDirtyRatio: 0 },
    { clock },
  );
  for (let b = 0; b < 20; b++)
    await opened.append(keyedBatch([{ key: `k${b % 2}`, value: `${b}`.padEnd(300, 'v') }], clock.nowMs()));
  return opened;
}

async function pass(metrics: MetricsRegistry, clock: ManualClock): Promise<void> {
  await runCleanerPass({
    logs: () => [{ topic: 't', partition: 0, log: log! }],
    nowMs: () => clock.nowMs(),
    keysMax: 100,
    logger: silentLogger(),
    metrics,
  });
}

function counter(text: string, name: string): number {
  const m = text.match(new RegExp(`^${name}(?:\\{topic="t"\\})? (\\S+)$`, 'm'));
  return m === null ? 0 : Number(m[1]);
}

describe('cleaner pass metrics', () => {
  it('counts segments left unwritten (nothing to remove) and segments merged away', async () => {
    const clock = new ManualClock();
    const config = { cleanupPolicy: 'compact' as const, segmentBytes: 1024, minCleanableDirtyRatio: 0 };
    log = await openLog(dir.path, config, { clock });
    const metrics = new MetricsRegistry({ processMetrics: false });
    // One 600-byte record a segment: a, b, c, then a again; only the first segment has something to remove.
    for (const key of ['a', 'b', 'c', 'a', 'x'])
      await log.append(keyedBatch([{ key, value: key.padEnd(600, '.') }], clock.nowMs()));
    await pass(metrics, clock);
    let text = await metrics.text();
    expect(counter(text, 'streambus_log_cleaner_segments_skipped_total')).toBe(3);
    expect(counter(text, 'streambus_log_cleaner_segments_cleaned_total')).toBe(1);
    expect(counter(text, 'streambus_log_cleaner_segments_merged_total')).toBe(0);

    // b and c superseded: their segments shrink to an empty batch each, small enough to merge next pass.
    for (const key of ['b', 'c', 'y'])
      await log.append(keyedBatch([{ key, value: key.padEnd(600, '.') }], clock.nowMs()));
    await pass(metrics, clock);
    await log.append(keyedBatch([{ key: 'z', value: 'z'.padEnd(600, '.') }], clock.nowMs()));
    await pass(metrics, clock);
    text = await metrics.text();
    expect(counter(text, 'streambus_log_cleaner_segments_merged_total')).toBeGreaterThan(0);
  });

  it('a pass the cleaner stops during a throttle wait ends at once, counted as no failure, releasing the log', async () => {
    const clock = new ManualClock();
    log = await compactedLogOfTwoKeys(clock);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const stop = new AbortController();
    let waiting!: () => void;
    const waited = new Promise<void>((resolve) => (waiting = resolve));
    const io = new IoThrottle(1024, {
      nowMs: () => 0,
      sleep: (ms) => {
        waiting();
        return sleep(ms, stop.signal, neverFires);
      },
    });
    const lines = captureLines();
    const passDone = runCleanerPass({
      logs: () => [{ topic: 't', partition: 0, log: log! }],
      nowMs: () => clock.nowMs(),
      keysMax: 100,
      logger: createLogger({ destination: lines.stream }),
      metrics,
      io,
      signal: stop.signal,
    });
    await waited;
    stop.abort();
    await passDone;
    expect(counter(await metrics.text(), 'streambus_log_cleaner_errors_total')).toBe(0);
    expect(lines.lines()).toEqual([]);
    await log.close();
    log = undefined;
  });

  it('throttles passes to storage.cleaner_io_bytes_per_sec, and stopping ends a throttle wait', async () => {
    const clock = new ManualClock();
    log = await compactedLogOfTwoKeys(clock);
    const metrics = new MetricsRegistry({ processMetrics: false });
    let waiting!: (signal: AbortSignal) => void;
    const waited = new Promise<AbortSignal>((resolve) => (waiting = resolve));
    const stop = scheduleCleaner({
      logs: () => [{ topic: 't', partition: 0, log: log! }],
      nowMs: () => clock.nowMs(),
      keysMax: 100,
      // The log holds about 6 KiB: a pass spends more than one second of this budget.
      ioBytesPerSec: 1024,
      intervalMs: 1,
      logger: silentLogger(),
      metrics,
      sleep: (ms, signal) => {
        waiting(signal);
        return sleep(ms, signal, neverFires);
      },
    });
    const signal = await waited;
    expect(signal.aborted).toBe(false);
    stop();
    expect(signal.aborted).toBe(true);
    // The pass let go of the segments it was reading: closing the log does not wait for it.
    await log.close();
    log = undefined;
    expect(counter(await metrics.text(), 'streambus_log_cleaner_errors_total')).toBe(0);
  });
});
