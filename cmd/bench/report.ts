/** Shared bench plumbing: latency histograms, a TTY progress bar, and the one-line JSON summary. */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  // 1 us .. 60 s at 3 significant digits; packed storage keeps it small.
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/**
 * p50, p99, p99.9 and max in microseconds. A percentile is read as its bucket's upper end, which can lie
 * above the largest value recorded (a p99 above the max): each is capped at the max.
 */
export function latencies(histogram: Histogram) {
  const max = histogram.maxValue;
  const at = (percentile: number) => Math.min(histogram.getValueAtPercentile(percentile), max);
  return { p50_us: at(50), p99_us: at(99), p999_us: at(99.9), max_us: max };
}

export interface Summary {
  bench: string;
  messages: number;
  size_bytes: number;
  seconds: number;
  msgs_per_s: number;
  mib_per_s: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  [extra: string]: unknown;
}

/**
 * The JSON summary. `bytes` are the bytes really moved (mib_per_s is computed from them, not from
 * messages x sizeBytes: a consumer reads what the topic holds, whatever --size says).
 */
export function summarize(
  bench: string,
  messages: number,
  sizeBytes: number,
  bytes: number,
  seconds: number,
  histogram: Histogram,
  extra: Record<string, unknown> = {},
): Summary {
  return {
    bench,
    messages,
    size_bytes: sizeBytes,
    seconds: Number(seconds.toFixed(3)),
    msgs_per_s: Math.round(messages / seconds),
    mib_per_s: mibPerS(bytes, seconds),
    ...latencies(histogram),
    ...extra,
  };
}

export function mibPerS(bytes: number, seconds: number): number {
  return Number((bytes / seconds / 1048576).toFixed(2));
}

/** A progress bar on stderr when it is a terminal; silent otherwise (CI logs stay clean). */
export class Progress {
  private readonly enabled = process.stderr.isTTY === true;
  private lastDrawMs = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDrawMs < 100 && done < this.total) return;
    this.lastDrawMs = now;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}`,
    );
  }

  done(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}

/** Incompressible payloads (like the peers' workload), reused round-robin so generating them costs nothing. */
export function payloadPool(sizeBytes: number, count = 64): Buffer[] {
  const pool: Buffer[] = [];
  let seed = 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    const b = Buffer.allocUnsafe(sizeBytes);
    for (let j = 0; j < sizeBytes; j++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      b[j] = seed & 0xff;
    }
    pool.push(b);
  }
  return pool;
}

export function printSummary(summary: Summary): void {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
