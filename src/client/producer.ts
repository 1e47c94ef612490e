/**
 * The producer: batches messages per partition (up to `batchBytes`, waiting at most `lingerMs` for more),
 * sends the ready batches of each leader in one Produce request (at most `maxInFlightRequests` at once), and
 * retries batches that fail with a retriable or transient error, with backoff and a bounded attempt count,
 * refreshing metadata when the error says it is stale. Keyed messages go to Kafka's murmur2 partition;
 * keyless ones stick to one partition per batch and move round-robin from batch to batch.
 */
import { isRetriable, StreamBusError, toStreamBusError } from '../errors/index.js';
import { type Acks, ApiKey, fromWireError, type ProduceResponse } from '../protocol/index.js';
import {
  type Compression,
  encodeRecordBatch,
  type ProducerRecord,
  type RecordHeader,
} from '../protocol/record-batch.js';
import { type BackoffPolicy, backoffMs } from './backoff.js';
import { type Cluster, STALE_METADATA_CODES } from './cluster.js';
import { PartitionHolds } from './partition-holds.js';
import { partitionForKey } from './partitioner.js';
import {
  type Clock,
  clientClock,
  clientTimers,
  type Random,
  type TimerHandle,
  type Timers,
} from './timers.js';

export interface ProducerOptions {
  /** Default acks for send(): 0 none, 1 leader, -1 all in-sync replicas. */
  acks?: Acks;
  lingerMs?: number;
  /** A batch is sent as soon as it reaches this many bytes. */
  batchBytes?: number;
  /** send() waits while this many bytes are batched or in flight. */
  bufferBytesMax?: number;
  maxInFlightRequests?: number;
  compression?: Compression;
  retries?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** How long the broker may take to satisfy acks (sent in the request). */
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
  maxInFlightRequests: 5,
  compression: 'none' as Compression,
  retries: 5,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  ackTimeoutMs: 30_000,
} as const;

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

/**
 * One send() call. Its records may spread over several batches; it settles once, when the last of them is
 * acknowledged (or the first fails). One promise per call, not per message, keeps the hot path light.
 */
interface SendTracker {
  results: RecordMetadata[];
  remaining: number;
  settled: boolean;
  resolve(results: RecordMetadata[]): void;
  reject(err: unknown): void;
}

interface Batch {
  topic: string;
  partition: number;
  acks: Acks;
  records: ProducerRecord[];
  /** For records[i]: the send() it came from and its index in that call's results. */
  trackers: SendTracker[];
  resultIndexes: number[];
  sizeBytes: number;
  timer: TimerHandle | null;
  bytes: Buffer | null;
  attempts: number;
  /** Creation order; retried batches go back in this order so a partition's batches stay in sequence. */
  seq: number;
  /** Settles when the batch is acknowledged or has failed for good (what flush() waits for). */
  done: Promise<void>;
  markDone: () => void;
}

/** Bytes of batch and record framing beyond keys, values and headers (an estimate for batch sizing). */
const BATCH_OVERHEAD_BYTES = 61;
const RECORD_OVERHEAD_BYTES = 24;

function sizeOf(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

export class Producer {
  private readonly o: Required<Omit<ProducerOptions, 'clock' | 'timers' | 'random'>>;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly backoff: BackoffPolicy;
  private readonly open = new Map<string, Batch>();
  private readonly unfinished = new Set<Batch>();
  private readonly sticky = new Map<string, number>();
  private readonly holds: PartitionHolds;
  private ready: Batch[] = [];
  private nextSeq = 0;
  /** Partitions held back while one of their batches waits out its retry backoff, until this time. */
  private inFlightRequests = 0;
  private draining = false;
  private bufferedBytes = 0;
  private spaceWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    options: ProducerOptions = {},
  ) {
    const { clock, timers, random, ...rest } = options;
    this.o = { ...PRODUCER_DEFAULTS, ...rest };
    if (![0, 1, -1].includes(this.o.acks))
      throw new StreamBusError('INVALID_ACKS', { operation: 'producer' });
    this.clock = clock ?? clientClock;
    this.timers = timers ?? clientTimers;
    this.random = random ?? Math.random;
    this.backoff = { baseMs: this.o.retryBackoffMs, maxMs: this.o.retryBackoffMaxMs };
    this.holds = new PartitionHolds(this.clock, this.timers, () => void this.drain());
  }

  /** Queues messages and resolves with each one's partition and offset once acknowledged per acks. */
  async send(request: SendRequest): Promise<RecordMetadata[]> {
    if (this.closed)
      throw new StreamBusError('CONNECTION_CLOSED', {
        operation: 'producer.send',
        message: 'producer is closed',
      });
    const acks = request.acks ?? this.o.acks;
    if (acks !== 0 && acks !== 1 && acks !== -1)
      throw new StreamBusError('INVALID_ACKS', { operation: 'producer.send' });
    if (request.messages.length === 0) return [];
    const partitions = await this.cluster.partitionCount(request.topic);
    let tracker!: SendTracker;
    const settledPromise = new Promise<RecordMetadata[]>((resolve, reject) => {
      tracker = {
        results: new Array(request.messages.length),
        remaining: request.messages.length,
        settled: false,
        resolve,
        reject,
      };
    });
    for (let index = 0; index < request.messages.length; index++) {
      const message = request.messages[index]!;
      let partition: number;
      try {
        partition = this.choosePartition(request.topic, message, partitions);
      } catch (err) {
        settleFailed(tracker, err);
        break;
      }
      const record: ProducerRecord = {
        key: message.key ?? null,
        value: message.value,
        timestamp: message.timestamp ?? this.clock.nowMs(),
      };
      if (message.headers) record.headers = message.headers;
      const size = RECORD_OVERHEAD_BYTES + sizeOf(message.key) + sizeOf(message.value);
      while (this.bufferedBytes >= this.o.bufferBytesMax) {
        await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
      }
      this.append(request.topic, partition, acks, record, size, tracker, index);
    }
    return settledPromise;
  }

  /** Sends everything batched so far and waits until all of it is acknowledged or has failed. */
  async flush(): Promise<void> {
    for (const batch of [...this.open.values()]) this.seal(batch);
    while (this.unfinished.size > 0) await Promise.all([...this.unfinished].map((b) => b.done));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
  }

  private choosePartition(topic: string, message: ProducerMessage, partitions: number): number {
    if (message.partition !== undefined) {
      if (!Number.isInteger(message.partition) || message.partition < 0 || message.partition >= partitions) {
        throw new StreamBusError('UNKNOWN_TOPIC_OR_PARTITION', {
          operation: 'producer.send',
          message: `partition ${message.partition} does not exist: ${topic} has ${partitions}`,
        });
      }
      return message.partition;
    }
    if (message.key !== null && message.key !== undefined) return partitionForKey(message.key, partitions);
    let p = this.sticky.get(topic);
    if (p === undefined) p = Math.floor(this.random() * partitions);
    p %= partitions;
    this.sticky.set(topic, p);
    return p;
  }

  private append(
    topic: string,
    partition: number,
    acks: Acks,
    record: ProducerRecord,
    size: number,
    tracker: SendTracker,
    resultIndex: number,
  ): void {
    const key = `${acks}\u0000${partition}\u0000${topic}`;
    let batch = this.open.get(key);
    if (batch && batch.sizeBytes + size > this.o.batchBytes) {
      this.seal(batch);
      batch = undefined;
    }
    if (!batch) {
      let markDone = (): void => undefined;
      const done = new Promise<void>((resolve) => {
        markDone = resolve;
      });
      batch = {
        topic,
        partition,
        acks,
        records: [],
        trackers: [],
        resultIndexes: [],
        sizeBytes: BATCH_OVERHEAD_BYTES,
        timer: null,
        bytes: null,
        attempts: 0,
        seq: this.nextSeq++,
        done,
        markDone,
      };
      this.open.set(key, batch);
      this.unfinished.add(batch);
      const b = batch;
      const sealLater = (): void => {
        b.timer = null;
        this.seal(b);
      };
      // lingerMs 0 still gathers what this turn of the event loop sends, without a timer's 1 ms floor.
      if (this.o.lingerMs <= 0) setImmediate(sealLater);
      else b.timer = this.timers.setTimeout(sealLater, this.o.lingerMs);
    }
    batch.records.push(record);
    batch.trackers.push(tracker);
    batch.resultIndexes.push(resultIndex);
    batch.sizeBytes += size;
    this.bufferedBytes += size;
    if (batch.sizeBytes >= this.o.batchBytes) this.seal(batch);
  }

  /** Closes a batch to further records, encodes it and queues it for sending. */
  private seal(batch: Batch): void {
    const key = `${batch.acks}\u0000${batch.partition}\u0000${batch.topic}`;
    if (this.open.get(key) !== batch) return;
    this.open.delete(key);
    if (batch.timer !== null) this.timers.clearTimeout(batch.timer);
    batch.timer = null;
    // The next keyless batch of this topic goes to the next partition.
    const sticky = this.sticky.get(batch.topic);
    if (sticky === batch.partition) this.sticky.set(batch.topic, sticky + 1);
    try {
      batch.bytes = encodeRecordBatch(batch.records, {
        compression: this.o.compression,
        baseTimestamp: batch.records[0]?.timestamp ?? this.clock.nowMs(),
      });
    } catch (err) {
      this.finish(batch, toStreamBusError(err, 'producer.encode'));
      return;
    }
    this.ready.push(batch);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.ready.length > 0 && this.inFlightRequests < this.o.maxInFlightRequests) {
        const batches = this.takeSendable();
        if (batches.length === 0) break;
        const groups = new Map<string, { leaderId: number; acks: Acks; batches: Batch[] }>();
        for (const batch of batches) {
          let leaderId: number;
          try {
            leaderId = await this.cluster.leaderFor(batch.topic, batch.partition);
          } catch (err) {
            this.failOrRetry(batch, toStreamBusError(err, 'producer.metadata'));
            continue;
          }
          const key = `${leaderId}/${batch.acks}`;
          const group = groups.get(key) ?? { leaderId, acks: batch.acks, batches: [] };
          group.batches.push(batch);
          groups.set(key, group);
        }
        const pendingGroups = [...groups.values()];
        while (pendingGroups.length > 0 && this.inFlightRequests < this.o.maxInFlightRequests) {
          const group = pendingGroups.shift()!;
          this.inFlightRequests++;
          void this.sendGroup(group.leaderId, group.acks, group.batches).finally(() => {
            this.inFlightRequests--;
            void this.drain();
          });
        }
        // Over the in-flight limit: keep the rest first in line, in order.
        for (const b of pendingGroups.flatMap((g) => g.batches)) this.requeue(b);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Removes and returns the ready batches whose partition is not held back by a pending retry. */
  private takeSendable(): Batch[] {
    const { free, held } = this.holds.split(this.ready);
    this.ready = held;
    return free;
  }

  /** Puts a batch back among the ready ones in creation order. */
  private requeue(batch: Batch): void {
    const at = this.ready.findIndex((b) => b.seq > batch.seq);
    if (at < 0) this.ready.push(batch);
    else this.ready.splice(at, 0, batch);
  }

  private async sendGroup(leaderId: number, acks: Acks, batches: Batch[]): Promise<void> {
    // Batches of the same partition travel concatenated in one entry, in order; the broker appends them
    // contiguously, so each batch's base offset follows from the record counts before it.
    const entries = new Map<string, Batch[]>();
    for (const b of batches) {
      const key = `${b.partition}\u0000${b.topic}`;
      entries.set(key, [...(entries.get(key) ?? []), b]);
    }
    let response: ProduceResponse;
    try {
      response = await this.cluster.request(
        leaderId,
        ApiKey.Produce,
        {
          acks,
          timeoutMs: this.o.ackTimeoutMs,
          partitions: [...entries.values()].map((group) => ({
            topic: group[0]!.topic,
            partition: group[0]!.partition,
            records: group.length === 1 ? group[0]!.bytes! : Buffer.concat(group.map((b) => b.bytes!)),
          })),
        },
        { timeoutMs: this.o.ackTimeoutMs + 5_000 },
      );
    } catch (err) {
      const e = toStreamBusError(err, 'producer.send');
      for (const b of batches) this.failOrRetry(b, e);
      return;
    }
    for (const group of entries.values()) {
      const { topic, partition } = group[0]!;
      if (acks === 0) {
        for (const b of group) this.finish(b, null, -1, -1);
        continue;
      }
      const result = response.partitions.find((r) => r.topic === topic && r.partition === partition);
      if (!result) {
        const err = new StreamBusError('UNKNOWN_SERVER_ERROR', {
          operation: 'producer.send',
          message: `no result for ${topic}/${partition} in the produce response`,
        });
        for (const b of group) this.finish(b, err);
      } else if (result.error !== null) {
        const err = fromWireError(result.error, 'producer.send');
        for (const b of group) this.failOrRetry(b, err);
      } else {
        let offset = result.baseOffset;
        for (const b of group) {
          this.finish(b, null, offset, result.logAppendTimeMs);
          offset += b.records.length;
        }
      }
    }
  }

  private failOrRetry(batch: Batch, err: StreamBusError): void {
    if (
      STALE_METADATA_CODES.has(err.code) ||
      err.code === 'NETWORK_ERROR' ||
      err.code === 'CONNECTION_CLOSED'
    ) {
      this.cluster.invalidateMetadata();
    }
    if (!isRetriable(err) || batch.attempts >= this.o.retries) {
      this.finish(batch, err);
      return;
    }
    const waitMs = backoffMs(batch.attempts, this.backoff, this.random);
    batch.attempts++;
    // The batch goes back in creation order and its partition is held until the backoff ends, so newer
    // batches of that partition cannot overtake it. (With several requests in flight a newer batch already
    // sent can still land first: only idempotent sequence numbers close that gap.)
    this.holds.hold(batch, waitMs);
    this.requeue(batch);
    void this.drain();
  }

  private finish(batch: Batch, err: StreamBusError | null, baseOffset = -1, logAppendTimeMs = -1): void {
    this.unfinished.delete(batch);
    this.bufferedBytes -= batch.sizeBytes - BATCH_OVERHEAD_BYTES;
    const { trackers, resultIndexes, records } = batch;
    batch.trackers = [];
    batch.resultIndexes = [];
    for (let i = 0; i < trackers.length; i++) {
      const tracker = trackers[i]!;
      if (tracker.settled) continue;
      if (err) {
        settleFailed(tracker, err);
        continue;
      }
      tracker.results[resultIndexes[i]!] = {
        topic: batch.topic,
        partition: batch.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + i,
        timestamp: logAppendTimeMs >= 0 ? logAppendTimeMs : (records[i]?.timestamp ?? -1),
      };
      if (--tracker.remaining === 0) {
        tracker.settled = true;
        tracker.resolve(tracker.results);
      }
    }
    batch.markDone();
    const wake = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of wake) w();
  }
}

function settleFailed(tracker: SendTracker, err: unknown): void {
  if (tracker.settled) return;
  tracker.settled = true;
  tracker.reject(err);
}
