/**
 * Upper bounds on what a compressed records region inflates to, read from the codec's framing alone (bytes
 * in, a number out; nothing is decompressed). A decoder allocates what its input claims, so a batch of a few
 * bytes could otherwise ask a broker or consumer for gigabytes: the codecs check these bounds before they
 * decompress, and the broker checks them when it appends. Each throws an Error naming what is wrong when the
 * bytes are not that codec's format (truncated, trailing bytes, reserved bits set).
 */

/** Deflate's largest expansion: one 258-byte match per 2 bits, about 1032 to 1 (zlib's tech notes). */
export const DEFLATE_EXPANSION_MAX = 1032;
/**
 * Snappy's largest expansion: a 3-byte copy element writes at most 64 bytes (about 21.3 to 1); 22 leaves
 * room for the length preamble.
 */
export const SNAPPY_EXPANSION_MAX = 22;

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const ZSTD_MAGIC = 0xfd2fb528;
const LZ4_MAGIC = 0x184d2204;
/** zstd's skippable frames: magic 0x184D2A50-0x184D2A5F, a u32 size, that many bytes. */
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
/** A zstd block never regenerates more than this (RFC 8878 3.1.1.2.3, Block_Maximum_Size). */
const ZSTD_BLOCK_BYTES_MAX = 128 * 1024;
/** LZ4 frame block maximum sizes by the BD byte's code 4-7 (LZ4 frame format 1.6.x). */
const LZ4_BLOCK_BYTES_MAX = [64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024] as const;

function need(body: Buffer, end: number, what: string): void {
  if (end > body.length) throw new Error(`truncated ${what}: needs ${end} bytes, has ${body.length}`);
}

/** gzip has no size up front (its trailer's ISIZE is mod 2^32 and unchecked until the end): deflate's ratio. */
export function gzipDecompressedBytesBound(body: Buffer): number {
  if (body[0] !== GZIP_MAGIC[0] || body[1] !== GZIP_MAGIC[1]) throw new Error('no gzip magic bytes');
  return body.length * DEFLATE_EXPANSION_MAX;
}

/**
 * Raw snappy (one block, no framing): a varint preamble gives the exact decompressed length, which the
 * decoder allocates first. Snappy has no magic bytes, so the elements are walked too (literal lengths and copy
 * offsets, nothing written): they must produce exactly that length, and a copy may only reach back into what
 * came before. Uncompressed records labelled snappy fail here rather than at every consumer.
 */
export function snappyDecompressedBytesBound(body: Buffer): number {
  let declared = 0;
  let pos = 0;
  for (let shift = 0; ; shift += 7) {
    if (shift > 28) throw new Error('snappy length preamble is longer than 5 bytes');
    need(body, pos + 1, 'snappy length preamble');
    const b = body[pos++]!;
    declared += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  const elementsBytes = body.length - pos;
  if (declared > elementsBytes * SNAPPY_EXPANSION_MAX) {
    throw new Error(`snappy block declares ${declared} bytes, more than its ${elementsBytes} bytes can hold`);
  }
  let produced = 0;
  while (pos < body.length) {
    const tag = body[pos++]!;
    const type = tag & 0x03;
    let length: number;
    if (type === 0) {
      length = (tag >> 2) + 1;
      if (length > 60) {
        const extra = length - 60;
        need(body, pos + extra, 'snappy literal length');
        length = body.readUIntLE(pos, extra) + 1;
        pos += extra;
      }
      pos += length;
      need(body, pos, 'snappy literal');
    } else {
      let offset: number;
      if (type === 1) {
        need(body, pos + 1, 'snappy copy');
        length = ((tag >> 2) & 0x07) + 4;
        offset = ((tag >> 5) << 8) | body[pos++]!;
      } else {
        const offsetBytes = type === 2 ? 2 : 4;
        need(body, pos + offsetBytes, 'snappy copy');
        length = (tag >> 2) + 1;
        offset = body.readUIntLE(pos, offsetBytes);
        pos += offsetBytes;
      }
      if (offset === 0 || offset > produced) {
        throw new Error(`snappy copy reaches back ${offset} bytes after ${produced} were written`);
      }
    }
    produced += length;
    if (produced > declared)
      throw new Error(`snappy elements produce more than the ${declared} declared bytes`);
  }
  if (produced !== declared) {
    throw new Error(`snappy elements produce ${produced} bytes, the preamble declares ${declared}`);
  }
  return declared;
}

/** Skips a skippable frame at `pos`, or returns -1 when there is none. */
function skipSkippable(body: Buffer, pos: number, magic: number): number {
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 !== SKIPPABLE_MAGIC) return -1;
  need(body, pos + 8, 'skippable frame header');
  const end = pos + 8 + body.readUInt32LE(pos + 4);
  need(body, end, 'skippable frame');
  return end;
}

/**
 * zstd frames (RFC 8878): each block header tells its type and size; a raw or RLE block regenerates exactly
 * its size, a compressed one at most Block_Maximum_Size. Frames whose window exceeds `windowBytesMax` are
 * refused, since a streaming decoder allocates the window before it decodes.
 */
export function zstdDecompressedBytesBound(body: Buffer, windowBytesMax: number): number {
  if (body.length === 0) throw new Error('no zstd frame');
  let total = 0;
  let pos = 0;
  while (pos < body.length) {
    need(body, pos + 4, 'zstd frame magic');
    const magic = body.readUInt32LE(pos);
    const skipped = skipSkippable(body, pos, magic);
    if (skipped >= 0) {
      pos = skipped;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new Error(`not a zstd frame (magic 0x${magic.toString(16)})`);
    need(body, pos + 5, 'zstd frame header');
    const descriptor = body[pos + 4]!;
    pos += 5;
    if ((descriptor & 0x08) !== 0) throw new Error('zstd frame header sets its reserved bit');
    const singleSegment = (descriptor & 0x20) !== 0;
    const sizeFlag = descriptor >> 6;
    let windowBytes = 0;
    if (!singleSegment) {
      need(body, pos + 1, 'zstd window descriptor');
      const wd = body[pos++]!;
      const base = 2 ** (10 + (wd >> 3));
      windowBytes = base + (base / 8) * (wd & 0x07);
      if (windowBytes > windowBytesMax) {
        throw new Error(`zstd window of ${windowBytes} bytes exceeds the ${windowBytesMax}-byte limit`);
      }
    }
    pos += [0, 1, 2, 4][descriptor & 0x03]!; // dictionary id
    const sizeBytes = sizeFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][sizeFlag]!;
    need(body, pos + sizeBytes, 'zstd frame header');
    let contentBytes = Number.POSITIVE_INFINITY;
    if (sizeBytes === 1) contentBytes = body[pos]!;
    else if (sizeBytes === 2) contentBytes = body.readUInt16LE(pos) + 256;
    else if (sizeBytes === 4) contentBytes = body.readUInt32LE(pos);
    else if (sizeBytes === 8) contentBytes = body.readUInt32LE(pos + 4) * 2 ** 32 + body.readUInt32LE(pos);
    pos += sizeBytes;
    if (singleSegment) windowBytes = contentBytes;
    const blockBytesMax = Math.min(windowBytes, ZSTD_BLOCK_BYTES_MAX);
    let blocksBytes = 0;
    for (let last = false; !last; ) {
      need(body, pos + 3, 'zstd block header');
      const header = body[pos]! | (body[pos + 1]! << 8) | (body[pos + 2]! << 16);
      pos += 3;
      last = (header & 1) === 1;
      const type = (header >> 1) & 0x03;
      const size = header >>> 3;
      if (type === 3) throw new Error('zstd block of the reserved type');
      if (size > blockBytesMax) {
        throw new Error(`zstd block of ${size} bytes exceeds the frame's ${blockBytesMax}-byte maximum`);
      }
      blocksBytes += type === 2 ? blockBytesMax : size;
      pos += type === 1 ? 1 : size;
      need(body, pos, 'zstd block');
    }
    if ((descriptor & 0x04) !== 0) pos += 4; // content checksum
    need(body, pos, 'zstd content checksum');
    total += Math.min(contentBytes, blocksBytes);
  }
  return total;
}

/**
 * One LZ4 frame (the LZ4 frame format, as Kafka uses): a block is stored uncompressed (exact size) or
 * decompresses to at most the frame's block maximum; a zero word ends the frame. Exactly one frame, as the
 * producer writes: the decoder (lz4-napi) reads the first frame only and would ignore anything after it.
 */
export function lz4DecompressedBytesBound(body: Buffer): number {
  need(body, 6, 'lz4 frame header');
  const magic = body.readUInt32LE(0);
  if (magic !== LZ4_MAGIC) throw new Error(`not an lz4 frame (magic 0x${magic.toString(16)})`);
  const flags = body[4]!;
  const bd = body[5]!;
  let pos = 6;
  if (flags >> 6 !== 1) throw new Error(`lz4 frame version ${flags >> 6}, expected 1`);
  if ((flags & 0x02) !== 0 || (bd & 0x8f) !== 0) throw new Error('lz4 frame descriptor sets reserved bits');
  const blockBytesMax = LZ4_BLOCK_BYTES_MAX[((bd >> 4) & 0x07) - 4];
  if (blockBytesMax === undefined) throw new Error(`lz4 block maximum code ${(bd >> 4) & 0x07}`);
  const blockChecksumBytes = (flags & 0x10) !== 0 ? 4 : 0;
  let contentBytes = Number.POSITIVE_INFINITY;
  if ((flags & 0x08) !== 0) {
    need(body, pos + 8, 'lz4 content size');
    contentBytes = body.readUInt32LE(pos + 4) * 2 ** 32 + body.readUInt32LE(pos);
    pos += 8;
  }
  if ((flags & 0x01) !== 0) pos += 4; // dictionary id
  pos += 1; // header checksum (the decoder checks it)
  let blocksBytes = 0;
  for (;;) {
    need(body, pos + 4, 'lz4 block size');
    const word = body.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    if (size > blockBytesMax) {
      throw new Error(`lz4 block of ${size} bytes exceeds the frame's ${blockBytesMax}-byte maximum`);
    }
    blocksBytes += word >>> 31 === 1 ? size : blockBytesMax;
    pos += size + blockChecksumBytes;
    need(body, pos, 'lz4 block');
  }
  if ((flags & 0x04) !== 0) pos += 4; // content checksum
  need(body, pos, 'lz4 content checksum');
  if (pos !== body.length) throw new Error(`${body.length - pos} bytes after the lz4 frame`);
  return Math.min(contentBytes, blocksBytes);
}
