import { type ConsumerMessage, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../src/index.js';
import { type BenchOptions, benchClient, ensureTopic, nowNs } from './common.js';
import { benchProduce } from './produce.js';
import { newHistogram, Progress, type Summary, summarize } from './report.js';

/**
 * The first `wanted` of a poll's messages and their bytes: key plus value, as the application receives
 * them (headers, timestamps and batch framing are not counted). The last poll usually returns more than
 * are still wanted; those are not counted, so msgs_per_s and mib_per_s measure exactly --messages.
 */
export function countRead(
  messages: readonly ConsumerMessage[],
  wanted: number,
): { count: number; bytes: number } {
  const count = Math.max(0, Math.min(wanted, messages.length));
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const m = messages[i]!;
    bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
  }
  return { count, bytes };
}

/**
 * Consume throughput with the SDK consumer from the beginning of the topic. When the topic holds fewer
 * than `messages`, the missing ones are produced first (not measured). Latency is per poll() call. The
 * first `warmup` messages are read once before measuring, in the same process. `size_bytes` in the
 * summary is the mean size read (key + value), and mib_per_s counts those bytes.
 */
export async function benchConsume(o: BenchOptions): Promise<Summary> {
  const client = benchClient(o);
  try {
    await ensureTopic(client.admin(), o.topic, o.partitions);
    const meta = await client.admin().describeTopics([o.topic]);
    const partitions = meta[0]?.partitions.length ?? o.partitions;
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic: o.topic, partition }));
    const ends = await client.admin().listOffsets(tps.map((tp) => ({ ...tp, timestamp: LATEST_TIMESTAMP })));
    const starts = await client
      .admin()
      .listOffsets(tps.map((tp) => ({ ...tp, timestamp: EARLIEST_TIMESTAMP })));
    const available = ends.reduce((sum, e, i) => sum + e.offset - (starts[i]?.offset ?? 0), 0);
    if (available < o.messages) {
      process.stderr.write(`consume: producing ${o.messages - available} messages first (not measured)\n`);
      await benchProduce({ ...o, messages: o.messages - available });
    }

    // Warm-up (connections, JIT): read the first `warmup` messages once, not measured.
    if (o.warmup > 0) {
      const warm = client.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 100 });
      await warm.assign(tps);
      await warm.seekToBeginning(tps);
      for (let read = 0; read < Math.min(o.warmup, o.messages); ) read += (await warm.poll()).length;
      await warm.close();
    }

    const consumer = client.consumer({
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      ...(o.clientRack === undefined ? {} : { clientRack: o.clientRack }),
    });
    await consumer.assign(tps);
    await consumer.seekToBeginning(tps);
    const histogram = newHistogram();
    const progress = new Progress('consume', o.messages);
    let received = 0;
    let bytes = 0;
    const started = nowNs();
    while (received < o.messages) {
      const t0 = nowNs();
      const messages = await consumer.poll();
      histogram.recordValue(Math.max(1, Number((nowNs() - t0) / 1000n)));
      const read = countRead(messages, o.messages - received);
      received += read.count;
      bytes += read.bytes;
      progress.update(received);
    }
    const seconds = Number(nowNs() - started) / 1e9;
    progress.done();
    // The topic may hold messages of another size than --size (an existing topic): report what was read.
    return summarize('consume', received, Math.round(bytes / received), bytes, seconds, histogram, {
      bytes,
      latency: 'per poll',
    });
  } finally {
    await client.close();
  }
}
