/**
 * Human-friendly durations and sizes for config values. Durations are milliseconds, sizes are bytes; both
 * accept a plain integer too, so `segment_ms: 604800000` and `segment_ms: 7d` mean the same.
 */

/** Constants for the defaults of the key tables (schema-*-keys.ts). */
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const DAY_MS = 86_400_000;

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_UNITS_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

export const DURATION_FORM = "an integer of milliseconds or a duration like '500ms', '5s', '2m', '1h', '7d'";
export const SIZE_FORM = "an integer of bytes or a size like '64KiB', '512MiB', '1GiB'";

/** Milliseconds, or undefined when `raw` is not a duration. */
export function parseDurationMs(raw: unknown): number | undefined {
  return parseWithUnits(raw, DURATION_UNITS_MS);
}

/** Bytes, or undefined when `raw` is not a size. */
export function parseSizeBytes(raw: unknown): number | undefined {
  return parseWithUnits(raw, SIZE_UNITS_BYTES);
}

function parseWithUnits(raw: unknown, units: Readonly<Record<string, number>>): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase();
  if (unit === '') return Number.isSafeInteger(amount) ? amount : undefined;
  const factor = units[unit];
  if (factor === undefined) return undefined;
  const value = amount * factor;
  // '1.5s' is fine (1500 ms); '0.5ms' is not a whole number of milliseconds.
  return Number.isSafeInteger(value) ? value : undefined;
}

/** The shortest exact rendering: 604800000 -> '7d', 1500 -> '1500ms', -1 -> '-1'. */
export function formatDurationMs(ms: number): string {
  if (ms <= 0) return String(ms);
  for (const [unit, factor] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}

/** The shortest exact rendering: 1073741824 -> '1GiB', 1048588 -> '1048588', -1 -> '-1'. */
export function formatSizeBytes(bytes: number): string {
  if (bytes <= 0) return String(bytes);
  for (const [unit, factor] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
