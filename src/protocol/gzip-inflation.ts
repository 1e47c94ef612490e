/**
 * What a gzip records region really inflates to. gzip declares no decompressed size (its trailer's ISIZE is
 * mod 2^32 and read only at the end), so unlike the other codecs (compression-frames.ts) the only bound on a
 * gzip batch is inflating it. The broker does so on produce, so that a gzip bomb is refused before it is
 * stored rather than by every consumer that reads it (a poison pill that stops them). The output streams
 * through zlib on the thread pool and is counted and dropped, never held: the event loop sees one callback
 * per chunk, memory stays one chunk, and inflation stops at the limit. A body too small to inflate past
 * SYNC_INFLATE_BYTES_MAX even at deflate's worst ratio is inflated at once instead: the thread pool's round
 * trips cost a small batch about 0.2 ms, the inflation itself tens of microseconds. The record length
 * prefixes are walked as the bytes go by, which checks the batch's declared record count at no extra cost;
 * for a compacted topic the walk also reads each record's key length (`keysRequired`), so that its keyless
 * records are found by this one inflation, not a second one.
 */
import { createGunzip, gunzipSync } from 'node:zlib';
import { DEFLATE_EXPANSION_MAX } from './compression-frames.js';
import { RECORD_BODY_BYTES_MIN } from './record-batch.js';
import { RecordReader } from './record-reader.js';

/** Output chunks of 256 KiB: one or a few callbacks for a normal batch, 400 for a 100 MiB one. */
const CHUNK_BYTES = 256 * 1024;
/** Inflating at most this much blocks the event loop for about a millisecond. */
const SYNC_INFLATE_BYTES_MAX = 1024 * 1024;
/** A record length is a zigzag varint of an int32: at most 5 bytes. */
const VARINT_BYTES_MAX = 5;

export type GzipInflation =
  /**
   * Inflated within the limit: its size and the records its length prefixes delimit; with `keysRequired`,
   * also the index of the first record without a key (-1: none).
   */
  | {
      readonly within: true;
      readonly bytes: number;
      readonly records: number;
      readonly firstKeyless?: number;
    }
  /** Would inflate past `outputBytesMax` (inflation stopped there). */
  | { readonly within: false };

/**
 * Inflates `body` (a gzip member) counting bytes and records, stopping past `outputBytesMax`; with
 * `keysRequired`, finding the first record without a key. Rejects with an Error naming the fault when the
 * bytes are not gzip or the records do not split by their length prefixes (or, with `keysRequired`, their
 * key lengths do not parse).
 */
export function inflateGzipRecords(
  body: Buffer,
  outputBytesMax: number,
  keysRequired = false,
): Promise<GzipInflation> {
  if (body.length * DEFLATE_EXPANSION_MAX <= SYNC_INFLATE_BYTES_MAX)
    return inflateNow(body, outputBytesMax, keysRequired);
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
    const walker = new RecordLengthWalker(keysRequired);
    let bytes = 0;
    let settled = false;
    const settle = (outcome: GzipInflation | Error): void => {
      if (settled) return;
      settled = true;
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    gunzip.on('data', (chunk: Buffer) => {
      if (settled) return;
      bytes += chunk.length;
      if (bytes > outputBytesMax) {
        settle({ within: false });
        gunzip.destroy();
        return;
      }
      const fault = walker.walk(chunk);
      if (fault !== null) {
        settle(new Error(fault));
        gunzip.destroy();
      }
    });
    gunzip.once('error', (err) => settle(err));
    gunzip.once('end', () => {
      const fault = walker.end();
      settle(fault === null ? walker.outcome(bytes) : new Error(fault));
    });
    gunzip.end(body);
  });
}

/** inflateGzipRecords for a body whose worst-case output is small: in one step, on this thread. */
async function inflateNow(
  body: Buffer,
  outputBytesMax: number,
  keysRequired: boolean,
): Promise<GzipInflation> {
  let out: Buffer;
  try {
    out = gunzipSync(body, { maxOutputLength: outputBytesMax });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { within: false };
    throw err;
  }
  const walker = new RecordLengthWalker(keysRequired);
  const fault = walker.walk(out) ?? walker.end();
  if (fault !== null) throw new Error(fault);
  return walker.outcome(out.length);
}

/**
 * A record body starts: attributes (1 byte), timestampDelta (varint of an int64, at most 10 bytes),
 * offsetDelta and key length (varints of an int32, at most 5 each; key length -1: a null key). A body's
 * first this many bytes hold them.
 */
const KEY_LENGTH_END_MAX = 1 + 10 + 5 + 5;

/**
 * Follows the records' length prefixes across chunk boundaries: a zigzag varint, then that many bytes. Reads
 * nothing else of a record, except with `keysRequired`: then each body's first bytes, up to its key length.
 */
class RecordLengthWalker {
  records = 0;
  firstKeyless = -1;
  /** Bytes of the current record still to skip. */
  private skip = 0;
  /** The length varint being read: its value so far and the bytes read of it (0: none started). */
  private varint = 0;
  private varintBytes = 0;
  /** With keysRequired: the start of the current record's body, gathered across chunks until it is read. */
  private readonly head: Buffer | undefined;
  private headBytes = 0;
  private headWanted = 0;
  private bodyBytes = 0;

  constructor(keysRequired: boolean) {
    this.head = keysRequired ? Buffer.alloc(KEY_LENGTH_END_MAX) : undefined;
  }

  outcome(bytes: number): GzipInflation {
    const base = { within: true as const, bytes, records: this.records };
    return this.head === undefined ? base : { ...base, firstKeyless: this.firstKeyless };
  }

  /** The fault found in `chunk`, or null. */
  walk(chunk: Buffer): string | null {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.headWanted > 0) {
        const n = Math.min(this.headWanted - this.headBytes, chunk.length - pos);
        chunk.copy(this.head!, this.headBytes, pos, pos + n);
        this.headBytes += n;
        this.skip -= n;
        pos += n;
        if (this.headBytes < this.headWanted) continue;
        const fault = this.readKeyLength();
        if (fault !== null) return fault;
        continue;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      const b = chunk[pos++]!;
      this.varint += (b & 0x7f) * 2 ** (7 * this.varintBytes);
      this.varintBytes++;
      if ((b & 0x80) !== 0) {
        if (this.varintBytes === VARINT_BYTES_MAX)
          return `record ${this.records} has a length varint over 5 bytes`;
        continue;
      }
      const length = this.varint % 2 === 1 ? -(this.varint + 1) / 2 : this.varint / 2;
      this.varint = 0;
      this.varintBytes = 0;
      if (length < RECORD_BODY_BYTES_MIN) return `record ${this.records} declares ${length} bytes`;
      this.skip = length;
      this.records++;
      if (this.head !== undefined) {
        this.bodyBytes = length;
        this.headBytes = 0;
        this.headWanted = Math.min(length, KEY_LENGTH_END_MAX);
      }
    }
    return null;
  }

  /** Reads the key length from the gathered start of a record's body; notes a null key. */
  private readKeyLength(): string | null {
    const index = this.records - 1;
    this.headWanted = 0;
    const reader = new RecordReader(this.head!.subarray(0, this.headBytes));
    try {
      reader.pos = 1; // attributes
      reader.varint(); // timestampDelta
      reader.varint(); // offsetDelta
      const keyLength = reader.varint();
      if (keyLength > this.bodyBytes - reader.pos) return `record ${index}'s key runs past the record`;
      if (keyLength < 0 && this.firstKeyless < 0) this.firstKeyless = index;
    } catch (err) {
      return `record ${index} does not parse up to its key: ${(err as Error).message}`;
    }
    return null;
  }

  /** The fault of the input ending here, or null. */
  end(): string | null {
    if (this.skip > 0) return `record ${this.records - 1} is ${this.skip} bytes short`;
    if (this.varintBytes > 0) return `the records end inside record ${this.records}'s length`;
    return null;
  }
}
