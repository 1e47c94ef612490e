/**
 * Raft transport framing (pure: bytes in, frames out):
 *
 *   frame = u32 length (big-endian, counts kind + payload) | u8 kind | payload
 *   kind 1 HELLO     payload = u32 sender node id (first frame on a dialed connection)
 *   kind 2 MESSAGES  payload = msgpackr envelopes (see ../codec.ts)
 *
 * The declared length is checked against `maxFrameBytes` before any buffer is allocated for it.
 */
export const FRAME_HELLO = 1;
export const FRAME_MESSAGES = 2;

export interface Frame {
  readonly kind: number;
  readonly payload: Uint8Array;
}

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** Bytes before a frame's payload: u32 length and u8 kind. */
export const FRAME_HEADER_BYTES = 5;

export function encodeFrame(kind: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  out.set(payload, FRAME_HEADER_BYTES);
  return frameInPlace(kind, out);
}

/**
 * Turns `buf` (FRAME_HEADER_BYTES of space, then the payload) into a frame by writing the header in place:
 * replicated entries are megabytes, and copying each into a fresh frame buffer was a visible share of a
 * leader's CPU. `payloadBytes` is larger than what follows in `buf` when the rest of the payload is sent
 * in further buffers right after it.
 */
export function frameInPlace(
  kind: number,
  buf: Buffer,
  payloadBytes = buf.byteLength - FRAME_HEADER_BYTES,
): Buffer {
  buf.writeUInt32BE(payloadBytes + 1, 0);
  buf.writeUInt8(kind, 4);
  return buf;
}

export function helloPayload(nodeId: number): Uint8Array {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(nodeId, 0);
  return b;
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds bytes; returns the complete frames. Throws FrameError on a frame that can never be valid. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(5);
      const length = head.readUInt32BE(0);
      if (length < 1 || length > this.maxFrameBytes) {
        throw new FrameError(`frame length ${length} outside [1, ${this.maxFrameBytes}]`);
      }
      if (this.buffered < 4 + length) break;
      const whole = this.take(4 + length);
      const kind = whole.readUInt8(4);
      if (kind !== FRAME_HELLO && kind !== FRAME_MESSAGES) throw new FrameError(`unknown frame kind ${kind}`);
      frames.push({ kind, payload: whole.subarray(5) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.byteLength >= n || this.chunks.length === 1) return this.chunks[0]!;
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged;
  }

  private take(n: number): Buffer {
    const merged = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = merged.subarray(0, n);
    const rest = merged.subarray(n);
    this.chunks = rest.byteLength > 0 ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}
