import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';

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

  it('a frame inside one chunk is a view of that chunk (no copy)', () => {
    const chunk = frame(Buffer.from('abc'));
    const [f] = new FrameDecoder().push(chunk);
    expect(f!.buffer).toBe(chunk.buffer);
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

  it('memory held does not grow with a declared length: only received bytes are buffered', () => {
    const d = new FrameDecoder({ frameBytesMax: 0x7fffffff });
    expect(d.push(Buffer.from([0x7f, 0xff, 0xff, 0xf0]))).toEqual([]);
    d.push(Buffer.alloc(1000));
    expect(d.bufferedBytes).toBe(1000);
  });

  it('stays failed after an error: the connection must close', () => {
    const d = new FrameDecoder();
    expect(errorOf(() => d.push(Buffer.from([0, 0, 0, 0]))).code).toBe('MALFORMED_FRAME');
    expect(errorOf(() => d.push(frame(Buffer.from('ok')))).code).toBe('MALFORMED_FRAME');
  });
});
