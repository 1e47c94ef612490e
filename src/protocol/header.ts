/**
 * Frame headers.
 *
 *   request frame:   u32 length | u16 apiKey | u16 apiVersion | i32 correlationId | u16 clientIdLength
 *                    | clientId (utf8) | [u8 traceparentLength | traceparent (ascii)] | body (msgpack)
 *   response frame:  u32 length | i32 correlationId | u16 errorCode | body (msgpack)
 *
 * `length` counts the bytes after itself. errorCode 0 means the body is the API's response; any other value
 * is a catalogue wire code and the body is a WireError map `{ code, category, message [, limitBytes] }`
 * (limitBytes: the limit a request refused for its size broke, e.g. FRAME_TOO_LARGE's frame_bytes_max; a
 * client that does not know the key ignores it).
 *
 * Trace context: the high bit of apiVersion (TRACE_CONTEXT_FLAG) says the optional W3C `traceparent`
 * follows the client id. API versions stay below 0x8000, so a request without trace context is byte for
 * byte the original format; a client only sets the bit while a sampled span is active. (A broker from
 * before this extension answers such a request UNSUPPORTED_VERSION instead of misreading it.)
 * All integers are big-endian. Functions here take frames without the length prefix (what FrameDecoder
 * yields) unless they say otherwise.
 */
import { StreamBusError } from '../errors/index.js';
import { CLIENT_ID_BYTES_MAX } from './limits.js';
import type { RequestHeader } from './messages.js';

/** apiKey + apiVersion + correlationId + clientIdLength. */
export const REQUEST_HEADER_FIXED_BYTES = 10;
/** apiKey + apiVersion + correlationId: all a broker reads of a frame it refuses as too long. */
export const REQUEST_IDS_BYTES = 8;
export const RESPONSE_HEADER_BYTES = 6;
/** Set in the wire apiVersion when a traceparent follows the client id. */
export const TRACE_CONTEXT_FLAG = 0x8000;
/** A W3C traceparent (version 00) is 55 characters; later versions may append fields. */
export const TRACEPARENT_BYTES_MAX = 255;

/** A request header as decoded, with the optional trace context of the request. */
export interface TracedRequestHeader extends RequestHeader {
  /** W3C `traceparent` of the client's span; absent when the client was not tracing. */
  traceparent?: string;
}

export interface ResponseHeader {
  correlationId: number;
  errorCode: number;
}

function malformed(message: string): never {
  throw new StreamBusError('MALFORMED_FRAME', { operation: 'protocol.header', message });
}

function checkRequestHeader(header: TracedRequestHeader, clientIdBytes: number): void {
  const { apiKey, apiVersion, correlationId } = header;
  if (header.traceparent !== undefined) {
    if (apiVersion >= TRACE_CONTEXT_FLAG)
      malformed(`apiVersion ${apiVersion} leaves no room for trace context`);
    if (header.traceparent.length > TRACEPARENT_BYTES_MAX || !/^[\x20-\x7e]*$/.test(header.traceparent))
      malformed(`traceparent must be printable ascii of at most ${TRACEPARENT_BYTES_MAX} bytes`);
  }
  if (!Number.isInteger(apiKey) || apiKey < 0 || apiKey > 0xffff) malformed(`apiKey ${apiKey} is not a u16`);
  if (!Number.isInteger(apiVersion) || apiVersion < 0 || apiVersion > 0xffff) {
    malformed(`apiVersion ${apiVersion} is not a u16`);
  }
  if (!Number.isInteger(correlationId) || correlationId < -0x80000000 || correlationId > 0x7fffffff) {
    malformed(`correlationId ${correlationId} is not an int32`);
  }
  if (clientIdBytes > CLIENT_ID_BYTES_MAX)
    malformed(`clientId is ${clientIdBytes} bytes, over ${CLIENT_ID_BYTES_MAX}`);
}

/** Bytes the request header takes (without the length prefix). */
export function requestHeaderBytes(header: TracedRequestHeader): number {
  const traceBytes = header.traceparent === undefined ? 0 : 1 + header.traceparent.length;
  return REQUEST_HEADER_FIXED_BYTES + Buffer.byteLength(header.clientId, 'utf8') + traceBytes;
}

/** Writes the request header at `offset`; returns the offset after it. */
export function writeRequestHeader(buf: Buffer, offset: number, header: TracedRequestHeader): number {
  const clientIdBytes = Buffer.byteLength(header.clientId, 'utf8');
  checkRequestHeader(header, clientIdBytes);
  const traced = header.traceparent !== undefined;
  buf.writeUInt16BE(header.apiKey, offset);
  buf.writeUInt16BE(traced ? header.apiVersion | TRACE_CONTEXT_FLAG : header.apiVersion, offset + 2);
  buf.writeInt32BE(header.correlationId, offset + 4);
  buf.writeUInt16BE(clientIdBytes, offset + 8);
  buf.write(header.clientId, offset + REQUEST_HEADER_FIXED_BYTES, clientIdBytes, 'utf8');
  let end = offset + REQUEST_HEADER_FIXED_BYTES + clientIdBytes;
  if (header.traceparent !== undefined) {
    buf.writeUInt8(header.traceparent.length, end);
    end += 1 + buf.write(header.traceparent, end + 1, header.traceparent.length, 'latin1');
  }
  return end;
}

export function encodeRequestHeader(header: TracedRequestHeader): Buffer {
  const buf = Buffer.allocUnsafe(requestHeaderBytes(header));
  writeRequestHeader(buf, 0, header);
  return buf;
}

/** Reads the request header at the start of `frame`; `bodyOffset` is where the body begins. */
export function decodeRequestHeader(frame: Buffer): { header: TracedRequestHeader; bodyOffset: number } {
  if (frame.length < REQUEST_HEADER_FIXED_BYTES) {
    malformed(
      `request frame is ${frame.length} bytes, shorter than the ${REQUEST_HEADER_FIXED_BYTES}-byte header`,
    );
  }
  const clientIdBytes = frame.readUInt16BE(8);
  if (clientIdBytes > CLIENT_ID_BYTES_MAX)
    malformed(`clientId is ${clientIdBytes} bytes, over ${CLIENT_ID_BYTES_MAX}`);
  const clientIdEnd = REQUEST_HEADER_FIXED_BYTES + clientIdBytes;
  if (clientIdEnd > frame.length)
    malformed(`clientId length ${clientIdBytes} overruns the ${frame.length}-byte frame`);
  const wireVersion = frame.readUInt16BE(2);
  const header: TracedRequestHeader = {
    apiKey: frame.readUInt16BE(0),
    apiVersion: wireVersion & ~TRACE_CONTEXT_FLAG,
    correlationId: frame.readInt32BE(4),
    clientId: clientIdBytes === 0 ? '' : frame.toString('utf8', REQUEST_HEADER_FIXED_BYTES, clientIdEnd),
  };
  if ((wireVersion & TRACE_CONTEXT_FLAG) === 0) return { header, bodyOffset: clientIdEnd };
  if (clientIdEnd >= frame.length) malformed('trace context flag set but the frame ends after the clientId');
  const traceBytes = frame.readUInt8(clientIdEnd);
  const bodyOffset = clientIdEnd + 1 + traceBytes;
  if (bodyOffset > frame.length)
    malformed(`traceparent length ${traceBytes} overruns the ${frame.length}-byte frame`);
  header.traceparent = frame.toString('latin1', clientIdEnd + 1, bodyOffset);
  return { header, bodyOffset };
}

/**
 * The api key, version (trace flag cleared) and correlation id at the start of a request frame, from its
 * first REQUEST_IDS_BYTES: enough to answer a request whose body is never read (a frame over the limit).
 */
export function decodeRequestIds(head: Buffer): Omit<RequestHeader, 'clientId'> {
  if (head.length < REQUEST_IDS_BYTES) {
    malformed(`request frame is ${head.length} bytes, shorter than the api key, version and correlation id`);
  }
  return {
    apiKey: head.readUInt16BE(0),
    apiVersion: head.readUInt16BE(2) & ~TRACE_CONTEXT_FLAG,
    correlationId: head.readInt32BE(4),
  };
}

export function writeResponseHeader(
  buf: Buffer,
  offset: number,
  correlationId: number,
  errorCode: number,
): number {
  if (!Number.isInteger(correlationId) || correlationId < -0x80000000 || correlationId > 0x7fffffff) {
    malformed(`correlationId ${correlationId} is not an int32`);
  }
  if (!Number.isInteger(errorCode) || errorCode < 0 || errorCode > 0xffff)
    malformed(`errorCode ${errorCode} is not a u16`);
  buf.writeInt32BE(correlationId, offset);
  buf.writeUInt16BE(errorCode, offset + 4);
  return offset + RESPONSE_HEADER_BYTES;
}

export function encodeResponseHeader(correlationId: number, errorCode: number): Buffer {
  const buf = Buffer.allocUnsafe(RESPONSE_HEADER_BYTES);
  writeResponseHeader(buf, 0, correlationId, errorCode);
  return buf;
}

export function decodeResponseHeader(frame: Buffer): ResponseHeader {
  if (frame.length < RESPONSE_HEADER_BYTES) {
    malformed(
      `response frame is ${frame.length} bytes, shorter than the ${RESPONSE_HEADER_BYTES}-byte header`,
    );
  }
  return { correlationId: frame.readInt32BE(0), errorCode: frame.readUInt16BE(4) };
}
