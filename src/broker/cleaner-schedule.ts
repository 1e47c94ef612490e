/**
 * Runs the log cleaner (storage/log-cleaner.ts) every storage.cleaner_interval over every partition log this
 * broker keeps: single-node topics in the log manager, replicas in the replica manager (each replica cleans
 * its own copy). One partition at a time, and a pass still running when the timer fires makes that tick a
 * no-op: the cleaner's disk and CPU use stay bounded whatever the partition count. A partition's failed pass
 * is logged and counted; the next pass tries again.
 */
import type { Logger } from '../observability/index.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { cleanLog, type NamedCleanableLog } from '../storage/log-cleaner.js';

export interface CleanerScheduleOptions {
  /** Every log to consider, read at each pass (topics and replicas come and go). */
  readonly logs: () => readonly NamedCleanableLog[];
  readonly nowMs: () => number;
  readonly keysMax: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry | null;
}

/** One pass over every log; resolves when it is done (failures are logged and counted, never thrown). */
export async function runCleanerPass(o: Omit<CleanerScheduleOptions, 'intervalMs'>): Promise<void> {
  for (const { topic, partition, log } of o.logs()) {
    const started = performance.now();
    try {
      const result = await cleanLog(log, { nowMs: o.nowMs(), keysMax: o.keysMax });
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
      o.metrics?.logCleanerErrorsTotal.inc();
      o.logger.error({ operation: 'log.clean', topic, partition, error: String(err) }, 'log cleaning failed');
    }
  }
}

/** Starts the passes; returns what stops them. */
export function scheduleCleaner(o: CleanerScheduleOptions): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void runCleanerPass(o).finally(() => {
      running = false;
    });
  }, o.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
