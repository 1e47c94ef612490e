/**
 * The codec's entry point: frames in and out, bodies through the API registry. Pure: no sockets, no clocks.
 *
 * Ways to build a frame:
 * - `encodeRequestChunks` / `encodeResponseChunks` (the connections' path) pack the body with the length
 *   prefix and header reserved in front, and leave large record batches out of the copy: the frame is a few
 *   chunks written with one writev; `encodeRequest` / `encodeResponse` join them into one buffer;
 * - `encodeRequestFrame` / `encodeResponseFrame` wrap an already packed body (one allocation plus a copy).
 */
import { codeFromWire, type ErrorCategory, StreamBusError } from '../errors/index.js';
import { codecFor } from './apis/index.js';
import { packChunksWithReserve, RESERVE_BYTES_MAX, unpackBody } from './body.js';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  RESPONSE_HEADER_BYTES,
  requestHeaderBytes,
  writeRequestHeader,
  writeResponseHeader,
} from './header.js';
import { FRAME_LENGTH_BYTES } from './limits.js';
import type { ApiKey, RequestHeader, RequestOf, ResponseOf, WireError } from './messages.js';
import { asWireError } from './narrow.js';

export {
  API_REGISTRY,
  type ApiCodec,
  type ApiEntry,
  apiEntry,
  codecFor,
  isApiKey,
  supportedApis,
} from './apis/index.js';
export { packBody, unpackBody } from './body.js';
export { FrameDecoder, type FrameDecoderOptions, type RefusedFrame } from './frame-decoder.js';
export {
  decodeRequestHeader,
  decodeRequestIds,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  REQUEST_IDS_BYTES,
  type ResponseHeader,
} from './header.js';
export * from './idempotence.js';
export * from './limits.js';
export * from './messages.js';
export { wireErrorOf } from './narrow.js';

/** Wraps a packed body in a request frame (length prefix included). */
export function encodeRequestFrame(header: RequestHeader, body: Buffer): Buffer {
  const headerBytes = requestHeaderBytes(header);
  const frame = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + headerBytes + body.length);
  frame.writeUInt32BE(frame.length - FRAME_LENGTH_BYTES, 0);
  writeRequestHeader(frame, FRAME_LENGTH_BYTES, header);
  body.copy(frame, FRAME_LENGTH_BYTES + headerBytes);
  return frame;
}

/** Wraps a packed body in a response frame (length prefix included). */
export function encodeResponseFrame(correlationId: number, errorCode: number, body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + RESPONSE_HEADER_BYTES + body.length);
  frame.writeUInt32BE(frame.length - FRAME_LENGTH_BYTES, 0);
  writeResponseHeader(frame, FRAME_LENGTH_BYTES, correlationId, errorCode);
  body.copy(frame, FRAME_LENGTH_BYTES + RESPONSE_HEADER_BYTES);
  return frame;
}

/** Splits a frame from FrameDecoder (no length prefix) into header and body (a view, not a copy). */
export function decodeRequestFrame(frame: Buffer): { header: RequestHeader; body: Buffer } {
  const { header, bodyOffset } = decodeRequestHeader(frame);
  return { header, body: frame.subarray(bodyOffset) };
}

export function decodeResponseFrame(frame: Buffer): {
  correlationId: number;
  errorCode: number;
  body: Buffer;
} {
  const { correlationId, errorCode } = decodeResponseHeader(frame);
  return { correlationId, errorCode, body: frame.subarray(RESPONSE_HEADER_BYTES) };
}

/**
 * Packs `wire` with `prefixBytes` of space in front of the first chunk (in msgpackr's own allocation when it
 * can reserve that much). Large byte arrays stay chunks of their own (see packChunksWithReserve).
 */
function packWithPrefix(wire: unknown, prefixBytes: number): Buffer[] {
  if (prefixBytes <= RESERVE_BYTES_MAX) return packChunksWithReserve(wire, prefixBytes);
  return [Buffer.allocUnsafe(prefixBytes), ...packChunksWithReserve(wire, 0)];
}

function byteLength(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** One buffer for callers that want the frame whole (tests, small frames). */
function joined(chunks: Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * A whole request frame for an API body, validated against the API's version, as chunks to write in order
 * (large record batches are not copied).
 */
export function encodeRequestChunks<K extends ApiKey>(
  header: RequestHeader & { apiKey: K },
  body: RequestOf<K>,
): Buffer[] {
  const wire = codecFor(header.apiKey, header.apiVersion).encodeRequest(body);
  const chunks = packWithPrefix(wire, FRAME_LENGTH_BYTES + requestHeaderBytes(header));
  const first = chunks[0]!;
  first.writeUInt32BE(byteLength(chunks) - FRAME_LENGTH_BYTES, 0);
  writeRequestHeader(first, FRAME_LENGTH_BYTES, header);
  return chunks;
}

export function encodeRequest<K extends ApiKey>(
  header: RequestHeader & { apiKey: K },
  body: RequestOf<K>,
): Buffer {
  return joined(encodeRequestChunks(header, body));
}

/** A whole success response frame (errorCode 0) for an API body, as chunks to write in order. */
export function encodeResponseChunks<K extends ApiKey>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ResponseOf<K>,
): Buffer[] {
  const wire = codecFor(apiKey, apiVersion).encodeResponse(body);
  const chunks = packWithPrefix(wire, FRAME_LENGTH_BYTES + RESPONSE_HEADER_BYTES);
  const first = chunks[0]!;
  first.writeUInt32BE(byteLength(chunks) - FRAME_LENGTH_BYTES, 0);
  writeResponseHeader(first, FRAME_LENGTH_BYTES, correlationId, 0);
  return chunks;
}

export function encodeResponse<K extends ApiKey>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ResponseOf<K>,
): Buffer {
  return joined(encodeResponseChunks(apiKey, apiVersion, correlationId, body));
}

export function toWireError(err: StreamBusError): WireError {
  const wire: WireError = { code: err.wireCode, category: err.category, message: err.message };
  const limitBytes = err.metadata.limitBytes;
  if (typeof limitBytes === 'number') wire.limitBytes = limitBytes;
  return wire;
}

/**
 * A StreamBusError for an error that came over the wire. A code this client does not know (a newer broker)
 * becomes UNKNOWN_SERVER_ERROR but keeps the broker's category, so retry decisions still work.
 */
export function fromWireError(wire: WireError, operation?: string): StreamBusError {
  const code = codeFromWire(wire.code);
  const metadata: Record<string, unknown> = { wireCode: wire.code, wireCategory: wire.category };
  if (wire.limitBytes !== undefined) metadata.limitBytes = wire.limitBytes;
  const err = new StreamBusError(code, {
    message: wire.message,
    metadata,
    ...(operation === undefined ? {} : { operation }),
  });
  if (err.wireCode !== wire.code) (err as { category: ErrorCategory }).category = wire.category;
  return err;
}

/**
 * A whole error response frame: the request failed as a whole, the body is the WireError (with
 * `limitBytes` only when the error has one, so other error frames keep their bytes).
 */
export function encodeErrorResponse(correlationId: number, error: StreamBusError | WireError): Buffer {
  const wire = error instanceof StreamBusError ? toWireError(error) : error;
  const body: WireError = { code: wire.code, category: wire.category, message: wire.message };
  if (wire.limitBytes !== undefined) body.limitBytes = wire.limitBytes;
  const frame = joined(packWithPrefix(body, FRAME_LENGTH_BYTES + RESPONSE_HEADER_BYTES));
  frame.writeUInt32BE(frame.length - FRAME_LENGTH_BYTES, 0);
  writeResponseHeader(frame, FRAME_LENGTH_BYTES, correlationId, wire.code);
  return frame;
}

/** Unpacks and validates a request body: UNKNOWN_API, UNSUPPORTED_VERSION or INVALID_REQUEST on failure. */
export function decodeRequestBody<K extends ApiKey>(
  apiKey: K,
  apiVersion: number,
  body: Buffer,
): RequestOf<K>;
export function decodeRequestBody(apiKey: number, apiVersion: number, body: Buffer): RequestOf<ApiKey>;
export function decodeRequestBody(apiKey: number, apiVersion: number, body: Buffer): RequestOf<ApiKey> {
  const codec = codecFor(apiKey, apiVersion);
  return codec.decodeRequest(unpackBody(body, 'request', 'INVALID_REQUEST'));
}

/**
 * Unpacks and validates a response body. A nonzero errorCode throws the broker's error (fromWireError);
 * a body that does not validate throws MALFORMED_FRAME.
 */
export function decodeResponseBody<K extends ApiKey>(
  apiKey: K,
  apiVersion: number,
  errorCode: number,
  body: Buffer,
): ResponseOf<K> {
  const codec = codecFor(apiKey, apiVersion);
  const value = unpackBody(body, 'response', 'MALFORMED_FRAME');
  let wire: WireError | null = null;
  try {
    if (errorCode !== 0) wire = asWireError(value, 'ErrorResponse');
    else return codec.decodeResponse(value);
  } catch (err) {
    if (err instanceof StreamBusError && err.code === 'INVALID_REQUEST') {
      throw new StreamBusError('MALFORMED_FRAME', {
        operation: 'protocol.decode',
        message: err.message,
        cause: err,
      });
    }
    throw err;
  }
  // The broker's own error (even INVALID_REQUEST: "your request was invalid") passes through unchanged;
  // only a body that fails to decode is MALFORMED_FRAME.
  throw fromWireError(wire.code === errorCode ? wire : { ...wire, code: errorCode });
}
