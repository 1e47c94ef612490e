import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { EAGER_FRAME_BYTES, FrameDecoder } from '../../src/protocol/frame-decoder.js';

function frame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length);
  return Buffer.concat([prefix, body]);
}

function errorOf(fn: () => unknown): StreamBusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StreamBusError) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

describe('FrameDecoder', () => {
  it('returns every whole frame in a chunk, in order, without the length prefix', () => {
    const d = new FrameDecoder();
    const frames = d.push(Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two!'))]));
    expect(frames.map((f) => f.toString())).toEqual(['one', 'two!']);
    expect(d.bufferedBytes).toBe(0);
  });

  it('buffers a partial frame, including a split length prefix, until the rest arrives', () => {
    const d = new FrameDecoder();
    const bytes = frame(Buffer.from('hello world'));
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++)
      out.push(...d.push(bytes.subarray(i, i + 1)).map((f) => f.toString()));
    expect(out).toEqual(['hello world']);
  });

  it('frames are copies: the caller may reuse a chunk once push() returns (sockets reuse one read buffer)', () => {
    const d = new FrameDecoder();
    const chunk = Buffer.concat([frame(Buffer.from('abc')), frame(Buffer.from('defgh')).subarray(0, 6)]);
    const [first] = d.push(chunk);
    chunk.fill(0);
    const [second] = d.push(Buffer.from('fgh'));
    chunk.fill(1);
    expect([first!.toString(), second!.toString()]).toEqual(['abc', 'defgh']);
  });

  it('assembles frames larger than the eager allocation, split at random points (seed printed)', () => {
    const seed = Number(process.env.FRAME_SEED ?? Date.now() % 1_000_000);
    console.log(`frame decoder split seed ${seed}`);
    let state = seed;
    const random = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const big = Buffer.alloc(EAGER_FRAME_BYTES * 3 + 17);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const bytes = Buffer.concat([frame(Buffer.from('x')), frame(big), frame(Buffer.from('y'))]);
    const d = new FrameDecoder({ frameBytesMax: big.length });
    const out: Buffer[] = [];
    const reused = Buffer.alloc(256 * 1024);
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(bytes.length - at, 1 + random(reused.length));
      bytes.copy(reused, 0, at, at + n);
      out.push(...d.push(reused.subarray(0, n)));
      reused.fill(0xee);
      at += n;
    }
    expect(out.map((f) => f.length)).toEqual([1, big.length, 1]);
    expect(out[1]!.equals(big)).toBe(true);
    expect(d.bufferedBytes).toBe(0);
  });

  it('rejects a declared length of 0 as MALFORMED_FRAME', () => {
    expect(errorOf(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 0]))).code).toBe('MALFORMED_FRAME');
  });

  it('rejects a declared length above frameBytesMax as FRAME_TOO_LARGE as soon as the prefix arrives', () => {
    const d = new FrameDecoder({ frameBytesMax: 1024 });
    expect(errorOf(() => d.push(Buffer.from([0, 0, 4, 1]))).code).toBe('FRAME_TOO_LARGE');
    expect(errorOf(() => new FrameDecoder().push(Buffer.from([0x7f, 0xff, 0xff, 0xff]))).code).toBe(
      'FRAME_TOO_LARGE',
    );
    expect(errorOf(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).code).toBe(
      'FRAME_TOO_LARGE',
    );
  });

  it('accepts a frame of exactly frameBytesMax', () => {
    const d = new FrameDecoder({ frameBytesMax: 8 });
    expect(d.push(frame(Buffer.alloc(8, 1)))).toHaveLength(1);
  });

  it('memory held does not grow with a declared length beyond the eager size', () => {
    const d = new FrameDecoder({ frameBytesMax: 0x7fffffff });
    const before = process.memoryUsage().arrayBuffers;
    expect(d.push(Buffer.from([0x7f, 0xff, 0xff, 0xf0]))).toEqual([]);
    d.push(Buffer.alloc(1000));
    expect(d.bufferedBytes).toBe(1000);
    // At most the eager buffer (2 MiB), not the 2 GiB claimed.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(EAGER_FRAME_BYTES + 1024 * 1024);
  });

  it('stays failed after an error: the connection must close', () => {
    const d = new FrameDecoder();
    expect(errorOf(() => d.push(Buffer.from([0, 0, 0, 0]))).code).toBe('MALFORMED_FRAME');
    expect(errorOf(() => d.push(frame(Buffer.from('ok')))).code).toBe('MALFORMED_FRAME');
  });
});
