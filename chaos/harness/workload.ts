/**
 * The workload: producers sending sequenced values (`${producerId}:${seq}`, acks=all, a bounded number of
 * sends in flight, a bounded rate) and consumers reading assigned partitions, every attempt, ack, failure
 * and read recorded in the history. Producer p writes to partition p % partitions, so each producer's
 * acknowledged writes must appear in one partition in seq order.
 */
import {
  type Consumer,
  createClient,
  isStreamBusError,
  LATEST_TIMESTAMP,
  type Producer,
  type StreamBusClient,
} from '../../src/index.js';
import { type Clock, sleep } from './clock.js';
import { type HistorySink, seqValue } from './history.js';

export interface WorkloadOptions {
  bootstrap: string[];
  topic: string;
  partitions: number;
  /** 1 for a standalone broker; 3 for a cluster run. */
  replicationFactor?: number;
  /** Topic config min_insync_replicas (cluster runs: 2); unset: the broker default. */
  minInsyncReplicas?: number;
  producers: number;
  /** Consumers reading assigned partitions (each partition by one of them). */
  consumers: number;
  /** Members of the consumer group `GROUP_ID` sharing the topic (auto-commit); 0: no group. */
  groupMembers?: number;
  /**
   * Idempotent producers (the SDK default): a retried batch is written once, so the run declares any
   * duplicate an anomaly. Off for a standalone broker, whose producer state does not survive a restart.
   */
  idempotent?: boolean;
  /** Sends awaiting their outcome, per producer. */
  inFlightMax: number;
  /** Messages per second per producer (upper bound). */
  ratePerSec: number;
  /** Client request timeout: short, so a paused broker turns into failures, not stuck calls. */
  requestTimeoutMs: number;
  history: HistorySink;
  clock: Clock;
}

/** The consumer group of the workload's group members. */
export const GROUP_ID = 'chaos-group';
/** How often the group's committed offsets are read back (the checker wants them never to go backwards). */
const COMMIT_SAMPLE_MS = 500;

function codeOf(err: unknown): string {
  if (isStreamBusError(err)) return err.code;
  return err instanceof Error ? err.message : String(err);
}

export class Workload {
  private readonly clients: StreamBusClient[] = [];
  private readonly stopProducers = new AbortController();
  private readonly stopConsumers = new AbortController();
  private producerLoops: Promise<void>[] = [];
  private consumerLoops: Promise<void>[] = [];
  private groupLoops: Promise<void>[] = [];
  /** Acknowledged writes per partition (for aiming faults at the busiest one). */
  private readonly acksByPartition = new Map<number, number>();

  constructor(private readonly o: WorkloadOptions) {}

  private client(id: string): StreamBusClient {
    const c = createClient({
      bootstrap: this.o.bootstrap,
      clientId: id,
      requestTimeoutMs: this.o.requestTimeoutMs,
      connectTimeoutMs: Math.min(this.o.requestTimeoutMs, 3000),
      reconnectBackoffMaxMs: 500,
      metadataMaxAgeMs: 5000,
    });
    this.clients.push(c);
    return c;
  }

  /** Creates the topic, retrying while a fresh cluster is still electing its controller. */
  async createTopic(timeoutMs = 30_000): Promise<void> {
    const admin = this.client('chaos-admin').admin();
    const deadline = this.o.clock.nowMs() + timeoutMs;
    const configs: Record<string, string> =
      this.o.minInsyncReplicas === undefined ? {} : { min_insync_replicas: String(this.o.minInsyncReplicas) };
    for (;;) {
      try {
        await admin.createTopic({
          name: this.o.topic,
          partitions: this.o.partitions,
          replicationFactor: this.o.replicationFactor ?? 1,
          configs,
        });
        return;
      } catch (err) {
        // An earlier attempt may have created it before its response was lost.
        if (isStreamBusError(err) && err.code === 'TOPIC_ALREADY_EXISTS') return;
        if (this.o.clock.nowMs() > deadline) throw err;
        await sleep(500);
      }
    }
  }

  start(): void {
    for (let i = 0; i < this.o.consumers; i++) this.consumerLoops.push(this.consume(i));
    const members = this.o.groupMembers ?? 0;
    for (let i = 0; i < members; i++) this.consumerLoops.push(this.consumeInGroup(i));
    if (members > 0) this.groupLoops.push(this.sampleCommits());
    for (let i = 0; i < this.o.producers; i++) this.producerLoops.push(this.produce(i));
  }

  /** The partition with the most acknowledged writes so far (0 before any). */
  busiestPartition(): number {
    let best = 0;
    let most = -1;
    for (const [partition, n] of this.acksByPartition) {
      if (n > most) {
        best = partition;
        most = n;
      }
    }
    return best;
  }

  /** Stops sending and waits for every outstanding send to settle; consumers keep reading. */
  async stopProducing(): Promise<void> {
    this.stopProducers.abort();
    await Promise.all(this.producerLoops);
  }

  async stopConsuming(): Promise<void> {
    this.stopConsumers.abort();
    await Promise.all([...this.consumerLoops, ...this.groupLoops]);
  }

  async close(): Promise<void> {
    this.stopProducers.abort();
    this.stopConsumers.abort();
    await Promise.allSettled([...this.producerLoops, ...this.consumerLoops, ...this.groupLoops]);
    await Promise.allSettled(this.clients.map((c) => c.close()));
  }

  private async produce(index: number): Promise<void> {
    const id = `p${index}`;
    const partition = index % this.o.partitions;
    const { history, clock } = this.o;
    // Idempotent producers keep their order with several requests in flight (sequence numbers); a
    // non-idempotent one needs a single request in flight so its retries cannot reorder its own writes.
    const idempotent = this.o.idempotent ?? false;
    const producer: Producer = this.client(id).producer({
      idempotent,
      acks: -1,
      lingerMs: 2,
      ...(idempotent ? {} : { maxInFlightRequests: 1 }),
      retries: 3,
      retryBackoffMs: 100,
      retryBackoffMaxMs: 500,
      ackTimeoutMs: this.o.requestTimeoutMs,
    });
    const signal = this.stopProducers.signal;
    const intervalMs = 1000 / this.o.ratePerSec;
    let outstanding = 0;
    let wake: (() => void) | null = null;
    const settled = (): void => {
      outstanding--;
      const w = wake;
      wake = null;
      w?.();
    };
    for (let seq = 0; !signal.aborted; seq++) {
      while (outstanding >= this.o.inFlightMax && !signal.aborted) {
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      if (signal.aborted) break;
      outstanding++;
      history.append({ t: clock.nowMs(), type: 'send', producer: id, seq, partition });
      producer.send({ topic: this.o.topic, messages: [{ value: seqValue(id, seq), partition }] }).then(
        (md) => {
          const m = md[0];
          if (m !== undefined) {
            this.acksByPartition.set(m.partition, (this.acksByPartition.get(m.partition) ?? 0) + 1);
            history.append({
              t: clock.nowMs(),
              type: 'ack',
              producer: id,
              seq,
              partition: m.partition,
              offset: m.offset,
            });
          }
          settled();
        },
        (err: unknown) => {
          history.append({ t: clock.nowMs(), type: 'fail', producer: id, seq, partition, code: codeOf(err) });
          settled();
        },
      );
      await sleep(intervalMs, signal);
    }
    while (outstanding > 0) {
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  }

  /** A member of GROUP_ID: reads whatever the group assigns it, auto-commits every second. */
  private async consumeInGroup(index: number): Promise<void> {
    const id = `g${index}`;
    const { history, clock } = this.o;
    const consumer: Consumer = this.client(id).consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 200,
      requestTimeoutMs: this.o.requestTimeoutMs,
      group: {
        groupId: GROUP_ID,
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 1_000,
        autoCommitIntervalMs: 1_000,
      },
    });
    consumer.subscribe([this.o.topic], {
      onAssigned: (partitions) =>
        history.append({
          t: clock.nowMs(),
          type: 'note',
          message: `${id} assigned ${partitions.map((p) => p.partition).join(',') || 'nothing new'}`,
        }),
    });
    await this.pollUntilStopped(id, consumer);
    await consumer.close().catch(() => undefined);
  }

  /** Reads the group's committed offsets back from its coordinator, as the checker's commit events. */
  private async sampleCommits(): Promise<void> {
    const groups = this.client('chaos-group-admin').admin().groups();
    const { history, clock } = this.o;
    const signal = this.stopConsumers.signal;
    while (!signal.aborted) {
      try {
        const view = await groups.describeGroup(GROUP_ID);
        for (const o of view.offsets) {
          if (o.committed < 0) continue;
          history.append({
            t: clock.nowMs(),
            type: 'commit',
            group: GROUP_ID,
            partition: o.partition,
            offset: o.committed,
          });
        }
      } catch (err) {
        if (signal.aborted) break;
        history.append({ t: clock.nowMs(), type: 'note', message: `commit sample failed: ${codeOf(err)}` });
      }
      await sleep(COMMIT_SAMPLE_MS, signal);
    }
  }

  private async consume(index: number): Promise<void> {
    const id = `c${index}`;
    const consumer: Consumer = this.client(id).consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 200,
      requestTimeoutMs: this.o.requestTimeoutMs,
    });
    const mine: { topic: string; partition: number }[] = [];
    for (let p = index; p < this.o.partitions; p += this.o.consumers)
      mine.push({ topic: this.o.topic, partition: p });
    if (mine.length === 0) return;
    await consumer.assign(mine);
    await consumer.seekToBeginning(mine);
    await this.pollUntilStopped(id, consumer);
  }

  /** Polls until the consumers are stopped, recording every message read and every failed poll. */
  private async pollUntilStopped(id: string, consumer: Consumer): Promise<void> {
    const { history, clock } = this.o;
    const signal = this.stopConsumers.signal;
    while (!signal.aborted) {
      try {
        const messages = await consumer.poll({ signal });
        for (const m of messages) {
          history.append({
            t: clock.nowMs(),
            type: 'read',
            phase: 'live',
            consumer: id,
            partition: m.partition,
            offset: m.offset,
            value: m.value?.toString() ?? '',
          });
        }
      } catch (err) {
        if (signal.aborted) break;
        history.append({ t: clock.nowMs(), type: 'poll-error', consumer: id, code: codeOf(err) });
        await sleep(200, signal);
      }
    }
  }
}

/**
 * The final drain, after every fault is healed: a fresh client reads each partition from its start to the
 * high watermark. What it reads is the ground truth the checker compares acknowledgements against.
 *
 * A cluster that has just healed can still answer from a stale view (a leader that has not yet heard it was
 * replaced, metadata naming the old leader), so every step retries until the deadline, and the drain ends
 * only when a fresh listing of the ends asks for nothing more than what was read: an end listed too low
 * would otherwise make acknowledged writes look lost.
 */
export async function drain(o: {
  bootstrap: string[];
  topic: string;
  partitions: number;
  history: HistorySink;
  clock: Clock;
  timeoutMs: number;
}): Promise<void> {
  const client = createClient({ bootstrap: o.bootstrap, clientId: 'chaos-drain', requestTimeoutMs: 10_000 });
  const deadline = o.clock.nowMs() + o.timeoutMs;
  const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await run();
      } catch (err) {
        if (o.clock.nowMs() > deadline)
          throw new Error(`drain: ${what} failed until the deadline: ${codeOf(err)}`);
        o.history.append({
          t: o.clock.nowMs(),
          type: 'note',
          message: `drain: ${what} failed: ${codeOf(err)}`,
        });
        await sleep(500);
      }
    }
  };
  try {
    const tps = Array.from({ length: o.partitions }, (_, partition) => ({ topic: o.topic, partition }));
    const listEnds = (): Promise<number[]> =>
      attempt('list offsets', async () => {
        const results = await client
          .admin()
          .listOffsets(tps.map((tp) => ({ ...tp, timestamp: LATEST_TIMESTAMP })));
        const bad = results.find((r) => r.error !== null || r.offset < 0);
        if (bad !== undefined)
          throw new Error(`partition ${bad.partition}: ${bad.error?.message ?? `offset ${bad.offset}`}`);
        return results.map((r) => r.offset);
      });
    const consumer = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
    await consumer.assign(tps);
    // Offset 0 is the start: runs are far too short for retention to delete anything, and an out-of-range
    // position would reset to the earliest anyway.
    for (const tp of tps) await consumer.seek(tp, 0);
    const behind = (ends: readonly number[]): boolean =>
      ends.some((end, partition) => (consumer.position({ topic: o.topic, partition }) ?? 0) < end);
    let ends = await listEnds();
    for (;;) {
      while (behind(ends)) {
        if (o.clock.nowMs() > deadline) throw new Error(`drain incomplete after ${o.timeoutMs} ms`);
        const messages = await attempt('poll', () => consumer.poll());
        for (const m of messages) {
          o.history.append({
            t: o.clock.nowMs(),
            type: 'read',
            phase: 'drain',
            consumer: 'drain',
            partition: m.partition,
            offset: m.offset,
            value: m.value?.toString() ?? '',
          });
        }
      }
      const again = await listEnds();
      if (!behind(again)) break;
      ends = again;
    }
  } finally {
    await client.close();
  }
}
