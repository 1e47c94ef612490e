/**
 * Bounds the codec enforces on untrusted input, in one place (STYLE.md item 6). The broker's own limits
 * (frame size, in-flight requests) come from config; these are the structural ceilings below them.
 */
/** Default for FrameDecoder when the caller gives no limit: bytes after the 4-byte length prefix. */
export const DEFAULT_FRAME_BYTES_MAX = 100 * 1024 * 1024;
/** Bytes of the u32 length prefix in front of every frame. */
export const FRAME_LENGTH_BYTES = 4;
/** Client ids travel in every request header; a few hundred bytes is plenty. */
export const CLIENT_ID_BYTES_MAX = 1024;
/** Topic names, hosts, config keys: Kafka caps topic names at 249 characters. */
export const NAME_CHARS_MAX = 1024;
/** Free text: error messages, config values, version strings. */
export const TEXT_CHARS_MAX = 64 * 1024;
/** Elements of any array in a body (topics, partitions, replicas). */
export const ARRAY_LENGTH_MAX = 100_000;
/** Entries of a config map. */
export const CONFIG_ENTRIES_MAX = 1024;
/**
 * Decompressed records of one batch, by default (the SDK consumer's `decompressedBytesMax`). No uncompressed
 * batch can carry more than a frame, so neither may a compressed one: larger claims are decompression bombs,
 * refused before a decoder allocates them.
 */
export const DECOMPRESSED_RECORDS_BYTES_MAX = DEFAULT_FRAME_BYTES_MAX;

/**
 * A broker's bound on one batch's decompressed records: DECOMPRESSED_RECORDS_BYTES_MAX, or its frame limit
 * (limits.frame_bytes_max) where that is larger, since a compressed batch may carry what an uncompressed one
 * could. More would only admit batches no producer could have sent uncompressed.
 */
export function decompressedRecordsBytesMax(frameBytesMax: number): number {
  return Math.max(DECOMPRESSED_RECORDS_BYTES_MAX, frameBytesMax);
}
/**
 * A zstd frame's window, which a streaming decoder allocates up front. RFC 8878 asks decoders to support
 * 8 MiB; the producer's level 3 uses at most 2 MiB.
 */
export const ZSTD_WINDOW_BYTES_MAX = 8 * 1024 * 1024;
