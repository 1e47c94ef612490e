/**
 * Runs the log cleaner (storage/log-cleaner.ts) every storage.cleaner_interval over every partition log this
 * broker keeps: single-node topics in the log manager, replicas in the replica manager (each replica cleans
 * its own copy). One partition at a time, and a pass still running when the timer fires makes that tick a
 * no-op: the cleaner's disk and CPU use stay bounded whatever the partition count. storage.cleaner_io_bytes_per_sec
 * caps its I/O further with one throttle for every partition (storage/io-throttle.ts). A partition's failed
 * pass is logged and counted; the next pass tries again. Stopping cuts a throttle wait short, so a pass
 * waiting for its I/O budget never holds up shutdown (closing a log waits for the cleaner's reads of it).
 */
import type { Logger } from '../observability/index.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { sleep } from '../resilience/clock.js';
import { type IoBudget, IoThrottle, type ThrottleTime, UNLIMITED_IO } from '../storage/io-throttle.js';
import { cleanLog, type NamedCleanableLog } from '../storage/log-cleaner.js';

export interface CleanerScheduleOptions {
  /** Every log to consider, read at each pass (topics and replicas come and go). */
  readonly logs: () => readonly NamedCleanableLog[];
  readonly nowMs: () => number;
  readonly keysMax: number;
  /** storage.cleaner_io_bytes_per_sec; -1: unthrottled. */
  readonly ioBytesPerSec: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry | null;
  /** How the throttle waits (resilience/clock.ts `sleep` unless a test injects one). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface CleanerPassOptions
  extends Omit<CleanerScheduleOptions, 'intervalMs' | 'ioBytesPerSec' | 'sleep'> {
  readonly io?: IoBudget;
  /** Aborted when the cleaner stops: a pass cut short by it is neither logged as failed nor counted. */
  readonly signal?: AbortSignal;
}

/** One pass over every log; resolves when it is done (failures are logged and counted, never thrown). */
export async function runCleanerPass(o: CleanerPassOptions): Promise<void> {
  for (const { topic, partition, log } of o.logs()) {
    if (o.signal?.aborted) return;
    const started = performance.now();
    try {
      const result = await cleanLog(log, { nowMs: o.nowMs(), keysMax: o.keysMax, io: o.io ?? UNLIMITED_IO });
      if (result === null) continue;
      o.metrics?.logCleanerSegmentsSkippedTotal.inc({ topic }, result.skippedSegments);
      if (result.cleanedSegments === 0) continue;
      const durationSeconds = (performance.now() - started) / 1000;
      o.metrics?.logCleanerRecordsRemovedTotal.inc({ topic }, result.removedRecords);
      o.metrics?.logCleanerBytesRemovedTotal.inc(
        { topic },
        Math.max(0, result.bytesBefore - result.bytesAfter),
      );
      o.metrics?.logCleanerSegmentsCleanedTotal.inc({ topic }, result.cleanedSegments);
      o.metrics?.logCleanerSegmentsMergedTotal.inc({ topic }, result.mergedSegments);
      o.metrics?.logCleanerPassDurationSeconds.observe(durationSeconds);
      o.logger.info(
        {
          operation: 'log.clean',
          topic,
          partition,
          ...result,
          duration_ms: Math.round(durationSeconds * 1000),
        },
        'log cleaned',
      );
    } catch (err) {
      if (o.signal?.aborted) return;
      o.metrics?.logCleanerErrorsTotal.inc();
      o.logger.error({ operation: 'log.clean', topic, partition, error: String(err) }, 'log cleaning failed');
    }
  }
}

/** The throttle's time: monotonic, and its waits end when the cleaner stops. */
function throttleTime(o: CleanerScheduleOptions, signal: AbortSignal): ThrottleTime {
  const wait = o.sleep ?? ((ms: number, s: AbortSignal) => sleep(ms, s));
  return { nowMs: () => performance.now(), sleep: (ms) => wait(ms, signal) };
}

/** Starts the passes; returns what stops them. */
export function scheduleCleaner(o: CleanerScheduleOptions): () => void {
  const stopped = new AbortController();
  const io =
    o.ioBytesPerSec > 0 ? new IoThrottle(o.ioBytesPerSec, throttleTime(o, stopped.signal)) : UNLIMITED_IO;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void runCleanerPass({ ...o, io, signal: stopped.signal }).finally(() => {
      running = false;
    });
  }, o.intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    stopped.abort();
  };
}
