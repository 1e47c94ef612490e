/** The cleaner's I/O throttle (io-throttle.ts): a token bucket of bytes, with waits counted on a fake clock. */
import { describe, expect, it } from 'vitest';
import { IoThrottle } from '../../src/storage/io-throttle.js';
import { FakeThrottleTime } from './compaction-helpers.js';

describe('IoThrottle', () => {
  it('lets one second of bytes through at once, then makes each spend wait until the rate has paid for it', async () => {
    const time = new FakeThrottleTime();
    const throttle = new IoThrottle(1000, time);
    for (let i = 0; i < 10; i++) await throttle.spend(1000);
    expect(time.sleeps).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    expect([throttle.waits, throttle.waitedMs]).toEqual([9, 9000]);
    // 10 000 bytes at 1000 bytes/s, the first 1000 from the full bucket: 9 s, whatever the spend sizes.
    const small = new IoThrottle(1000, new FakeThrottleTime());
    for (let i = 0; i < 100; i++) await small.spend(100);
    expect(small.waitedMs).toBe(9000);
  });

  it('refills while idle, up to one second of bytes and no more', async () => {
    const time = new FakeThrottleTime();
    const throttle = new IoThrottle(1000, time);
    await throttle.spend(1000);
    time.now += 60_000;
    await throttle.spend(1000);
    expect(throttle.waits).toBe(0);
    await throttle.spend(500);
    expect(time.sleeps).toEqual([500]);
  });

  it('makes a spend bigger than the bucket wait for all of it', async () => {
    const time = new FakeThrottleTime();
    const throttle = new IoThrottle(1024, time);
    await throttle.spend(1024 * 1024);
    expect(time.sleeps).toEqual([1023 * 1000]);
  });
});
