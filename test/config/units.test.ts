import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDurationMs,
  formatSizeBytes,
  parseDurationMs,
  parseSizeBytes,
} from '../../src/config/index.js';

describe('duration and size forms', () => {
  it('parses every documented duration unit to milliseconds', () => {
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('5s')).toBe(5000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('7d')).toBe(604_800_000);
    expect(parseDurationMs(250)).toBe(250);
    expect(parseDurationMs('250')).toBe(250);
  });

  it('rejects durations that are not whole milliseconds or use unknown units', () => {
    expect(parseDurationMs('0.5ms')).toBeUndefined();
    expect(parseDurationMs('5 weeks')).toBeUndefined();
    expect(parseDurationMs('5w')).toBeUndefined();
    expect(parseDurationMs(1.5)).toBeUndefined();
    expect(parseDurationMs(true)).toBeUndefined();
    expect(parseDurationMs('')).toBeUndefined();
  });

  it('parses binary size units to bytes and rejects decimal ones', () => {
    expect(parseSizeBytes('64KiB')).toBe(65_536);
    expect(parseSizeBytes('512MiB')).toBe(512 * 1024 * 1024);
    expect(parseSizeBytes('1GiB')).toBe(1024 ** 3);
    expect(parseSizeBytes('1gib')).toBe(1024 ** 3);
    expect(parseSizeBytes(4096)).toBe(4096);
    expect(parseSizeBytes('1GB')).toBeUndefined();
    expect(parseSizeBytes('1.1B')).toBeUndefined();
  });

  it('formats round-trip through parse for any non-negative integer', () => {
    const seed = Date.now();
    console.log(`units round-trip seed ${seed}`);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (n) => {
        expect(parseDurationMs(formatDurationMs(n))).toBe(n);
        expect(parseSizeBytes(formatSizeBytes(n))).toBe(n);
      }),
      { seed, numRuns: 2000 },
    );
    expect(formatDurationMs(604_800_000)).toBe('7d');
    expect(formatSizeBytes(1024 ** 3)).toBe('1GiB');
    expect(formatSizeBytes(-1)).toBe('-1');
  });
});
