/**
 * Bad input never crashes the codec: whatever the bytes or values, the only thing thrown is a StreamBusError
 * (never a TypeError or RangeError), record batches under every compression code included. Seeded; the seed is printed and FUZZ_SEED replays a run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { COMPRESSIONS } from '../../src/protocol/compression.js';
import {
  codecFor,
  decodeRequestBody,
  decodeRequestFrame,
  decodeResponseBody,
  FrameDecoder,
  packBody,
} from '../../src/protocol/index.js';
import { DECOMPRESSED_RECORDS_BYTES_MAX } from '../../src/protocol/limits.js';
import { API_NAMES, type ApiKey } from '../../src/protocol/messages.js';
import {
  BATCH_HEADER_BYTES,
  decodeRecords,
  encodeRecordBatch,
  validateBatch,
} from '../../src/protocol/record-batch.js';
import { checkGzipRecords, checkRecordsMatchCodec } from '../../src/protocol/records-check.js';
import { withBody } from '../helpers/batch-bytes.js';
import { SAMPLES } from './samples.js';
import { getAt, leafAndNodePaths, withAt } from './wire-paths.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
console.log(`protocol fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

function onlyStreamBusErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof StreamBusError)) throw err;
  }
}

/** HTTP's first four bytes read as a length: refused at once, never answered (an HTTP peer cannot read it). */
const HTTP_LENGTHS = new Set(
  ['HTTP', 'GET ', 'POST', 'PUT ', 'HEAD'].map((t) => Buffer.from(t).readUInt32BE(0)),
);

/** Splits `bytes` at the given cut points (sorted, deduplicated, within range). */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** A reference decoder with no cleverness: concat everything, then cut. */
function referenceFrames(bytes: Buffer, max: number): { frames: Buffer[]; error: string | null } {
  const frames: Buffer[] = [];
  let pos = 0;
  while (bytes.length - pos >= 4) {
    const length = bytes.readUInt32BE(pos);
    if (length === 0) return { frames, error: 'MALFORMED_FRAME' };
    if (length > max) return { frames, error: 'FRAME_TOO_LARGE' };
    if (bytes.length - pos - 4 < length) break;
    frames.push(bytes.subarray(pos + 4, pos + 4 + length));
    pos += 4 + length;
  }
  return { frames, error: null };
}

function runDecoder(chunks: Buffer[], max: number): { frames: Buffer[]; error: string | null } {
  const d = new FrameDecoder({ frameBytesMax: max });
  const frames: Buffer[] = [];
  try {
    for (const c of chunks) frames.push(...d.push(c));
  } catch (err) {
    if (!(err instanceof StreamBusError)) throw err;
    return { frames, error: err.code };
  }
  return { frames, error: null };
}

const frameBytes = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((body) => {
  const b = Buffer.alloc(4 + body.length);
  b.writeUInt32BE(body.length);
  Buffer.from(body).copy(b, 4);
  return b;
});

describe('frame decoder fuzz', () => {
  it('valid frames under any chunking come out whole and identical', () => {
    fc.assert(
      fc.property(
        fc.array(frameBytes, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames);
          const got = runDecoder(chunked(bytes, cuts), 1024);
          expect(got.error).toBeNull();
          expect(got.frames.map((f) => f.toString('hex'))).toEqual(
            frames.map((f) => f.subarray(4).toString('hex')),
          );
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('random bytes under random chunking match the reference decoder and only throw StreamBusError', () => {
    const lengthPrefix = fc.constantFrom(0, 1, 7, 0x7fffffff, 0xffffffff, 65).map((n) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    });
    const noise = fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(frameBytes, lengthPrefix, noise), { maxLength: 8 }),
        fc.array(fc.nat()),
        (parts, cuts) => {
          const bytes = Buffer.concat(parts);
          const got = runDecoder(chunked(bytes, cuts), 64);
          const want = referenceFrames(bytes, 64);
          expect(got.error).toBe(want.error);
          // A chunk that ends in an error is rejected whole (the connection closes), so after an error the
          // decoder may have returned only a prefix of the frames before it.
          const wantHex = want.frames.map((f) => f.toString('hex'));
          const gotHex = got.frames.map((f) => f.toString('hex'));
          if (want.error === null) expect(gotHex).toEqual(wantHex);
          else expect(gotHex).toEqual(wantHex.slice(0, gotHex.length));
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('refusing with a head read: every frame before the oversized one comes out, then its head, whatever the chunking', () => {
    const HEAD_BYTES = 8;
    const lengthPrefix = fc.constantFrom(0, 65, 0x7fffffff, 0xffffffff).map((n) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    });
    const noise = fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u));
    /** The reference: frames until an oversized length whose head is all there (refused) or an error. */
    const reference = (bytes: Buffer) => {
      const frames: string[] = [];
      let pos = 0;
      while (bytes.length - pos >= 4) {
        const length = bytes.readUInt32BE(pos);
        if (length === 0) return { frames, refusedHead: null, error: 'MALFORMED_FRAME' };
        if (length > 64) {
          if (HTTP_LENGTHS.has(length)) return { frames, refusedHead: null, error: 'FRAME_TOO_LARGE' };
          const head = bytes.subarray(pos + 4, pos + 4 + HEAD_BYTES);
          return {
            frames,
            refusedHead: head.length === HEAD_BYTES ? head.toString('hex') : null,
            error: null,
          };
        }
        if (bytes.length - pos - 4 < length) break;
        frames.push(bytes.subarray(pos + 4, pos + 4 + length).toString('hex'));
        pos += 4 + length;
      }
      return { frames, refusedHead: null, error: null };
    };
    fc.assert(
      fc.property(
        fc.array(fc.oneof(frameBytes, lengthPrefix, noise), { maxLength: 8 }),
        fc.array(fc.nat()),
        (parts, cuts) => {
          const bytes = Buffer.concat(parts);
          const want = reference(bytes);
          const d = new FrameDecoder({ frameBytesMax: 64, refusedHeadBytes: HEAD_BYTES });
          const frames: string[] = [];
          let error: string | null = null;
          try {
            for (const c of chunked(bytes, cuts)) {
              frames.push(...d.push(c).map((f) => f.toString('hex')));
              expect(d.bufferedBytes).toBeLessThanOrEqual(64 + 4);
              if (d.refused !== null) break;
            }
          } catch (err) {
            if (!(err instanceof StreamBusError)) throw err;
            error = err.code;
          }
          expect(error).toBe(want.error);
          expect(d.refused?.head.toString('hex') ?? null).toBe(want.refusedHead);
          if (want.error === null) expect(frames).toEqual(want.frames);
          else expect(frames).toEqual(want.frames.slice(0, frames.length));
          if (d.refused !== null) expect(() => d.push(Buffer.from([1]))).toThrow(StreamBusError);
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('truncated frames yield nothing and hold only the bytes received', () => {
    fc.assert(
      fc.property(frameBytes, fc.nat(), (bytes, cut) => {
        const truncated = bytes.subarray(0, cut % bytes.length);
        const d = new FrameDecoder({ frameBytesMax: 1024 });
        expect(d.push(truncated)).toEqual([]);
        expect(d.bufferedBytes).toBe(truncated.length >= 4 ? truncated.length - 4 : truncated.length);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});

const apiKeys = Object.keys(API_NAMES).map(Number) as ApiKey[];

describe('request decoder fuzz', () => {
  it('any msgpack value given to any request decoder throws only StreamBusError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...apiKeys),
        fc.anything({ withBigInt: false, withMap: true, withSet: false }),
        (k, v) => {
          onlyStreamBusErrors(() => codecFor(k, 0).decodeRequest(v));
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('a valid request with one field replaced by any value throws only StreamBusError or decodes', () => {
    const cases = apiKeys.map((k) => ({
      k,
      wire: codecFor(k, 0).encodeRequest(SAMPLES[k].request as never),
    }));
    const weird = fc.oneof(
      fc.anything({ maxDepth: 3 }),
      fc.constantFrom(-1, -0, 2 ** 31, 2 ** 53, Number.NaN, 1.5, '', null, true, [], {}, Buffer.alloc(0)),
    );
    fc.assert(
      fc.property(fc.constantFrom(...cases), fc.nat(), weird, ({ k, wire }, pick, value) => {
        const paths = leafAndNodePaths(wire);
        const bad = paths.length === 0 ? value : withAt(wire, paths[pick % paths.length]!, value);
        onlyStreamBusErrors(() => codecFor(k, 0).decodeRequest(bad));
        if (paths.length > 0) getAt(bad, paths[pick % paths.length]!);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('random bytes as a whole request frame or body throw only StreamBusError', () => {
    const goodBodies = apiKeys.map((k) =>
      packBody(codecFor(k, 0).encodeRequest(SAMPLES[k].request as never)),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...apiKeys),
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
          fc
            .tuple(fc.constantFrom(...goodBodies), fc.nat(), fc.integer({ min: 0, max: 255 }))
            .map(([b, at, byte]) => {
              const copy = Buffer.from(b);
              copy[at % copy.length] = byte;
              return copy;
            }),
          fc.tuple(fc.constantFrom(...goodBodies), fc.nat()).map(([b, cut]) => b.subarray(0, cut % b.length)),
        ),
        (k, bytes) => {
          onlyStreamBusErrors(() => decodeRequestBody(k, 0, bytes));
          onlyStreamBusErrors(() => {
            const { header, body } = decodeRequestFrame(bytes);
            decodeRequestBody(header.apiKey, header.apiVersion, body);
          });
        },
      ),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

describe('response decoder fuzz (the client side)', () => {
  it('any value given to any response decoder, or corrupted response bytes, throw only StreamBusError', () => {
    const goodBodies = apiKeys.map((k) =>
      packBody(codecFor(k, 0).encodeResponse(SAMPLES[k].response as never)),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...apiKeys),
        fc.anything({ withBigInt: false, withMap: true }),
        fc.constantFrom(...goodBodies),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (k, v, body, at, byte) => {
          onlyStreamBusErrors(() => codecFor(k, 0).decodeResponse(v));
          const copy = Buffer.from(body);
          copy[at % copy.length] = byte;
          onlyStreamBusErrors(() => decodeResponseBody(k, 0, at % 3 === 0 ? 300 : 0, copy));
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('record batch decoder fuzz (every compression code)', () => {
  const valid = COMPRESSIONS.map((compression) =>
    encodeRecordBatch(
      [
        { key: 'k', value: 'fuzz me '.repeat(30), headers: [{ key: 'h', value: null }] },
        { value: Buffer.from([0, 1, 2, 3]) },
      ],
      { baseTimestamp: 1_700_000_000_000, compression },
    ),
  );
  /** `batch` with its records region cut at, flipped at or extended by a byte (length and CRC made right). */
  const mangled = (batch: Buffer, at: number, byte: number, how: 'cut' | 'flip' | 'extend'): Buffer => {
    const body = Buffer.from(batch.subarray(BATCH_HEADER_BYTES));
    const i = at % body.length;
    if (how === 'flip') body[i]! ^= byte || 1;
    const mutated =
      how === 'cut'
        ? body.subarray(0, i)
        : how === 'extend'
          ? Buffer.concat([body, Buffer.from([byte])])
          : body;
    return withBody(batch, mutated);
  };
  /** The broker's append checks, then a consumer's decode; both may refuse, neither may crash. */
  const brokerThenConsumer = (batch: Buffer): void => {
    onlyStreamBusErrors(() =>
      checkRecordsMatchCodec(batch, validateBatch(batch), 'fuzz', DECOMPRESSED_RECORDS_BYTES_MAX),
    );
    onlyStreamBusErrors(() => decodeRecords(batch));
  };

  it('random records regions with a good CRC, under codes 0-7, throw only StreamBusError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ maxLength: 200 }),
        (batch, code, body) => brokerThenConsumer(withBody(batch, Buffer.from(body), code)),
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it("each codec's own output, cut, flipped or extended anywhere, throws only StreamBusError", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('cut', 'flip', 'extend'),
        (batch, at, byte, how) => brokerThenConsumer(mangled(batch, at, byte, how)),
      ),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('gzip output cut, flipped or extended anywhere, inflated by the broker on append, throws only StreamBusError', async () => {
    const gzip = valid[COMPRESSIONS.indexOf('gzip')]!;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('cut', 'flip', 'extend'),
        async (at, byte, how) => {
          const batch = mangled(gzip, at, byte, how);
          try {
            const header = validateBatch(batch);
            checkRecordsMatchCodec(batch, header, 'fuzz', DECOMPRESSED_RECORDS_BYTES_MAX);
            await checkGzipRecords(batch, header, 'fuzz', DECOMPRESSED_RECORDS_BYTES_MAX);
          } catch (err) {
            if (!(err instanceof StreamBusError)) throw err;
          }
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('codes 5-7 are UNSUPPORTED_COMPRESSION whatever the records', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 7 }), fc.uint8Array({ maxLength: 64 }), (code, body) => {
        const batch = withBody(valid[0]!, Buffer.from(body), code);
        expect(() => validateBatch(batch)).toThrow(
          expect.objectContaining({ code: 'UNSUPPORTED_COMPRESSION' }),
        );
        expect(() => decodeRecords(batch)).toThrow(
          expect.objectContaining({ code: 'UNSUPPORTED_COMPRESSION' }),
        );
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
