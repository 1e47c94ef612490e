import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { type BenchOptions, benchClient, ensureTopic } from './common.js';
import { mibPerS, payloadPool, type Summary } from './report.js';

/** The stamp's 8 bytes plus the measured/warm-up flag (see pace below). */
export const E2E_SIZE_MIN = 9;

interface ConsumerResult {
  received: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
}

/**
 * End-to-end latency at a fixed rate: the producer (this thread) paces `rate` msgs/s for `durationS` in
 * ~1 ms ticks, as the peers' harness does; the consumer (a worker thread) measures stamp-to-receipt.
 * `o.warmup` messages go first at the same rate, through the same producer and consumer, un-measured.
 */
export async function benchE2e(o: BenchOptions): Promise<Summary> {
  // Smaller payloads cannot carry the stamp: the send would throw, or the consumer skip every message.
  if (o.size < E2E_SIZE_MIN)
    throw new Error(`e2e needs --size of at least ${E2E_SIZE_MIN} (the latency stamp), got ${o.size}`);
  const client = benchClient(o);
  const total = Math.round(o.rate * o.durationS);
  try {
    await ensureTopic(client.admin(), o.topic, o.partitions);
    const meta = await client.admin().describeTopics([o.topic]);
    const partitions = meta[0]?.partitions.length ?? o.partitions;
    const worker = new Worker(new URL('./e2e-consumer.js', import.meta.url), {
      workerData: {
        // The flags, not a client's options: TLS files are read again in the worker (workerData is cloned).
        connect: { bootstrap: o.bootstrap, tls: o.tls, tlsCa: o.tlsCa, tlsCert: o.tlsCert, tlsKey: o.tlsKey },
        topic: o.topic,
        partitions,
        expected: total,
        deadlineMs: (o.durationS + o.warmup / o.rate + 20) * 1000,
      },
    });
    let onReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    const result = new Promise<ConsumerResult>((resolve, reject) => {
      worker.on('message', (m: { ready?: boolean; result?: ConsumerResult; error?: string }) => {
        if (m.ready) onReady();
        else if (m.result) resolve(m.result);
        else if (m.error) reject(new Error(m.error));
      });
      worker.on('error', reject);
    });
    await Promise.race([ready, result]);
    await sleep(200);

    const producer = client.producer({ acks: o.acks, compression: o.compression, lingerMs: 0 });
    const pool = payloadPool(o.size);
    let failures = 0;
    /** Sends `count` messages paced at o.rate in ~1 ms ticks; byte 8 of each payload says whether it counts. */
    const pace = async (count: number, measured: boolean): Promise<number> => {
      let sent = 0;
      const started = performance.now();
      while (sent < count) {
        const elapsedS = (performance.now() - started) / 1000;
        if (elapsedS > count / o.rate + 5) break;
        const due = Math.min(count, Math.floor(elapsedS * o.rate) + 1);
        while (sent < due) {
          const value = Buffer.from(pool[sent % pool.length]!);
          value.writeBigUInt64LE(process.hrtime.bigint(), 0);
          value[8] = measured ? 1 : 0;
          producer.send({ topic: o.topic, messages: [{ value }] }).catch(() => {
            failures++;
          });
          sent++;
        }
        await sleep(1);
      }
      return sent;
    };
    // Warm-up at the same rate through the same producer and consumer (the consumer skips these).
    await pace(o.warmup, false);
    await producer.flush();
    const started = performance.now();
    const sent = await pace(total, true);
    const publishS = (performance.now() - started) / 1000;
    await producer.flush();
    // An unref'd guard: once the result is in, the pending timer must not keep the process alive.
    const guard = sleep((o.durationS + o.warmup / o.rate + 25) * 1000, null, { ref: false });
    const r = await Promise.race([result, guard]);
    await worker.terminate();
    if (r === null) throw new Error('e2e consumer did not report in time');
    return {
      bench: 'e2e',
      messages: r.received,
      size_bytes: o.size,
      seconds: Number(publishS.toFixed(3)),
      msgs_per_s: Math.round(sent / publishS),
      mib_per_s: mibPerS(sent * o.size, publishS),
      p50_us: r.p50_us,
      p99_us: r.p99_us,
      p999_us: r.p999_us,
      max_us: r.max_us,
      rate: o.rate,
      sent,
      received: r.received,
      publish_errors: failures,
      warmup: o.warmup,
      acks: o.acks === -1 ? 'all' : o.acks,
      compression: o.compression,
    };
  } finally {
    await client.close();
  }
}
