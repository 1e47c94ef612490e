/**
 * The record batch codecs, one table for both sides: the client compresses and decompresses records, the
 * broker checks a batch's framing on append and decompresses only for ListOffsets by time and the offsets
 * topic. Codes are Kafka's (RecordBatch v2 attributes bits 0-2). The formats are Kafka's too except snappy:
 * StreamBus is not Kafka-wire compatible, so snappy is one raw block, without the xerial framing Kafka's Java
 * client writes. lz4 is the LZ4 frame format and zstd the standard zstd frame, as in Kafka.
 *
 * Decompressing untrusted bytes: every codec first bounds what the body can inflate to from its framing (see
 * compression-frames.ts) and refuses more than the caller's bound (DECOMPRESSED_RECORDS_BYTES_MAX unless
 * told) with BATCH_TOO_LARGE (gzip, which declares no size, is stopped by zlib at that limit instead; the
 * broker inflates gzip batches on produce to refuse them there, gzip-inflation.ts); bytes the codec cannot
 * decode are INVALID_BATCH. Only StreamBusError leaves this module.
 */
import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import type * as Zstd from '@toondepauw/node-zstd';
import type * as Lz4 from 'lz4-napi';
import type * as Snappy from 'snappy';
import { StreamBusError } from '../errors/index.js';
import {
  gzipDecompressedBytesBound,
  lz4DecompressedBytesBound,
  snappyDecompressedBytesBound,
  zstdDecompressedBytesBound,
} from './compression-frames.js';
import { DECOMPRESSED_RECORDS_BYTES_MAX, ZSTD_WINDOW_BYTES_MAX } from './limits.js';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface Codec {
  readonly name: Compression;
  /** Attributes bits 0-2, as in Kafka. */
  readonly code: number;
  compress(records: Buffer): Buffer;
  /**
   * An upper bound on the decompressed bytes, from the framing alone; throws when the body is not this
   * codec's format.
   */
  decompressedBytesBound(body: Buffer): number;
  /** Whether that bound is what the body declares (false for gzip: only deflate's worst-case ratio). */
  readonly boundDeclared: boolean;
  /** Throws on corrupt bytes and OutputTooLarge past `outputBytesMax`. */
  decompress(body: Buffer, outputBytesMax: number): Buffer;
}

/** zstd level 3, the library's and Kafka's default: a window of at most 2 MiB. */
const ZSTD_LEVEL = 3;

class OutputTooLarge extends Error {
  constructor(readonly boundBytes: number | null) {
    super('decompressed output too large');
  }
}

/**
 * The native codecs load on first use: a process that never meets snappy pays nothing for it, and a
 * platform without a prebuilt binary loses that codec (UNSUPPORTED_COMPRESSION) rather than the package.
 */
const requireNative = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();
function native<T>(name: string): T {
  if (!loaded.has(name)) {
    try {
      loaded.set(name, requireNative(name));
    } catch (err) {
      throw new StreamBusError('UNSUPPORTED_COMPRESSION', {
        operation: 'compression.load',
        message: `the ${name} codec does not load on this platform: ${(err as Error).message}`,
        cause: err,
      });
    }
  }
  return loaded.get(name) as T;
}

let zstdCoders: { encoder: Zstd.Encoder; decoder: Zstd.Decoder } | null = null;
function zstd(): { encoder: Zstd.Encoder; decoder: Zstd.Decoder } {
  if (zstdCoders === null) {
    const lib = native<typeof Zstd>('@toondepauw/node-zstd');
    zstdCoders = { encoder: new lib.Encoder(ZSTD_LEVEL), decoder: new lib.Decoder() };
  }
  return zstdCoders;
}

/** Decompresses after checking the declared bound: the decoder then never allocates past the limit. */
function boundedBy(
  bound: (body: Buffer) => number,
  decode: (body: Buffer) => Buffer,
): (body: Buffer, outputBytesMax: number) => Buffer {
  return (body, outputBytesMax) => {
    const boundBytes = bound(body);
    if (boundBytes > outputBytesMax) throw new OutputTooLarge(boundBytes);
    return decode(body);
  };
}

const zstdBound = (body: Buffer): number => zstdDecompressedBytesBound(body, ZSTD_WINDOW_BYTES_MAX);

const CODECS: { readonly [N in Compression]: Codec } = {
  none: {
    name: 'none',
    code: 0,
    compress: (records) => records,
    decompressedBytesBound: (body) => body.length,
    boundDeclared: true,
    decompress: (body) => body,
  },
  gzip: {
    name: 'gzip',
    code: 1,
    compress: (records) => gzipSync(records),
    decompressedBytesBound: gzipDecompressedBytesBound,
    boundDeclared: false,
    decompress: (body, outputBytesMax) => {
      gzipDecompressedBytesBound(body);
      try {
        return gunzipSync(body, { maxOutputLength: outputBytesMax });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new OutputTooLarge(null);
        throw err;
      }
    },
  },
  snappy: {
    name: 'snappy',
    code: 2,
    compress: (records) => native<typeof Snappy>('snappy').compressSync(records),
    decompressedBytesBound: snappyDecompressedBytesBound,
    boundDeclared: true,
    decompress: boundedBy(
      snappyDecompressedBytesBound,
      (body) => native<typeof Snappy>('snappy').uncompressSync(body, { asBuffer: true }) as Buffer,
    ),
  },
  lz4: {
    name: 'lz4',
    code: 3,
    compress: (records) => native<typeof Lz4>('lz4-napi').compressFrameSync(records),
    decompressedBytesBound: lz4DecompressedBytesBound,
    boundDeclared: true,
    decompress: boundedBy(lz4DecompressedBytesBound, (body) =>
      native<typeof Lz4>('lz4-napi').decompressFrameSync(body),
    ),
  },
  zstd: {
    name: 'zstd',
    code: 4,
    compress: (records) => zstd().encoder.encodeSync(records),
    decompressedBytesBound: zstdBound,
    boundDeclared: true,
    decompress: boundedBy(zstdBound, (body) => zstd().decoder.decodeSync(body)),
  },
};

export const COMPRESSIONS = Object.keys(CODECS) as Compression[];
/** The codec bits (attributes 0-2) of each compression. */
export const COMPRESSION_CODES: Readonly<Record<Compression, number>> = Object.fromEntries(
  COMPRESSIONS.map((name) => [name, CODECS[name].code]),
) as Record<Compression, number>;
const BY_CODE: readonly (Codec | undefined)[] = COMPRESSIONS.reduce<(Codec | undefined)[]>((acc, name) => {
  acc[CODECS[name].code] = CODECS[name];
  return acc;
}, []);

/** Throws UNSUPPORTED_COMPRESSION for a codec this build cannot write (options can come from JavaScript or a CLI). */
export function checkCompression(value: unknown, operation: string): asserts value is Compression {
  if (typeof value !== 'string' || !Object.hasOwn(CODECS, value)) {
    throw new StreamBusError('UNSUPPORTED_COMPRESSION', {
      operation,
      message: `compression ${JSON.stringify(value)} is not supported; use one of ${COMPRESSIONS.join(', ')}`,
    });
  }
}

export function codecNamed(name: Compression): Codec {
  return CODECS[name];
}

/** The codec of a batch's attributes; UNSUPPORTED_COMPRESSION for codes 5-7, which Kafka does not define. */
export function codecOfAttributes(attributes: number, operation: string): Codec {
  const code = attributes & 0x07;
  const codec = BY_CODE[code];
  if (codec === undefined) {
    throw new StreamBusError('UNSUPPORTED_COMPRESSION', { operation, message: `compression codec ${code}` });
  }
  return codec;
}

/**
 * Decompresses a batch's records region. BATCH_TOO_LARGE when it would inflate past `outputBytesMax`,
 * INVALID_BATCH when the bytes are not valid data of the codec.
 */
export function decompressRecords(
  codec: Codec,
  body: Buffer,
  operation: string,
  outputBytesMax: number = DECOMPRESSED_RECORDS_BYTES_MAX,
): Buffer {
  let out: Buffer;
  try {
    out = codec.decompress(body, outputBytesMax);
  } catch (err) {
    if (err instanceof StreamBusError) throw err;
    if (err instanceof OutputTooLarge) throw tooLarge(codec, err.boundBytes, outputBytesMax, operation);
    throw new StreamBusError('INVALID_BATCH', {
      operation,
      message: `${codec.name} records do not decompress: ${(err as Error).message}`,
      cause: err,
    });
  }
  if (out.length > outputBytesMax) throw tooLarge(codec, out.length, outputBytesMax, operation);
  return out;
}

function tooLarge(
  codec: Codec,
  boundBytes: number | null,
  outputBytesMax: number,
  operation: string,
): StreamBusError {
  const size = boundBytes === null ? 'more than' : `up to ${boundBytes} bytes, above`;
  return new StreamBusError('BATCH_TOO_LARGE', {
    operation,
    message: `${codec.name} records would decompress to ${size} the ${outputBytesMax}-byte limit`,
    metadata: { decompressedBytesMax: outputBytesMax },
  });
}
