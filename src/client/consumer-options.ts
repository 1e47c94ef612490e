/**
 * What a consumer is told: its options and their defaults, checked when the consumer is made (a typo such
 * as autoOffsetReset 'earlist' must not quietly read as latest).
 */
import { DECOMPRESSED_RECORDS_BYTES_MAX } from '../protocol/limits.js';
import { ASSIGNORS } from './assignors/index.js';
import { GROUP_DEFAULTS, type GroupOptions } from './consumer-group.js';
import type { AutoOffsetReset } from './fetch-round.js';
import { checkOneOf, checkWholeNumbers, invalidOption } from './option-checks.js';
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
  /**
   * The consumer's rack (Kafka's client.rack), matched against the brokers' `broker.rack`: a partition's
   * leader may then point this consumer at an in-sync replica in the same rack, and it reads that partition
   * there (fetch from followers, docs/replication.md; read-replicas.ts). Default "": read from leaders.
   */
  clientRack?: string;
  /** Where to start when there is no position or it is out of range. */
  autoOffsetReset?: AutoOffsetReset;
  /** Response timeout on top of maxWaitMs for each fetch. */
  requestTimeoutMs?: number;
  /**
   * Consecutive retriable failures poll() rides out (backing off, returning no messages) before it throws:
   * failed fetches, and for a group member failed joins (a coordinator that cannot be found, say).
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
  clientRack: '',
  requestTimeoutMs: 30_000,
  retries: Number.POSITIVE_INFINITY,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  prefetch: true,
} as const;

export type ConsumerSettings = Required<Omit<ConsumerOptions, 'timers' | 'random' | 'group'>>;

export type GroupSettings = Required<Omit<GroupOptions, 'groupInstanceId'>> & {
  groupInstanceId: string | null;
};

const AUTO_OFFSET_RESETS: readonly AutoOffsetReset[] = ['earliest', 'latest', 'none'];

/** Each numeric consumer option's least value. */
const CONSUMER_LEAST: Readonly<Record<string, number>> = {
  maxWaitMs: 0,
  minBytes: 0,
  maxBytes: 1,
  partitionMaxBytes: 1,
  decompressedBytesMax: 1,
  requestTimeoutMs: 1,
  retries: 0,
  retryBackoffMs: 0,
  retryBackoffMaxMs: 0,
};

const GROUP_LEAST: Readonly<Record<string, number>> = {
  sessionTimeoutMs: 1,
  heartbeatIntervalMs: 1,
  rebalanceTimeoutMs: 1,
  autoCommitIntervalMs: 1,
};

/** The options with defaults for what is unset; a value that cannot work is INVALID_CONFIG naming it. */
export function consumerSettings(
  options: Omit<ConsumerOptions, 'timers' | 'random' | 'group'>,
): ConsumerSettings {
  const o: ConsumerSettings = { ...CONSUMER_DEFAULTS, ...options };
  // retries may be Infinity (the default: a broker restart is a pause, not the end of the stream).
  checkWholeNumbers('consumer', o, CONSUMER_LEAST, ['retries']);
  checkOneOf('consumer', 'autoOffsetReset', o.autoOffsetReset, AUTO_OFFSET_RESETS);
  checkOneOf('consumer', 'prefetch', o.prefetch, [true, false]);
  if (typeof o.clientRack !== 'string')
    throw invalidOption('consumer', 'clientRack', 'a string', o.clientRack);
  return o;
}

/** The group's options with defaults, checked as consumerSettings checks the consumer's. */
export function groupSettings(options: GroupOptions): GroupSettings {
  const o: GroupSettings = {
    ...GROUP_DEFAULTS,
    ...options,
    groupInstanceId: options.groupInstanceId ?? null,
  };
  const owner = 'consumer group';
  if (typeof o.groupId !== 'string' || o.groupId === '')
    throw invalidOption(owner, 'groupId', 'a non-empty string', o.groupId);
  if (o.groupInstanceId !== null && (typeof o.groupInstanceId !== 'string' || o.groupInstanceId === ''))
    throw invalidOption(owner, 'groupInstanceId', 'a non-empty string or null', o.groupInstanceId);
  checkWholeNumbers(owner, o, GROUP_LEAST);
  // The coordinator would end the session between two heartbeats.
  if (o.heartbeatIntervalMs >= o.sessionTimeoutMs) {
    throw invalidOption(
      owner,
      'heartbeatIntervalMs',
      `below sessionTimeoutMs (${o.sessionTimeoutMs})`,
      o.heartbeatIntervalMs,
    );
  }
  const known = Object.keys(ASSIGNORS).sort();
  if (
    !Array.isArray(o.assignors) ||
    o.assignors.length === 0 ||
    o.assignors.some((a) => !known.includes(a))
  ) {
    throw invalidOption(owner, 'assignors', `a non-empty list of ${known.join(', ')}`, o.assignors);
  }
  checkOneOf(owner, 'autoCommit', o.autoCommit, [true, false]);
  return o;
}
