/** What a producer is told: its options and defaults, the messages of a send() and what each one became. */
import { StreamBusError } from '../errors/index.js';
import { type Compression, checkCompression } from '../protocol/compression.js';
import type { Acks } from '../protocol/index.js';
import type { RecordHeader } from '../protocol/record-batch.js';
import { checkWholeNumbers } from './option-checks.js';
import type { Clock, Random, Timers } from './timers.js';

export interface ProducerOptions {
  /** Default acks for send(): 0 none, 1 leader, -1 all in-sync replicas. */
  acks?: Acks;
  lingerMs?: number;
  /** A batch is sent as soon as it reaches this many bytes. */
  batchBytes?: number;
  /** send() waits while this many bytes are batched or in flight. */
  bufferBytesMax?: number;
  /**
   * Largest Produce request (Kafka's max.request.size): the brokers' limits.frame_bytes_max (64 MiB by
   * default). Batches for one leader go in several requests when one would be larger; a message larger
   * than a request can carry fails its send() at once with BATCH_TOO_LARGE. A broker that refuses a request
   * as over a lower frame limit (FRAME_TOO_LARGE) says its limit, and the producer keeps to it from then on.
   */
  maxRequestBytes?: number;
  /** Capped at 5 when idempotent. */
  maxInFlightRequests?: number;
  /**
   * Default true: batches carry a producer id and per-partition sequence so a retried batch the leader
   * already has is not appended twice. acks=0 batches never do (nobody would learn of a gap).
   */
  idempotent?: boolean;
  /**
   * How batches are compressed (Kafka's compression.type): 'none' (default), 'gzip', 'snappy' (one raw
   * block), 'lz4' (an LZ4 frame) or 'zstd' (level 3). The codec's bits in each batch are Kafka's.
   */
  compression?: Compression;
  /**
   * Retries of one batch; unbounded by default: `deliveryTimeoutMs` bounds them. Waiting for a partition
   * that has no leader yet (an election) spends none: the batch waits within the delivery timeout.
   */
  retries?: number;
  /**
   * How long a message may take from send() to its acknowledgement, retries included (Kafka's
   * delivery.timeout.ms, 2 minutes by default). A batch whose next retry would start later fails with its
   * last error; one still waiting for its answer then (a leader that stopped answering, a connection in its
   * reconnect backoff) fails with the error it was being retried for, or REQUEST_TIMED_OUT on its first
   * attempt, and the broker is asked to wait no longer than that.
   */
  deliveryTimeoutMs?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /**
   * How long the broker may take to satisfy acks (sent in the request); the producer waits 1 s longer for
   * the answer, then retries (after fresh metadata).
   */
  ackTimeoutMs?: number;
  clock?: Clock;
  timers?: Timers;
  random?: Random;
}

export const PRODUCER_DEFAULTS = {
  acks: -1 as Acks,
  lingerMs: 5,
  batchBytes: 16_384,
  bufferBytesMax: 32 * 1024 * 1024,
  maxRequestBytes: 64 * 1024 * 1024,
  maxInFlightRequests: 5,
  idempotent: true,
  compression: 'none' as Compression,
  retries: Number.POSITIVE_INFINITY,
  deliveryTimeoutMs: 120_000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  ackTimeoutMs: 30_000,
} as const;

export type ProducerSettings = Required<Omit<ProducerOptions, 'clock' | 'timers' | 'random'>>;

/** Each numeric option's least value: below it the producer would hang (0 bytes of buffer) or mislead. */
const LEAST: Readonly<Record<string, number>> = {
  lingerMs: 0,
  batchBytes: 1,
  bufferBytesMax: 1,
  maxRequestBytes: 1,
  maxInFlightRequests: 1,
  retries: 0,
  deliveryTimeoutMs: 1,
  retryBackoffMs: 0,
  retryBackoffMaxMs: 0,
  ackTimeoutMs: 1,
};

/** The options with defaults for what is unset; a value that cannot work is INVALID_CONFIG naming it. */
export function producerSettings(
  options: Omit<ProducerOptions, 'clock' | 'timers' | 'random'>,
): ProducerSettings {
  const o: ProducerSettings = { ...PRODUCER_DEFAULTS, ...options };
  if (![0, 1, -1].includes(o.acks)) throw new StreamBusError('INVALID_ACKS', { operation: 'producer' });
  checkCompression(o.compression, 'producer');
  // retries may be Infinity (the default: bounded by deliveryTimeoutMs instead).
  checkWholeNumbers('producer', o, LEAST, ['retries']);
  return o;
}

export interface ProducerMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeader[];
  partition?: number;
  /** ms since the epoch; defaults to the time of send(). */
  timestamp?: number;
}

export interface SendRequest {
  topic: string;
  messages: ProducerMessage[];
  acks?: Acks;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0: nobody tells the producer. */
  offset: number;
  timestamp: number;
}
