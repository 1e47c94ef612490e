/**
 * The batch codecs (Kafka's compression.type): each writes Kafka's code, decompresses what it wrote, and
 * meets corrupt or hostile bytes with a StreamBusError: INVALID_BATCH for bytes that are not its format,
 * BATCH_TOO_LARGE for records that would inflate past the limit (refused from the framing, before a decoder
 * allocates), UNSUPPORTED_COMPRESSION for the codes Kafka leaves undefined (5-7).
 */
import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import {
  COMPRESSION_CODES,
  COMPRESSIONS,
  codecNamed,
  decompressRecords,
} from '../../src/protocol/compression.js';
import {
  lz4DecompressedBytesBound,
  snappyDecompressedBytesBound,
  zstdDecompressedBytesBound,
} from '../../src/protocol/compression-frames.js';
import { DECOMPRESSED_RECORDS_BYTES_MAX, ZSTD_WINDOW_BYTES_MAX } from '../../src/protocol/limits.js';
import {
  BATCH_HEADER_BYTES,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  validateBatch,
} from '../../src/protocol/record-batch.js';
import { checkRecordsMatchCodec } from '../../src/protocol/records-check.js';
import { noiseBytes, withBody } from '../helpers/batch-bytes.js';

const COMPRESSED = COMPRESSIONS.filter((c) => c !== 'none');
const BASE_TIMESTAMP = 1_700_000_000_000;

function codeThrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof StreamBusError) return err.code;
    throw err;
  }
  return 'nothing thrown';
}

/** The broker's append check of a validated batch. */
function brokerCheck(batch: Buffer): void {
  checkRecordsMatchCodec(batch, validateBatch(batch), 'test.append', DECOMPRESSED_RECORDS_BYTES_MAX);
}

/** A zstd frame of `blocks` RLE blocks of 128 KiB each: 4 bytes a block, 32768 to 1 (a valid frame). */
function zstdRleBomb(blocks: number): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic; no content size; 128 KiB window
  for (let i = 0; i < blocks; i++) {
    const header = (i === blocks - 1 ? 1 : 0) | (1 << 1) | ((128 * 1024) << 3);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, header >> 16, 0x61]));
  }
  return Buffer.concat(parts);
}

const sample = (compression: (typeof COMPRESSIONS)[number]) =>
  encodeRecordBatch(
    [
      { key: 'k1', value: 'compressible '.repeat(50), headers: [{ key: 'h', value: Buffer.from('v') }] },
      { key: null, value: 'second', timestamp: BASE_TIMESTAMP + 5 },
    ],
    { baseTimestamp: BASE_TIMESTAMP, compression },
  );

describe('codec table', () => {
  it("codes are Kafka's RecordBatch v2 codes", () => {
    expect(COMPRESSION_CODES).toEqual({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 });
  });

  it('codes 5-7 are refused with UNSUPPORTED_COMPRESSION by the broker and by consumers', () => {
    const plain = sample('none');
    for (const code of [5, 6, 7]) {
      const relabelled = withBody(plain, plain.subarray(BATCH_HEADER_BYTES), code);
      expect(codeThrown(() => validateBatch(relabelled))).toBe('UNSUPPORTED_COMPRESSION');
      expect(codeThrown(() => decodeRecords(relabelled))).toBe('UNSUPPORTED_COMPRESSION');
    }
  });
});

describe.each(COMPRESSED)('%s', (name) => {
  const codec = codecNamed(name);

  it('records of several blocks (incompressible and repetitive) round-trip within the framing bound', () => {
    for (const value of [noiseBytes(300_000), Buffer.alloc(1 << 20, 7), Buffer.from('abc'.repeat(50_000))]) {
      const batch = encodeRecordBatch([{ value }, { value: 'tail' }], {
        baseTimestamp: BASE_TIMESTAMP,
        compression: name,
      });
      expect(readBatchHeader(batch).attributes & 0x07).toBe(COMPRESSION_CODES[name]);
      brokerCheck(batch);
      const body = batch.subarray(BATCH_HEADER_BYTES);
      const records = decompressRecords(codec, body, 'test');
      expect(codec.decompressedBytesBound(body)).toBeGreaterThanOrEqual(records.length);
      const [first, second] = decodeRecords(batch);
      expect(first?.value?.equals(value)).toBe(true); // Buffer.equals: toEqual walks a megabyte per byte
      expect(second?.value?.toString()).toBe('tail');
    }
  });

  it('a truncated body, a garbage body and trailing bytes are INVALID_BATCH naming the codec', () => {
    const batch = sample(name);
    const body = batch.subarray(BATCH_HEADER_BYTES);
    const corrupt = [
      body.subarray(0, body.length - 3),
      body.subarray(0, Math.floor(body.length / 2)),
      noiseBytes(body.length),
      Buffer.concat([body, Buffer.from([1, 2, 3])]),
    ];
    for (const bad of corrupt) {
      const relabelled = withBody(batch, bad);
      let thrown: unknown;
      try {
        decodeRecords(relabelled);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(StreamBusError);
      expect((thrown as StreamBusError).code).toBe('INVALID_BATCH');
      expect((thrown as StreamBusError).message).toContain(name);
    }
  });

  it("the broker refuses bytes that are not the codec's framing, and uncompressed records labelled with it", () => {
    const plain = sample('none');
    expect(
      codeThrown(() => brokerCheck(withBody(plain, plain.subarray(BATCH_HEADER_BYTES), codec.code))),
    ).toBe('INVALID_BATCH');
    const batch = sample(name);
    const truncated = withBody(batch, batch.subarray(BATCH_HEADER_BYTES, batch.length - 2));
    // gzip declares no length up front: only decompressing finds it cut short.
    if (name !== 'gzip') expect(codeThrown(() => brokerCheck(truncated))).toBe('INVALID_BATCH');
    expect(codeThrown(() => brokerCheck(batch))).toBe('nothing thrown');
  });

  it('records that would inflate past the limit are BATCH_TOO_LARGE; up to it they decompress', () => {
    const body = codec.compress(Buffer.alloc(1 << 20));
    expect(codeThrown(() => decompressRecords(codec, body, 'test', 64 * 1024))).toBe('BATCH_TOO_LARGE');
    expect(decompressRecords(codec, body, 'test', 4 << 20).equals(Buffer.alloc(1 << 20))).toBe(true);
  });
});

describe('decompression bombs', () => {
  it('a few kilobytes of zstd declaring more than the limit are refused before decoding, on append and on read', () => {
    const small = zstdRleBomb(8);
    expect(decompressRecords(codecNamed('zstd'), small, 'test').equals(Buffer.alloc(1 << 20, 0x61))).toBe(
      true,
    );
    const blocks = Math.ceil(DECOMPRESSED_RECORDS_BYTES_MAX / (128 * 1024)) + 1;
    const bomb = withBody(sample('zstd'), zstdRleBomb(blocks));
    expect(bomb.length).toBeLessThan(4 * 1024);
    expect(codeThrown(() => brokerCheck(bomb))).toBe('BATCH_TOO_LARGE');
    expect(codeThrown(() => decodeRecords(bomb))).toBe('BATCH_TOO_LARGE');
  });

  it('a snappy preamble declaring more than its body can hold is refused (the decoder would allocate it)', () => {
    const lie = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61]); // 2^32 - 1 bytes from two
    expect(() => snappyDecompressedBytesBound(lie)).toThrow(/more than its 2 bytes can hold/);
    expect(codeThrown(() => decodeRecords(withBody(sample('snappy'), lie)))).toBe('INVALID_BATCH');
  });

  it('an lz4 frame counts each compressed block at the frame maximum', () => {
    const frame = (blocks: number): Buffer => {
      const parts = [Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x73])]; // 4 MiB blocks
      for (let i = 0; i < blocks; i++) parts.push(Buffer.from([1, 0, 0, 0, 0x10]));
      parts.push(Buffer.alloc(4)); // end mark
      return Buffer.concat(parts);
    };
    expect(lz4DecompressedBytesBound(frame(3))).toBe(12 * 1024 * 1024);
    const bomb = withBody(sample('lz4'), frame(Math.ceil(DECOMPRESSED_RECORDS_BYTES_MAX / (4 << 20)) + 1));
    expect(codeThrown(() => brokerCheck(bomb))).toBe('BATCH_TOO_LARGE');
    expect(codeThrown(() => decodeRecords(bomb))).toBe('BATCH_TOO_LARGE');
  });

  it('a zstd window above the limit is refused (a streaming decoder allocates it first)', () => {
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa0, 0x01, 0x00, 0x00]); // 1 GiB window
    expect(() => zstdDecompressedBytesBound(frame, ZSTD_WINDOW_BYTES_MAX)).toThrow(/window/);
  });

  it('zstd skippable frames add nothing; bytes after the last frame are refused', () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 0x02, 0x00, 0x00, 0x00, 0xaa, 0xbb]);
    const frame = zstdRleBomb(2);
    expect(zstdDecompressedBytesBound(Buffer.concat([skippable, frame]), ZSTD_WINDOW_BYTES_MAX)).toBe(
      256 * 1024,
    );
    expect(() =>
      zstdDecompressedBytesBound(Buffer.concat([frame, Buffer.from([0])]), ZSTD_WINDOW_BYTES_MAX),
    ).toThrow(/truncated/);
  });
});
