import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/core/types.js';
import { EntryCache, LOADS_IN_FLIGHT_MAX } from '../../src/storage/replicated-cache.js';

const entry = (index: number, term = 1, tag = 'a'): Entry => ({
  term,
  index,
  type: 'normal',
  data: Buffer.from(`${tag}${index}`.padEnd(100, '.')),
});

/** A loader over a "disk" the test controls, resolving only when the test says so. */
class FakeDisk {
  disk = new Map<number, Entry>();
  calls: { lo: number; hi: number; resolve: () => void }[] = [];

  loader = (lo: number, hi: number): Promise<Entry[]> =>
    new Promise((resolve) => {
      this.calls.push({
        lo,
        hi,
        resolve: () => {
          const out: Entry[] = [];
          for (let i = lo; i < hi && this.disk.has(i); i++) out.push(this.disk.get(i)!);
          resolve(out);
        },
      });
    });
}

function filled(disk: FakeDisk, n: number, cacheBytes: number): EntryCache {
  const cache = new EntryCache(1, cacheBytes, disk.loader, (err) => {
    throw err;
  });
  const ents = Array.from({ length: n }, (_, k) => entry(k + 1));
  for (const e of ents) disk.disk.set(e.index, e);
  cache.push(ents);
  return cache;
}

describe('EntryCache', () => {
  it('keeps every entry above the applied index whatever the budget, and evicts only at or below it', () => {
    const disk = new FakeDisk();
    const cache = filled(disk, 20, 1);
    expect(cache.start).toBe(1);
    cache.setApplied(12);
    expect(cache.start).toBe(13);
    const above = cache.get(13, 21, Number.MAX_SAFE_INTEGER);
    expect(Array.isArray(above) && above.map((e) => e.index)).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);
    // With room in the budget, applied entries stay.
    const roomy = filled(new FakeDisk(), 20, 1 << 20);
    roomy.setApplied(20);
    expect(roomy.start).toBe(1);
  });

  it("answers 'unavailable' below the tail, loads once per range, at most a few at a time", async () => {
    const disk = new FakeDisk();
    const cache = filled(disk, 30, 1);
    cache.setApplied(30);
    expect(cache.get(3, 10, 1 << 20)).toBe('unavailable');
    expect(cache.get(3, 10, 1 << 20)).toBe('unavailable');
    expect(disk.calls.length).toBe(1);
    for (let lo = 10; lo < 10 + LOADS_IN_FLIGHT_MAX + 2; lo++) cache.get(lo, lo + 1, 1 << 20);
    expect(disk.calls.length).toBe(LOADS_IN_FLIGHT_MAX);
    for (const c of disk.calls) c.resolve();
    await cache.idle();
    const got = cache.get(3, 10, 1 << 20);
    expect(Array.isArray(got) && got.map((e) => e.index)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('never serves entries a truncation replaced, from loaded chunks or from loads that finish afterwards', async () => {
    const disk = new FakeDisk();
    const cache = filled(disk, 30, 1);
    cache.setApplied(30);
    cache.get(5, 31, 1 << 20);
    disk.calls[0]!.resolve();
    await cache.idle();
    cache.get(20, 31, 1 << 20);
    expect(disk.calls.length).toBe(1);
    // A load in flight when the suffix from 10 is replaced.
    cache.get(1, 31, 1 << 20);
    cache.truncateFrom(10);
    const replaced = Array.from({ length: 21 }, (_, k) => entry(10 + k, 2, 'b'));
    for (const e of replaced) disk.disk.set(e.index, e);
    cache.push(replaced);
    disk.calls[1]!.resolve();
    await cache.idle();
    cache.setApplied(30);
    for (let i = 10; i <= 30; i++) {
      let got = cache.get(i, i + 1, 1 << 20);
      if (got === 'unavailable') {
        for (const c of disk.calls) c.resolve();
        await cache.idle();
        got = cache.get(i, i + 1, 1 << 20);
      }
      expect(got !== 'unavailable' && got[0]!.term).toBe(2);
    }
  });

  it('keeps serving the right entries while evicting one entry at a time over a long tail', () => {
    const disk = new FakeDisk();
    const cache = new EntryCache(1, 50 * 124, disk.loader, (err) => {
      throw err;
    });
    for (let i = 1; i <= 5000; i++) {
      cache.push([entry(i)]);
      cache.setApplied(i - 1);
      if (i % 997 === 0) {
        const got = cache.get(cache.start, i + 1, Number.MAX_SAFE_INTEGER);
        expect(Array.isArray(got) && got.map((e) => e.index)).toEqual(
          Array.from({ length: i + 1 - cache.start }, (_, k) => cache.start + k),
        );
      }
    }
    // 50 entries fit the budget; the unapplied last one is always kept.
    expect(cache.start).toBe(5000 - 49);
    const limited = cache.get(4960, 5001, 3 * 124);
    expect(Array.isArray(limited) && limited.map((e) => e.index)).toEqual([4960, 4961, 4962]);
  });
});
