/**
 * Bytes in, frames out. Chunks are kept in a list and only copied once, when a frame spans several of them;
 * a frame inside one chunk is returned as a zero-copy view. The declared length is checked against
 * `frameBytesMax` as soon as its 4 bytes arrive, before anything is allocated for it, so memory never grows
 * with what a peer claims. An error rejects the whole chunk it was found in (frames before it in that chunk
 * are not returned) and the decoder stays failed: the connection must close.
 */
import { StreamBusError } from '../errors/index.js';
import { DEFAULT_FRAME_BYTES_MAX, FRAME_LENGTH_BYTES } from './limits.js';

const EMPTY = Buffer.alloc(0);

export interface FrameDecoderOptions {
  /** Largest frame accepted, counting the bytes after the length prefix. */
  frameBytesMax?: number;
}

export class FrameDecoder {
  readonly frameBytesMax: number;
  private readonly chunks: Buffer[] = [];
  /** Index of the first unconsumed chunk; consumed ones are dropped in bulk so shifting stays O(1) amortised. */
  private first = 0;
  /** Read position inside chunks[first]. */
  private head = 0;
  /** Unconsumed bytes across all chunks. */
  private buffered = 0;
  /** Length of the frame being assembled, or -1 until its prefix is complete. */
  private pending = -1;
  private failure: StreamBusError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.frameBytesMax = options.frameBytesMax ?? DEFAULT_FRAME_BYTES_MAX;
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Feeds a chunk; returns every frame it completes (bodies after the length prefix), in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.failure) throw this.failure;
    const frames: Buffer[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.pending < 0) {
        if (this.buffered < FRAME_LENGTH_BYTES) break;
        const length = this.readLength();
        this.check(length);
        this.pending = length;
      }
      if (this.buffered < this.pending) break;
      frames.push(this.take(this.pending));
      this.pending = -1;
    }
    return frames;
  }

  private check(length: number): void {
    if (length === 0) {
      this.failure = new StreamBusError('MALFORMED_FRAME', {
        operation: 'protocol.frame',
        message: 'frame length 0: a frame carries at least a header',
      });
    } else if (length > this.frameBytesMax) {
      this.failure = new StreamBusError('FRAME_TOO_LARGE', {
        operation: 'protocol.frame',
        message: `frame length ${length} exceeds frameBytesMax ${this.frameBytesMax}`,
        metadata: { lengthBytes: length, frameBytesMax: this.frameBytesMax },
      });
    }
    if (this.failure) {
      this.chunks.length = 0;
      this.first = 0;
      this.buffered = 0;
      throw this.failure;
    }
  }

  private readLength(): number {
    const first = this.chunks[this.first]!;
    if (first.length - this.head >= FRAME_LENGTH_BYTES) {
      const length = first.readUInt32BE(this.head);
      this.consume(FRAME_LENGTH_BYTES);
      return length;
    }
    const prefix = this.take(FRAME_LENGTH_BYTES);
    return prefix.readUInt32BE(0);
  }

  /** Removes and returns the next `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[this.first]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const chunk = this.chunks[this.first]!;
      const available = chunk.length - this.head;
      const copy = Math.min(available, n - written);
      chunk.copy(out, written, this.head, this.head + copy);
      written += copy;
      this.consume(copy);
    }
    return out;
  }

  private consume(n: number): void {
    this.head += n;
    this.buffered -= n;
    if (this.head === this.chunks[this.first]!.length) {
      this.chunks[this.first] = EMPTY;
      this.first++;
      this.head = 0;
      if (this.first === this.chunks.length) {
        this.chunks.length = 0;
        this.first = 0;
      } else if (this.first >= 64 && this.first * 2 >= this.chunks.length) {
        this.chunks.splice(0, this.first);
        this.first = 0;
      }
    }
  }
}
