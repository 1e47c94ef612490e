/** The broker's cleaner passes (cleaner-schedule.ts) report what each pass did in streambus_log_cleaner_* metrics. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCleanerPass } from '../../src/broker/cleaner-schedule.js';
import { silentLogger } from '../../src/observability/logger.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
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
  const m = text.match(new RegExp(`^${name}\\{topic="t"\\} (\\S+)$`, 'm'));
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
});
