import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { EAGER_FRAME_BYTES, FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { mulberry32 } from '../../src/raft/core/rand.js';

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

  it('says so when the bytes are HTTP: a client at the ops port, or an HTTP request at the broker port', () => {
    const answer = errorOf(() => new FrameDecoder().push(Buffer.from('HTTP/1.1 400 Bad Request\r\n')));
    expect(answer.code).toBe('FRAME_TOO_LARGE');
    expect(answer.message).toContain('the peer answered HTTP (is this the health/metrics port?');
    const request = errorOf(() => new FrameDecoder().push(Buffer.from('GET /health/ready HTTP/1.1\r\n')));
    expect(request.message).toContain('this is an HTTP request');
    expect(
      errorOf(() => new FrameDecoder().push(Buffer.from([0x7f, 0xff, 0xff, 0xff]))).message,
    ).not.toContain('HTTP');
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

  describe('with refusedHeadBytes (a broker answering a frame it refuses)', () => {
    function prefixed(declared: number, rest: Buffer): Buffer {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(declared);
      return Buffer.concat([prefix, rest]);
    }

    it('returns the frames before an oversized one, then offers its first bytes and stays failed', () => {
      const d = new FrameDecoder({ frameBytesMax: 16, refusedHeadBytes: 8 });
      const head = Buffer.from('01234567');
      const frames = d.push(
        Buffer.concat([frame(Buffer.from('a')), prefixed(17, head), Buffer.from('rest')]),
      );
      expect(frames.map((f) => f.toString())).toEqual(['a']);
      expect(d.refused).toMatchObject({ lengthBytes: 17, frameBytesMax: 16 });
      expect(d.refused!.head.equals(head)).toBe(true);
      expect(d.refused!.error.code).toBe('FRAME_TOO_LARGE');
      expect(errorOf(() => d.push(frame(Buffer.from('b')))).code).toBe('FRAME_TOO_LARGE');
    });

    it('gathers the head across chunks and holds no more than it, whatever the length declares', () => {
      const d = new FrameDecoder({ frameBytesMax: 1024, refusedHeadBytes: 8 });
      expect(d.push(prefixed(0xfffffff0, Buffer.from('0123')))).toEqual([]);
      expect(d.refused).toBeNull();
      expect(d.bufferedBytes).toBe(4);
      expect(d.push(Buffer.concat([Buffer.from('4567'), Buffer.alloc(1 << 20)]))).toEqual([]);
      expect(d.refused!.head.toString()).toBe('01234567');
      expect(d.bufferedBytes).toBe(0);
    });

    it('still refuses HTTP at once, with its hint: such a peer cannot read an answer', () => {
      const d = new FrameDecoder({ frameBytesMax: 1024, refusedHeadBytes: 8 });
      expect(errorOf(() => d.push(Buffer.from('GET /metrics HTTP/1.1\r\n'))).message).toContain(
        'HTTP request',
      );
      expect(d.refused).toBeNull();
    });

    it('a length of 0 is still malformed, and frames within the limit are untouched', () => {
      const d = new FrameDecoder({ frameBytesMax: 16, refusedHeadBytes: 8 });
      expect(d.push(frame(Buffer.alloc(16, 2)))).toHaveLength(1);
      expect(errorOf(() => d.push(Buffer.from([0, 0, 0, 0]))).code).toBe('MALFORMED_FRAME');
    });
  });

  it('stays failed after an error: the connection must close', () => {
    const d = new FrameDecoder();
    expect(errorOf(() => d.push(Buffer.from([0, 0, 0, 0]))).code).toBe('MALFORMED_FRAME');
    expect(errorOf(() => d.push(frame(Buffer.from('ok')))).code).toBe('MALFORMED_FRAME');
  });
});

describe('FrameDecoder reads in place', () => {
  const KiB = 1024;

  /** Feeds `bytes` the way a socket with connectReading() would: into inPlaceTarget() when there is one. */
  function readLikeSocket(d: FrameDecoder, bytes: Buffer, readBytes: () => number): Buffer[] {
    const shared = Buffer.alloc(64 * KiB);
    const frames: Buffer[] = [];
    let at = 0;
    while (at < bytes.length) {
      const target = d.inPlaceTarget() ?? shared;
      const n = Math.min(target.length, bytes.length - at, readBytes());
      bytes.copy(target, 0, at, at + n);
      at += n;
      frames.push(...d.push(target.subarray(0, n)));
      shared.fill(0xee); // a reused read buffer: nothing may still point into it
    }
    return frames;
  }

  it('offers the rest of a large frame once its length is known, and counts what is read there', () => {
    const d = new FrameDecoder();
    const body = Buffer.alloc(300 * KiB, 7);
    const bytes = frame(body);
    expect(d.inPlaceTarget()).toBeNull();
    expect(d.push(bytes.subarray(0, 1000))).toEqual([]);
    const target = d.inPlaceTarget()!;
    expect(target.length).toBe(body.length - 996);
    bytes.copy(target, 0, 1000);
    const frames = d.push(target);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.equals(body)).toBe(true);
    expect(d.inPlaceTarget()).toBeNull();
  });

  it('with a larger eagerFrameBytes a 4 MiB frame gets its whole buffer at once (the SDK), by default 2 MiB', () => {
    const length = 4 * 1024 * KiB;
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(length);
    const sdk = new FrameDecoder({ eagerFrameBytes: 8 * 1024 * KiB });
    sdk.push(prefix);
    expect(sdk.inPlaceTarget()!.length).toBe(length);
    const broker = new FrameDecoder();
    broker.push(prefix);
    expect(broker.inPlaceTarget()!.length).toBe(EAGER_FRAME_BYTES);
  });

  it('does not offer a small rest: the shared buffer may bring the next frames in the same read', () => {
    const d = new FrameDecoder();
    const bytes = frame(Buffer.alloc(100 * KiB, 1));
    d.push(bytes.subarray(0, 50 * KiB));
    expect(d.inPlaceTarget()).toBeNull();
  });

  it('a view of its own buffer elsewhere than the fill position is copied, not counted', () => {
    const d = new FrameDecoder();
    const body = Buffer.alloc(200 * KiB, 3);
    d.push(frame(body).subarray(0, 4));
    const target = d.inPlaceTarget()!;
    // Bytes that merely sit in the same memory, not where the frame continues: treated as a new chunk.
    const elsewhere = target.subarray(10, 20);
    elsewhere.fill(3);
    d.push(elsewhere);
    expect(d.bufferedBytes).toBe(10);
  });

  it('seeded: frames of every size, read in random pieces in place or through a shared buffer, come out whole', () => {
    const seed = Number(process.env.SEED ?? 20261126);
    console.log(`in-place frame decoding seed ${seed}`);
    const random = mulberry32(seed);
    const bodies = Array.from({ length: 40 }, (_, i) => {
      const sizes = [5, 70 * KiB, 300 * KiB, 1.5 * 1024 * KiB, 3 * 1024 * KiB];
      const size = Math.max(8, Math.floor(sizes[i % sizes.length]! * (0.5 + random())));
      const body = Buffer.allocUnsafe(size);
      for (let j = 0; j < size; j += 512) body[j] = Math.floor(random() * 256);
      body.writeUInt32BE(i, 0);
      return body;
    });
    const d = new FrameDecoder();
    const frames = readLikeSocket(d, Buffer.concat(bodies.map(frame)), () =>
      Math.max(1, Math.floor(random() * 200 * KiB)),
    );
    expect(frames).toHaveLength(bodies.length);
    frames.forEach((f, i) => {
      expect(f.equals(bodies[i]!)).toBe(true);
    });
    expect(d.bufferedBytes).toBe(0);
  });
});
