import { describe, expect, test } from 'vitest';
import { ReadBufferPool, readBufferClassBytes } from '../../src/storage/read-buffers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('read buffer sizes', () => {
  test('classes are 2^k and 1.5 * 2^k from 256 KiB, the smallest that fits', () => {
    expect(readBufferClassBytes(1)).toBe(256 * KiB);
    expect(readBufferClassBytes(256 * KiB)).toBe(256 * KiB);
    expect(readBufferClassBytes(256 * KiB + 1)).toBe(384 * KiB);
    expect(readBufferClassBytes(400 * KiB)).toBe(512 * KiB);
    // A default 1 MiB fetch reads index interval + 1 MiB + a header: the 1.5 MiB class, not 2 MiB.
    expect(readBufferClassBytes(MiB + 4 * KiB + 61)).toBe(1.5 * MiB);
    expect(readBufferClassBytes(3 * MiB)).toBe(3 * MiB);
    expect(readBufferClassBytes(3 * MiB + 1)).toBe(4 * MiB);
  });
});

describe('ReadBufferPool', () => {
  test('a buffer given back is lent again, as a view of exactly the asked length', () => {
    const pool = new ReadBufferPool(16 * MiB);
    const first = pool.loan();
    const a = first.take(MiB);
    expect(a.length).toBe(MiB);
    first.giveBack();
    expect(pool.idleByteCount).toBe(MiB);
    const second = pool.loan();
    const b = second.take(MiB - 10);
    expect(b.length).toBe(MiB - 10);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.idleByteCount).toBe(0);
  });

  test('buffers still lent are never lent twice', () => {
    const pool = new ReadBufferPool(16 * MiB);
    const loan = pool.loan();
    const views = [loan.take(MiB), loan.take(MiB), loan.take(MiB)];
    expect(new Set(views.map((v) => v.buffer)).size).toBe(3);
    loan.giveBack();
    const again = pool.loan();
    const reused = [again.take(MiB), again.take(MiB), again.take(MiB), again.take(MiB)];
    // Three come back from the pool, the fourth is new: none appears twice.
    expect(new Set(reused.map((v) => v.buffer)).size).toBe(4);
  });

  test('small and oversized reads get fresh buffers and are not kept', () => {
    const pool = new ReadBufferPool(16 * MiB);
    const loan = pool.loan();
    const small = loan.take(4 * KiB);
    const huge = loan.take(17 * MiB);
    expect(small.length).toBe(4 * KiB);
    expect(huge.length).toBe(17 * MiB);
    loan.giveBack();
    expect(pool.idleByteCount).toBe(0);
  });

  test('idle memory stays within its bound', () => {
    const pool = new ReadBufferPool(4 * MiB);
    const loan = pool.loan();
    for (let i = 0; i < 10; i++) loan.take(MiB);
    loan.giveBack();
    expect(pool.idleByteCount).toBeLessThanOrEqual(4 * MiB);
    expect(pool.idleByteCount).toBe(4 * MiB);
  });

  test('giving back twice returns each buffer once', () => {
    const pool = new ReadBufferPool(16 * MiB);
    const loan = pool.loan();
    loan.take(MiB);
    loan.giveBack();
    loan.giveBack();
    expect(pool.idleByteCount).toBe(MiB);
  });
});
