/**
 * The consumer half of the e2e bench, in a worker thread (as the peers' harness does) so the producer's
 * pacing loop and the consumer do not share an event loop. Latency: the producer stamps
 * process.hrtime.bigint() (CLOCK_MONOTONIC, the same clock in every thread) into the first 8 bytes and
 * byte 8 is 1 for measured messages, 0 for warm-up ones.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ConnectFlags } from '../commands/connect-flags.js';
import { benchClient } from './common.js';
import { latencies, newHistogram } from './report.js';

interface E2eConsumerData {
  connect: ConnectFlags;
  topic: string;
  partitions: number;
  expected: number;
  deadlineMs: number;
}

async function run(): Promise<void> {
  const d = workerData as E2eConsumerData;
  const client = benchClient(d.connect, 'streambus-bench-e2e');
  const consumer = client.consumer({ autoOffsetReset: 'latest', maxWaitMs: 500 });
  const tps = Array.from({ length: d.partitions }, (_, partition) => ({ topic: d.topic, partition }));
  await consumer.assign(tps);
  await consumer.seekToEnd(tps);
  const histogram = newHistogram();
  parentPort!.postMessage({ ready: true });
  // Warm-up messages (byte 8 = 0) are read and not recorded.
  let received = 0;
  const deadline = Date.now() + d.deadlineMs;
  while (received < d.expected && Date.now() < deadline) {
    const messages = await consumer.poll();
    const now = process.hrtime.bigint();
    for (const m of messages) {
      if (m.value === null || m.value.length < 9) continue;
      if (m.value[8] !== 1) continue;
      histogram.recordValue(Math.max(1, Number((now - m.value.readBigUInt64LE(0)) / 1000n)));
      received++;
    }
  }
  await client.close();
  parentPort!.postMessage({
    result: {
      received,
      ...latencies(histogram),
    },
  });
}

run().catch((err: unknown) => parentPort!.postMessage({ error: String(err) }));
