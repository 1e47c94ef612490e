import type { ProducerMessage } from '../../src/index.js';
import { type BenchOptions, benchClient, ensureTopic, nowNs } from './common.js';
import { newHistogram, Progress, payloadPool, type Summary, summarize } from './report.js';

/**
 * Produce throughput and acknowledged latency with the SDK producer: `messages` payloads of `size` bytes,
 * sent `batch` at a time with up to `inFlight` sends outstanding. Latency is send() to acknowledgement.
 */
export async function benchProduce(o: BenchOptions): Promise<Summary> {
  const client = benchClient(o);
  try {
    await ensureTopic(client.admin(), o.topic, o.partitions);
    const producer = client.producer({
      acks: o.acks,
      compression: o.compression,
      lingerMs: o.lingerMs,
      // One batch must stay under the broker's batch limit (1 MiB by default).
      batchBytes: Math.min(1_000_000, Math.max(16_384, o.batch * (o.size + 32))),
      maxInFlightRequests: Math.max(5, o.inFlight),
      bufferBytesMax: Math.max(64 * 1024 * 1024, o.inFlight * o.batch * (o.size + 32) * 2),
    });
    const pool = payloadPool(o.size);
    const histogram = newHistogram();
    const progress = new Progress('produce', o.messages);
    const outstanding = new Set<Promise<void>>();
    let acked = 0;
    let failure: unknown = null;

    // Warm-up: connections, metadata, JIT. Not measured (the messages stay in the topic).
    for (let sent = 0; sent < o.warmup; sent += o.batch) {
      const count = Math.min(o.batch, o.warmup - sent);
      await producer.send({
        topic: o.topic,
        messages: Array.from({ length: count }, (_, i) => ({ value: pool[(sent + i) % pool.length]! })),
      });
    }

    const started = nowNs();
    for (let sent = 0; sent < o.messages && failure === null; ) {
      const count = Math.min(o.batch, o.messages - sent);
      const messages: ProducerMessage[] = new Array(count);
      for (let i = 0; i < count; i++) messages[i] = { value: pool[(sent + i) % pool.length]! };
      sent += count;
      const t0 = nowNs();
      const p = producer.send({ topic: o.topic, messages }).then(
        () => {
          histogram.recordValueWithCount(Math.max(1, Number((nowNs() - t0) / 1000n)), count);
          acked += count;
          progress.update(acked);
        },
        (err: unknown) => {
          failure ??= err;
        },
      );
      const tracked = p.finally(() => outstanding.delete(tracked));
      outstanding.add(tracked);
      while (outstanding.size >= o.inFlight) await Promise.race(outstanding);
    }
    await Promise.all(outstanding);
    await producer.flush();
    const seconds = Number(nowNs() - started) / 1e9;
    progress.done();
    if (failure !== null) throw failure;
    // Every payload is o.size bytes without a key: what was acknowledged is acked x o.size.
    return summarize('produce', acked, o.size, acked * o.size, seconds, histogram, {
      acks: o.acks === -1 ? 'all' : o.acks,
      batch: o.batch,
      compression: o.compression,
    });
  } finally {
    await client.close();
  }
}
