/**
 * Raft transport framing (pure: bytes in, frames out):
 *
 *   frame = u32 length (big-endian, counts kind + payload) | u8 kind | payload
 *   kind 1 HELLO     payload = u32 sender node id (first frame on a dialed connection)
 *   kind 2 MESSAGES  payload = msgpackr envelopes (see ../codec.ts)
 *
 * Frames are cut from the byte stream by the protocol's FrameDecoder (the same u32 length prefix), which checks
 * the declared length against `maxFrameBytes` before allocating for it.
 */
import { type Envelope, encodeEnvelopeChunks, encodeEnvelopes, hasLargeEntryData } from '../codec.js';

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

/**
 * A frame's kind and payload, from the bytes after its length prefix (as the protocol's FrameDecoder returns
 * them, which also enforces the size limit). Throws FrameError on an unknown kind.
 */
export function parseFrame(body: Buffer): Frame {
  const kind = body.readUInt8(0);
  if (kind !== FRAME_HELLO && kind !== FRAME_MESSAGES) throw new FrameError(`unknown frame kind ${kind}`);
  return { kind, payload: body.subarray(1) };
}

/**
 * MESSAGES frames for a batch (each as the buffers to write one after the other): one frame, split in halves
 * while it would exceed `maxFrameBytes`. Large entry data is referenced, not copied (see
 * encodeEnvelopeChunks). A single envelope too large for any frame is left out and reported.
 */
export function messageFrames(
  batch: readonly Envelope[],
  maxFrameBytes: number,
  onOversize: (payloadBytes: number) => void,
): Buffer[][] {
  const chunks = hasLargeEntryData(batch)
    ? encodeEnvelopeChunks(batch, FRAME_HEADER_BYTES)
    : [encodeEnvelopes(batch, FRAME_HEADER_BYTES)];
  let payloadBytes = -FRAME_HEADER_BYTES;
  for (const c of chunks) payloadBytes += c.byteLength;
  if (payloadBytes + 1 <= maxFrameBytes) {
    frameInPlace(FRAME_MESSAGES, chunks[0]!, payloadBytes);
    return [chunks];
  }
  if (batch.length === 1) {
    onOversize(payloadBytes);
    return [];
  }
  const mid = Math.floor(batch.length / 2);
  return [
    ...messageFrames(batch.slice(0, mid), maxFrameBytes, onOversize),
    ...messageFrames(batch.slice(mid), maxFrameBytes, onOversize),
  ];
}
