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
 * Refusing with an answer: with `refusedHeadBytes`, a length over `frameBytesMax` does not fail at once.
 * The decoder reads that many of the frame's first bytes (never the rest: memory stays bounded whatever the
 * length claims), returns the frames completed before it and offers the refused frame through `refused`;
 * then it is failed like after any error. A broker reads the request's correlation id there and tells the
 * client why, instead of closing a connection the client would only open again to resend the same frame.
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
  /**
   * On a length over frameBytesMax, read this many of the frame's first bytes and offer them as `refused`
   * rather than fail at once (default 0: fail at once). At most REFUSED_HEAD_BYTES_MAX.
   */
  refusedHeadBytes?: number;
}

/** A head is a request header's fixed part, not a buffer: reading it must stay cheap. */
export const REFUSED_HEAD_BYTES_MAX = 64;

/** A frame refused as longer than frameBytesMax: its declared length and first bytes, the rest unread. */
export interface RefusedFrame {
  readonly lengthBytes: number;
  readonly frameBytesMax: number;
  /** The frame's first bytes (refusedHeadBytes of them, fewer only when the frame is shorter). */
  readonly head: Buffer;
  /** FRAME_TOO_LARGE, what push() throws from now on. */
  readonly error: StreamBusError;
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
  private readonly refusedHeadBytes: number;
  /** The first bytes of a frame being refused, while they arrive; its declared length. */
  private head: Buffer | null = null;
  private headLength = 0;
  private headFilled = 0;
  private refusedFrame: RefusedFrame | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.frameBytesMax = options.frameBytesMax ?? DEFAULT_FRAME_BYTES_MAX;
    this.eagerFrameBytes = options.eagerFrameBytes ?? EAGER_FRAME_BYTES;
    this.refusedHeadBytes = options.refusedHeadBytes ?? 0;
    if (
      !Number.isInteger(this.refusedHeadBytes) ||
      this.refusedHeadBytes < 0 ||
      this.refusedHeadBytes > REFUSED_HEAD_BYTES_MAX
    ) {
      throw new RangeError(`refusedHeadBytes must be an integer from 0 to ${REFUSED_HEAD_BYTES_MAX}`);
    }
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.prefixFilled + this.filled + this.headFilled;
  }

  /**
   * Set once push() has read the head of a frame over frameBytesMax (with `refusedHeadBytes`): push()
   * returned the frames before it, and throws its error from now on.
   */
  get refused(): RefusedFrame | null {
    return this.refusedFrame;
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
      if (this.head !== null) {
        at = this.readHead(chunk, at);
        // Refused: the bytes after its head belong to a frame nobody will read.
        if (this.refusedFrame !== null) break;
        continue;
      }
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
        if (!this.check(length)) continue;
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

  /** Copies head bytes of a refused frame from `chunk` at `at`; returns the offset after them. */
  private readHead(chunk: Uint8Array, at: number): number {
    const head = this.head!;
    const n = Math.min(head.length - this.headFilled, chunk.length - at);
    head.set(chunk.subarray(at, at + n), this.headFilled);
    this.headFilled += n;
    if (this.headFilled === head.length) {
      this.failure = this.tooLarge(this.headLength);
      this.refusedFrame = {
        lengthBytes: this.headLength,
        frameBytesMax: this.frameBytesMax,
        head,
        error: this.failure,
      };
      this.head = null;
      this.headFilled = 0;
    }
    return at + n;
  }

  /**
   * Whether a frame of `length` is accepted. False when it is being refused with its head read first;
   * throws (and fails the decoder) when it is refused at once.
   */
  private check(length: number): boolean {
    // An HTTP peer cannot read an answer: it is refused at once, with the hint that says what happened.
    if (length > this.frameBytesMax && this.refusedHeadBytes > 0 && !HTTP_PREFIXES.has(length)) {
      this.head = Buffer.alloc(Math.min(this.refusedHeadBytes, length));
      this.headLength = length;
      this.headFilled = 0;
      return false;
    }
    if (length === 0) {
      this.failure = new StreamBusError('MALFORMED_FRAME', {
        operation: 'protocol.frame',
        message: 'frame length 0: a frame carries at least a header',
      });
    } else if (length > this.frameBytesMax) {
      this.failure = this.tooLarge(length);
    }
    if (this.failure) {
      this.frame = null;
      this.filled = 0;
      this.prefixFilled = 0;
      throw this.failure;
    }
    return true;
  }

  private tooLarge(length: number): StreamBusError {
    return new StreamBusError('FRAME_TOO_LARGE', {
      operation: 'protocol.frame',
      message: `frame length ${length} exceeds frameBytesMax ${this.frameBytesMax}${httpHint(length)}`,
      metadata: { lengthBytes: length, frameBytesMax: this.frameBytesMax },
    });
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
