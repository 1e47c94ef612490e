/**
 * Frame headers.
 *
 *   request frame:   u32 length | u16 apiKey | u16 apiVersion | i32 correlationId | u16 clientIdLength
 *                    | clientId (utf8) | body (msgpack)
 *   response frame:  u32 length | i32 correlationId | u16 errorCode | body (msgpack)
 *
 * `length` counts the bytes after itself. errorCode 0 means the body is the API's response; any other value
 * is a catalogue wire code and the body is a WireError map `{ code, category, message }`.
 * All integers are big-endian. Functions here take frames without the length prefix (what FrameDecoder
 * yields) unless they say otherwise.
 */
import { StreamBusError } from '../errors/index.js';
import { CLIENT_ID_BYTES_MAX } from './limits.js';
import type { RequestHeader } from './messages.js';

/** apiKey + apiVersion + correlationId + clientIdLength. */
export const REQUEST_HEADER_FIXED_BYTES = 10;
export const RESPONSE_HEADER_BYTES = 6;

export interface ResponseHeader {
  correlationId: number;
  errorCode: number;
}

function malformed(message: string): never {
  throw new StreamBusError('MALFORMED_FRAME', { operation: 'protocol.header', message });
}

function checkRequestHeader(header: RequestHeader, clientIdBytes: number): void {
  const { apiKey, apiVersion, correlationId } = header;
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
export function requestHeaderBytes(header: RequestHeader): number {
  return REQUEST_HEADER_FIXED_BYTES + Buffer.byteLength(header.clientId, 'utf8');
}

/** Writes the request header at `offset`; returns the offset after it. */
export function writeRequestHeader(buf: Buffer, offset: number, header: RequestHeader): number {
  const clientIdBytes = Buffer.byteLength(header.clientId, 'utf8');
  checkRequestHeader(header, clientIdBytes);
  buf.writeUInt16BE(header.apiKey, offset);
  buf.writeUInt16BE(header.apiVersion, offset + 2);
  buf.writeInt32BE(header.correlationId, offset + 4);
  buf.writeUInt16BE(clientIdBytes, offset + 8);
  buf.write(header.clientId, offset + REQUEST_HEADER_FIXED_BYTES, clientIdBytes, 'utf8');
  return offset + REQUEST_HEADER_FIXED_BYTES + clientIdBytes;
}

export function encodeRequestHeader(header: RequestHeader): Buffer {
  const buf = Buffer.allocUnsafe(requestHeaderBytes(header));
  writeRequestHeader(buf, 0, header);
  return buf;
}

/** Reads the request header at the start of `frame`; `bodyOffset` is where the body begins. */
export function decodeRequestHeader(frame: Buffer): { header: RequestHeader; bodyOffset: number } {
  if (frame.length < REQUEST_HEADER_FIXED_BYTES) {
    malformed(
      `request frame is ${frame.length} bytes, shorter than the ${REQUEST_HEADER_FIXED_BYTES}-byte header`,
    );
  }
  const clientIdBytes = frame.readUInt16BE(8);
  if (clientIdBytes > CLIENT_ID_BYTES_MAX)
    malformed(`clientId is ${clientIdBytes} bytes, over ${CLIENT_ID_BYTES_MAX}`);
  const bodyOffset = REQUEST_HEADER_FIXED_BYTES + clientIdBytes;
  if (bodyOffset > frame.length)
    malformed(`clientId length ${clientIdBytes} overruns the ${frame.length}-byte frame`);
  return {
    header: {
      apiKey: frame.readUInt16BE(0),
      apiVersion: frame.readUInt16BE(2),
      correlationId: frame.readInt32BE(4),
      clientId: clientIdBytes === 0 ? '' : frame.toString('utf8', REQUEST_HEADER_FIXED_BYTES, bodyOffset),
    },
    bodyOffset,
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
