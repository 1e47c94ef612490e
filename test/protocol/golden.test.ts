/**
 * STYLE.md item 4: the encoded bytes of every API version are pinned. A failure here means the wire format
 * changed: make it a new API version, or (before 1.0, deliberately) regenerate the fixture with
 * `UPDATE_GOLDEN=1 npx vitest run test/protocol/golden.test.ts` and say so in the change.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ApiKey,
  codecFor,
  decodeRequestBody,
  decodeRequestFrame,
  decodeResponseBody,
  decodeResponseFrame,
  encodeErrorResponse,
  encodeRequest,
  encodeRequestChunks,
  encodeRequestFrame,
  encodeResponse,
  encodeResponseChunks,
  encodeResponseFrame,
  FrameDecoder,
  packBody,
} from '../../src/protocol/index.js';
import { LATER_VERSION_SAMPLES, SAMPLE_HEADER, SAMPLES } from './samples.js';

const fixture = (name: string) => new URL(`./fixtures/${name}.hex`, import.meta.url);

function pinned(name: string, bytes: Buffer): Buffer {
  const path = fixture(name);
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(
      path,
      `${bytes
        .toString('hex')
        .replace(/(.{64})/g, '$1\n')
        .trim()}\n`,
    );
  }
  if (!existsSync(path)) throw new Error(`missing fixture ${path.pathname}; run with UPDATE_GOLDEN=1 once`);
  return Buffer.from(readFileSync(path, 'utf8').replace(/\s+/g, ''), 'hex');
}

/** The one frame in `bytes`, through the real frame decoder. */
function onlyFrame(bytes: Buffer): Buffer {
  const frames = new FrameDecoder().push(bytes);
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

describe('golden bytes per API version', () => {
  for (const sample of Object.values(SAMPLES)) {
    const apiKey = sample.apiKey as ApiKey;
    it(`${sample.file} v0 request encodes to the pinned bytes and decodes back`, () => {
      const frame = encodeRequest({ ...SAMPLE_HEADER, apiKey }, sample.request as never);
      const golden = pinned(`${sample.file}-v0-request`, frame);
      expect(frame.toString('hex')).toBe(golden.toString('hex'));
      const wrapped = encodeRequestFrame(
        { ...SAMPLE_HEADER, apiKey },
        packBody(codecFor(apiKey, 0).encodeRequest(sample.request as never)),
      );
      expect(wrapped.toString('hex')).toBe(golden.toString('hex'));
      const { header, body } = decodeRequestFrame(onlyFrame(golden));
      expect(header).toEqual({ ...SAMPLE_HEADER, apiKey });
      expect(decodeRequestBody(apiKey, 0, body)).toEqual(sample.request);
    });
    it(`${sample.file} v0 response encodes to the pinned bytes and decodes back`, () => {
      const frame = encodeResponse(apiKey, 0, 7, sample.response as never);
      const golden = pinned(`${sample.file}-v0-response`, frame);
      expect(frame.toString('hex')).toBe(golden.toString('hex'));
      const wrapped = encodeResponseFrame(
        7,
        0,
        packBody(codecFor(apiKey, 0).encodeResponse(sample.response as never)),
      );
      expect(wrapped.toString('hex')).toBe(golden.toString('hex'));
      const { correlationId, errorCode, body } = decodeResponseFrame(onlyFrame(golden));
      expect({ correlationId, errorCode }).toEqual({ correlationId: 7, errorCode: 0 });
      expect(decodeResponseBody(apiKey, 0, errorCode, body)).toEqual(sample.response);
    });
  }
});

describe('golden bytes of the versions after v0', () => {
  for (const sample of LATER_VERSION_SAMPLES) {
    const { apiKey, version, file } = sample;
    it(`${file} v${version} request and response encode to the pinned bytes and decode back`, () => {
      const header = { ...SAMPLE_HEADER, apiKey, apiVersion: version };
      const request = encodeRequest(header, sample.request as never);
      const requestGolden = pinned(`${file}-v${version}-request`, request);
      expect(request.toString('hex')).toBe(requestGolden.toString('hex'));
      const decoded = decodeRequestFrame(onlyFrame(requestGolden));
      expect(decoded.header).toEqual(header);
      expect(decodeRequestBody(apiKey, version, decoded.body)).toEqual(sample.request);
      const response = encodeResponse(apiKey, version, 7, sample.response as never);
      const golden = pinned(`${file}-v${version}-response`, response);
      expect(response.toString('hex')).toBe(golden.toString('hex'));
      const { body } = decodeResponseFrame(onlyFrame(golden));
      expect(decodeResponseBody(apiKey, version, 0, body)).toEqual(sample.response);
      // The same answer at v0 leaves out what v0 does not carry.
      const atV0 = decodeResponseFrame(onlyFrame(encodeResponse(apiKey, 0, 7, sample.response as never)));
      expect(decodeResponseBody(apiKey, 0, 0, atV0.body)).toEqual(SAMPLES[apiKey].response);
    });
  }
});

describe('error responses', () => {
  it('a whole-request error frame carries the wire code in the header and the WireError as body', () => {
    const frame = encodeErrorResponse(9, {
      code: 4,
      category: 'invalid_input',
      message: 'unknown api key 99',
    });
    expect(frame.toString('hex')).toBe(pinned('error-response', frame).toString('hex'));
    const { correlationId, errorCode, body } = decodeResponseFrame(onlyFrame(frame));
    expect({ correlationId, errorCode }).toEqual({ correlationId: 9, errorCode: 4 });
    expect(() => decodeResponseBody(4 as ApiKey, 0, errorCode, body)).toThrowError(
      expect.objectContaining({
        code: 'UNKNOWN_API',
        category: 'invalid_input',
        message: 'unknown api key 99',
      }),
    );
  });
  it('a refusal for size carries the limit it broke (limitBytes), which the client keeps in metadata', () => {
    const frame = encodeErrorResponse(11, {
      code: 3,
      category: 'invalid_input',
      message: "request frame of 300000 bytes exceeds the broker's limits.frame_bytes_max of 262144 bytes",
      limitBytes: 262144,
    });
    expect(frame.toString('hex')).toBe(pinned('error-response-limit', frame).toString('hex'));
    const { correlationId, errorCode, body } = decodeResponseFrame(onlyFrame(frame));
    expect({ correlationId, errorCode }).toEqual({ correlationId: 11, errorCode: 3 });
    expect(() => decodeResponseBody(0 as ApiKey, 0, errorCode, body)).toThrowError(
      expect.objectContaining({
        code: 'FRAME_TOO_LARGE',
        metadata: expect.objectContaining({ limitBytes: 262144 }),
      }),
    );
  });
  it('an unknown wire code from a newer broker keeps the broker category so retries still work', () => {
    const frame = encodeErrorResponse(1, { code: 9999, category: 'retriable', message: 'new thing' });
    const { errorCode, body } = decodeResponseFrame(onlyFrame(frame));
    expect(() => decodeResponseBody(3 as ApiKey, 0, errorCode, body)).toThrowError(
      expect.objectContaining({ code: 'UNKNOWN_SERVER_ERROR', category: 'retriable' }),
    );
  });
});

describe('large frames', () => {
  it('a multi-megabyte Produce request is one frame whose header and records survive the round trip', () => {
    const records = Buffer.alloc(5 * 1024 * 1024 + 3, 0xab);
    const header = { apiKey: 0 as const, apiVersion: 0, correlationId: 99, clientId: 'big' };
    const frames = [1, 2].map((i) =>
      encodeRequest(
        { ...header, correlationId: i },
        { acks: 1, timeoutMs: 1, partitions: [{ topic: 't', partition: 0, records }] },
      ),
    );
    const decoded = new FrameDecoder().push(Buffer.concat(frames)).map((f) => decodeRequestFrame(f));
    expect(decoded.map((d) => d.header.correlationId)).toEqual([1, 2]);
    for (const d of decoded) {
      const body = decodeRequestBody(0 as ApiKey, 0, d.body) as { partitions: { records: Buffer }[] };
      expect(body.partitions[0]!.records.equals(records)).toBe(true);
    }
  });
});

describe('large record batches by reference', () => {
  const big = (n: number, fill: number) => Buffer.alloc(n, fill);
  const response = {
    partitions: [
      { topic: 't', partition: 0, error: null, highWatermark: 9, logStartOffset: 0, records: big(70_000, 1) },
      { topic: 't', partition: 1, error: null, highWatermark: 3, logStartOffset: 0, records: big(10, 2) },
      {
        topic: 'u',
        partition: 0,
        error: null,
        highWatermark: 5,
        logStartOffset: 1,
        records: big(1 << 20, 3),
      },
    ],
  };

  it('a fetch response with large batches is chunked, the batches uncopied, and the bytes are msgpackr’s', () => {
    const chunks = encodeResponseChunks(1 as ApiKey, 0, 7, response as never);
    // Both large batches are chunks of their own (the very same buffers); the small one is packed inline.
    expect(chunks.filter((c) => c === response.partitions[0]!.records)).toHaveLength(1);
    expect(chunks.filter((c) => c === response.partitions[2]!.records)).toHaveLength(1);
    const body = packBody(codecFor(1 as ApiKey, 0).encodeResponse(response as never));
    expect(Buffer.concat(chunks).equals(encodeResponseFrame(7, 0, body))).toBe(true);
  });

  it('a produce request with a large batch is chunked and decodes back whole', () => {
    const records = big(300_000, 9);
    const header = { apiKey: 0 as const, apiVersion: 0, correlationId: 5, clientId: 'c' };
    const chunks = encodeRequestChunks(header, {
      acks: -1,
      timeoutMs: 10,
      partitions: [{ topic: 't', partition: 0, records }],
    });
    expect(chunks).toContain(records);
    const frame = onlyFrame(Buffer.concat(chunks));
    const body = decodeRequestBody(0 as ApiKey, 0, decodeRequestFrame(frame).body) as {
      partitions: { records: Buffer }[];
    };
    expect(body.partitions[0]!.records.equals(records)).toBe(true);
    const plain = encodeRequestFrame(
      header,
      packBody(
        codecFor(0 as ApiKey, 0).encodeRequest({
          acks: -1,
          timeoutMs: 10,
          partitions: [{ topic: 't', partition: 0, records }],
        } as never),
      ),
    );
    expect(Buffer.concat(chunks).equals(plain)).toBe(true);
  });

  it('a payload that happens to contain placeholder-like bytes is still encoded exactly', () => {
    // A small batch that embeds the bytes of a msgpack bin8 of 16 bytes must not confuse the splice.
    const tricky = Buffer.concat([Buffer.from([0xc4, 0x10]), Buffer.alloc(16, 0), big(80_000, 4)]);
    const res = { partitions: [{ ...response.partitions[0]!, records: tricky }, response.partitions[1]!] };
    const chunks = encodeResponseChunks(1 as ApiKey, 0, 8, res as never);
    const body = packBody(codecFor(1 as ApiKey, 0).encodeResponse(res as never));
    expect(Buffer.concat(chunks).equals(encodeResponseFrame(8, 0, body))).toBe(true);
  });
});
