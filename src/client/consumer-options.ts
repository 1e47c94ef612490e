/** What a consumer is told: its options and their defaults. */
import { DECOMPRESSED_RECORDS_BYTES_MAX } from '../protocol/limits.js';
import type { GroupOptions } from './consumer-group.js';
import type { AutoOffsetReset } from './fetch-round.js';
import type { Random, Timers } from './timers.js';

export interface ConsumerOptions {
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  /**
   * Bytes one fetch asks of each partition (at least one whole batch comes back). Default 4 MiB, not Kafka's
   * 1 MiB: a catching-up consumer pays a round trip per fetch, and on loopback 4 MiB rounds read ~15-20% more
   * messages per second than 1 MiB ones (docs/benchmarks.md); maxBytes still bounds the whole response.
   */
  partitionMaxBytes?: number;
  /**
   * What one fetched batch's records may decompress to; a batch claiming or inflating to more is refused
   * with BATCH_TOO_LARGE (a decompression bomb). Default 100 MiB; raise it to read from brokers whose
   * `limits.frame_bytes_max` is above that, which accept batches decompressing up to their frame limit.
   */
  decompressedBytesMax?: number;
  /** Where to start when there is no position or it is out of range. */
  autoOffsetReset?: AutoOffsetReset;
  /** Response timeout on top of maxWaitMs for each fetch. */
  requestTimeoutMs?: number;
  /**
   * Consecutive retriable failures poll() rides out (backing off, returning no messages) before it throws.
   * Unbounded by default, like Kafka consumers: a broker restart is a pause, not the end of the stream.
   */
  retries?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /**
   * Read ahead: fetch the next rounds while the caller processes this one (rounds-ahead.ts). At most
   * PREFETCH_ROUNDS rounds are held ahead, so at most that many times maxBytes of memory.
   */
  prefetch?: boolean;
  timers?: Timers;
  random?: Random;
  /**
   * Join this consumer group on subscribe() (with the group's session, heartbeat and rebalance timeouts,
   * assignors, static `groupInstanceId`, auto-commit: see GroupOptions).
   */
  group?: GroupOptions;
}

export const CONSUMER_DEFAULTS = {
  maxWaitMs: 500,
  minBytes: 1,
  maxBytes: 50 * 1024 * 1024,
  partitionMaxBytes: 4 * 1024 * 1024,
  decompressedBytesMax: DECOMPRESSED_RECORDS_BYTES_MAX,
  autoOffsetReset: 'latest' as AutoOffsetReset,
  requestTimeoutMs: 30_000,
  retries: Number.POSITIVE_INFINITY,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  prefetch: true,
} as const;
