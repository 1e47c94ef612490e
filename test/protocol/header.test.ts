import { describe, expect, it } from 'vitest';
import {
  decodeRequestHeader,
  decodeRequestIds,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from '../../src/protocol/header.js';
import { CLIENT_ID_BYTES_MAX } from '../../src/protocol/limits.js';

describe('request header', () => {
  it('round-trips api key, version, correlation id and a utf8 client id', () => {
    const header = { apiKey: 3, apiVersion: 0, correlationId: -5, clientId: 'café-1' };
    const buf = Buffer.concat([encodeRequestHeader(header), Buffer.from([0x80])]);
    const { header: decoded, bodyOffset } = decodeRequestHeader(buf);
    expect(decoded).toEqual(header);
    expect(buf.subarray(bodyOffset)).toEqual(Buffer.from([0x80]));
  });

  it('is MALFORMED_FRAME when truncated before the fixed part or inside the client id', () => {
    const buf = encodeRequestHeader({ apiKey: 1, apiVersion: 0, correlationId: 1, clientId: 'abcdef' });
    for (const cut of [0, 5, 9, 10, buf.length - 1]) {
      expect(() => decodeRequestHeader(buf.subarray(0, cut))).toThrowError(
        expect.objectContaining({ code: 'MALFORMED_FRAME' }),
      );
    }
  });

  it('reads api key, version and correlation id from the first 8 bytes alone (a refused frame), trace flag cleared', () => {
    const buf = encodeRequestHeader({
      apiKey: 0,
      apiVersion: 0,
      correlationId: -77,
      clientId: 'c',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(decodeRequestIds(buf.subarray(0, 8))).toEqual({ apiKey: 0, apiVersion: 0, correlationId: -77 });
    expect(() => decodeRequestIds(buf.subarray(0, 7))).toThrowError(
      expect.objectContaining({ code: 'MALFORMED_FRAME' }),
    );
  });

  it('refuses client ids longer than CLIENT_ID_BYTES_MAX on both sides', () => {
    const long = 'x'.repeat(CLIENT_ID_BYTES_MAX + 1);
    expect(() =>
      encodeRequestHeader({ apiKey: 1, apiVersion: 0, correlationId: 1, clientId: long }),
    ).toThrowError(expect.objectContaining({ code: 'MALFORMED_FRAME' }));
    const buf = Buffer.alloc(10 + long.length);
    buf.writeUInt16BE(long.length, 8);
    expect(() => decodeRequestHeader(buf)).toThrowError(expect.objectContaining({ code: 'MALFORMED_FRAME' }));
  });

  it('refuses out-of-range header fields when encoding', () => {
    for (const bad of [{ apiKey: 70000 }, { apiVersion: -1 }, { correlationId: 2 ** 31 }]) {
      const header = { apiKey: 1, apiVersion: 0, correlationId: 1, clientId: '', ...bad };
      expect(() => encodeRequestHeader(header)).toThrowError(
        expect.objectContaining({ code: 'MALFORMED_FRAME' }),
      );
    }
  });
});

describe('response header', () => {
  it('round-trips correlation id and error code', () => {
    expect(decodeResponseHeader(encodeResponseHeader(123, 300))).toEqual({
      correlationId: 123,
      errorCode: 300,
    });
  });
  it('is MALFORMED_FRAME when shorter than 6 bytes', () => {
    expect(() => decodeResponseHeader(Buffer.alloc(5))).toThrowError(
      expect.objectContaining({ code: 'MALFORMED_FRAME' }),
    );
  });
});
