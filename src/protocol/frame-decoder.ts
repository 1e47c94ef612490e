/**
 * Bytes in, frames out. Every frame is copied into a buffer of its own, so the caller may reuse the chunk it
 * pushed as soon as push() returns: sockets read into one reusable buffer (see socket-io.ts) instead of a
 * fresh 64 KiB allocation per read, which was most of a consumer's garbage-collection work. Each byte is
 * copied once; a frame never pins the read buffer it arrived in.
 *
 * The declared length is checked against `frameBytesMax` as soon as its 4 bytes arrive. A frame up to
 * EAGER_FRAME_BYTES gets its whole buffer then (Kafka's brokers do the same for any size); a larger one grows
 * by doubling as bytes arrive, so memory stays within twice what a peer actually sent, whatever it claims.
 * An error rejects the whole chunk it was found in (frames before it in that chunk are not returned) and the
 * decoder stays failed: the connection must close.
 *
 * Reads in place: while a large frame is being assembled, `inPlaceTarget()` offers the rest of its buffer so
 * a socket can read straight into it (socket-io.ts), and push() recognises such a chunk and only counts it.
 * A 1 MiB fetch answer then costs no copy at all in user space.
 */
import { StreamBusError } from '../errors/index.js';
import { DEFAULT_FRAME_BYTES_MAX, FRAME_LENGTH_BYTES } from './limits.js';

/** Frames up to this size are allocated whole when their length arrives: a 1 MiB batch or fetch answer. */
export const EAGER_FRAME_BYTES = 2 * 1024 * 1024;

/**
 * Reads in place only when at least this much of the frame is missing: a shorter rest is read into the shared
 * buffer, where one read may also bring the frames after it.
 */
const IN_PLACE_BYTES_MIN = 64 * 1024;

export interface FrameDecoderOptions {
  /** Largest frame accepted, counting the bytes after the length prefix. */
  frameBytesMax?: number;
  /**
   * Frames up to this size get their whole buffer when their length arrives (default EAGER_FRAME_BYTES).
   * A broker keeps the default against clients that declare lengths they never send; the SDK, which asked
   * for its answers' sizes, takes a larger one so a 4 MiB fetch answer is never copied to grow.
   */
  eagerFrameBytes?: number;
}

export class FrameDecoder {
  readonly frameBytesMax: number;
  private readonly eagerFrameBytes: number;
  /** A length prefix split across chunks. */
  private readonly prefix = Buffer.alloc(FRAME_LENGTH_BYTES);
  private prefixFilled = 0;
  /** The frame being assembled (its capacity may still be below `frameLength`), or null between frames. */
  private frame: Buffer | null = null;
  private frameLength = 0;
  private filled = 0;
  private failure: StreamBusError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.frameBytesMax = options.frameBytesMax ?? DEFAULT_FRAME_BYTES_MAX;
    this.eagerFrameBytes = options.eagerFrameBytes ?? EAGER_FRAME_BYTES;
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.prefixFilled + this.filled;
  }

  /**
   * Where the next bytes may be read directly: the unfilled part of the frame buffer, up to the frame's end,
   * or null when no large frame is missing bytes (read into a shared buffer and push() a view of it).
   */
  inPlaceTarget(): Buffer | null {
    if (this.frame === null || this.failure !== null) return null;
    const end = Math.min(this.frame.length, this.frameLength);
    if (end - this.filled < IN_PLACE_BYTES_MIN) return null;
    return this.frame.subarray(this.filled, end);
  }

  /**
   * Feeds a chunk (copied: it may be reused after the call); returns every frame it completes, in order. A
   * chunk read into inPlaceTarget() is already where it belongs and is only counted.
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    const frames: Buffer[] = [];
    if (this.isInPlace(chunk)) {
      this.filled += chunk.length;
      if (this.filled === this.frameLength) {
        frames.push(this.frame!);
        this.frame = null;
        this.filled = 0;
      }
      return frames;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.frame === null) {
        let length: number;
        if (this.prefixFilled === 0 && chunk.length - at >= FRAME_LENGTH_BYTES) {
          length =
            ((chunk[at]! << 24) | (chunk[at + 1]! << 16) | (chunk[at + 2]! << 8) | chunk[at + 3]!) >>> 0;
          at += FRAME_LENGTH_BYTES;
        } else {
          const n = Math.min(FRAME_LENGTH_BYTES - this.prefixFilled, chunk.length - at);
          this.prefix.set(chunk.subarray(at, at + n), this.prefixFilled);
          this.prefixFilled += n;
          at += n;
          if (this.prefixFilled < FRAME_LENGTH_BYTES) break;
          this.prefixFilled = 0;
          length = this.prefix.readUInt32BE(0);
        }
        this.check(length);
        this.frameLength = length;
        this.filled = 0;
        this.frame = Buffer.allocUnsafe(Math.min(length, this.eagerFrameBytes));
      }
      const n = Math.min(this.frameLength - this.filled, chunk.length - at);
      if (this.filled + n > this.frame.length) this.grow(this.filled + n);
      this.frame.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.frameLength) {
        frames.push(this.frame);
        this.frame = null;
        this.filled = 0;
      }
    }
    return frames;
  }

  private isInPlace(chunk: Uint8Array): boolean {
    const frame = this.frame;
    return (
      frame !== null &&
      chunk.length > 0 &&
      chunk.buffer === frame.buffer &&
      chunk.byteOffset === frame.byteOffset + this.filled &&
      this.filled + chunk.length <= Math.min(frame.length, this.frameLength)
    );
  }

  /** Doubles the frame buffer (at least to `needed`, at most to the frame's length). */
  private grow(needed: number): void {
    const old = this.frame!;
    const next = Buffer.allocUnsafe(Math.min(this.frameLength, Math.max(needed, old.length * 2)));
    old.copy(next, 0, 0, this.filled);
    this.frame = next;
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
        message: `frame length ${length} exceeds frameBytesMax ${this.frameBytesMax}${httpHint(length)}`,
        metadata: { lengthBytes: length, frameBytesMax: this.frameBytesMax },
      });
    }
    if (this.failure) {
      this.frame = null;
      this.filled = 0;
      this.prefixFilled = 0;
      throw this.failure;
    }
  }
}

/** HTTP's first four bytes, read as a frame length: a client pointed at the ops port, or a browser at 9092. */
const HTTP_PREFIXES = new Map(
  ['HTTP', 'GET ', 'POST', 'PUT ', 'HEAD'].map((text) => [Buffer.from(text).readUInt32BE(0), text]),
);

function httpHint(length: number): string {
  const text = HTTP_PREFIXES.get(length);
  if (text === undefined) return '';
  return text === 'HTTP'
    ? ': the peer answered HTTP (is this the health/metrics port? clients connect to the broker port, 9092 by default)'
    : ': this is an HTTP request (health and metrics are served on the ops port, 8080 by default)';
}
