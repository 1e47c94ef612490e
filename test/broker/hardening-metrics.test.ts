/**
 * Scrapes /metrics of a running in-process broker: every metric the hardening spec names is exported with
 * the right TYPE, the data-plane metrics too, and produce traffic moves the per-topic and latency series.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { SUPPORTED_FEATURE_LEVEL } from '../../src/metadata/feature-levels.js';
import { METRICS } from '../../src/observability/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { wholeBatchesLength } from '../../src/storage/segment-reader.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { SPEC_METRICS } from '../helpers/spec-metrics.js';
import { connectTo } from '../helpers/wire.js';

let b: InProcessBroker;

beforeAll(async () => {
  b = await startInProcessBroker();
});
afterAll(async () => {
  await b?.destroy();
});

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${b.httpPort}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  return res.text();
}

/** The value of the first sample line `name{...labels containing every fragment...} value`. */
function sample(text: string, name: string, ...fragments: string[]): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = line.slice(name.length, line.lastIndexOf(' '));
    if (fragments.every((f) => labels.includes(f))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics on a running broker', () => {
  it('exports every metric the hardening spec names, with its TYPE', async () => {
    const text = await scrape();
    for (const [name, type] of Object.entries(SPEC_METRICS)) {
      expect(text, name).toContain(`# TYPE ${name} ${type}\n`);
    }
  });

  it('exports every data-plane and process metric with its TYPE', async () => {
    const text = await scrape();
    for (const spec of Object.values(METRICS)) {
      expect(text, spec.name).toContain(`# TYPE ${spec.name} ${spec.type}\n`);
    }
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });

  it("a single node reports the feature level its build supports as its cluster's", async () => {
    const text = await scrape();
    expect(sample(text, 'streambus_feature_level_supported')).toBe(SUPPORTED_FEATURE_LEVEL);
    expect(sample(text, 'streambus_cluster_feature_level')).toBe(SUPPORTED_FEATURE_LEVEL);
  });

  it('moves messages_in_total{topic} and the Produce latency histogram after a produce', async () => {
    const topic = 'metrics-scrape';
    const client = createClient({ bootstrap: [b.bootstrap], clientId: 'metrics-test' });
    try {
      await client.admin().createTopic({ name: topic, partitions: 2, replicationFactor: 1, configs: {} });
      const before = await scrape();
      const produceCountBefore =
        sample(before, 'streambus_request_duration_seconds_count', 'api="Produce"') ?? 0;
      const producer = client.producer({ lingerMs: 0 });
      const messages = Array.from({ length: 25 }, (_, i) => ({ value: `m${i}`, partition: i % 2 }));
      await producer.send({ topic, messages });
      await producer.close();

      const after = await scrape();
      expect(sample(after, 'streambus_messages_in_total', `topic="${topic}"`)).toBe(25);
      expect(sample(after, 'streambus_bytes_in_total', `topic="${topic}"`)).toBeGreaterThan(0);
      expect(sample(after, 'streambus_request_duration_seconds_count', 'api="Produce"')).toBeGreaterThan(
        produceCountBefore,
      );
      expect(sample(after, 'streambus_produce_duration_seconds_count')).toBeGreaterThan(0);
      // flush_policy always: every acknowledged produce waited for a timed fdatasync.
      expect(sample(after, 'streambus_log_fsync_duration_seconds_count')).toBeGreaterThan(0);
      expect(sample(after, 'streambus_requests_total', 'api="Produce"', 'status="ok"')).toBeGreaterThan(0);
      // Labels carry the broker id so a fleet can be scraped into one Prometheus.
      expect(after).toMatch(/streambus_messages_in_total\{[^}]*broker_id="\d+"/);
    } finally {
      await client.close();
    }
  });

  it('sets streambus_log_size_bytes{topic} from the partition logs after a produce, and drops a deleted topic', async () => {
    const topic = 'log-size';
    const client = createClient({ bootstrap: [b.bootstrap], clientId: 'log-size-test' });
    try {
      await client.admin().createTopic({ name: topic, partitions: 2, replicationFactor: 1, configs: {} });
      const producer = client.producer({ lingerMs: 0 });
      const messages = Array.from({ length: 40 }, (_, i) => ({
        value: `v${i}`.repeat(20),
        partition: i % 2,
      }));
      await producer.send({ topic, messages });
      await producer.close();
      // flush_policy always: every acknowledged batch is in its segment file, followed by zeros written ahead
      // of the data (storage.preallocate_bytes), which the log size does not count.
      const onDisk = [0, 1]
        .flatMap((p) => {
          const dir = join(b.dataDir, `${topic}-${p}`);
          return readdirSync(dir)
            .filter((f) => f.endsWith('.log'))
            .map((f) => readFileSync(join(dir, f)))
            .map((bytes) => wholeBatchesLength(bytes, bytes.length));
        })
        .reduce((n, size) => n + size, 0);
      expect(onDisk).toBeGreaterThan(40 * 40);
      expect(sample(await scrape(), 'streambus_log_size_bytes', `topic="${topic}"`)).toBe(onDisk);

      await client.admin().deleteTopic(topic);
      expect(sample(await scrape(), 'streambus_log_size_bytes', `topic="${topic}"`)).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  it('counts a ready answer held behind a long-polling Fetch on its connection in streambus_request_queue_depth', async () => {
    const topic = 'queue-depth';
    const client = createClient({ bootstrap: [b.bootstrap], clientId: 'queue-depth-test' });
    const conn = await connectTo(b);
    try {
      await client.admin().createTopic({ name: topic, partitions: 1, replicationFactor: 1, configs: {} });
      const before = await scrape();
      expect(sample(before, 'streambus_request_queue_depth')).toBe(0);
      // An empty partition: the Fetch waits its full maxWaitMs. ApiVersions, pipelined behind it on the same
      // connection, is answered at once but cannot be written before the Fetch's response.
      const fetch = conn.request(ApiKey.Fetch, {
        maxWaitMs: 3_000,
        minBytes: 1,
        maxBytes: 1 << 20,
        partitions: [{ topic, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }],
      });
      const versions = conn.request(ApiKey.ApiVersions, {});
      let held: string | undefined;
      for (let i = 0; i < 50 && held === undefined; i++) {
        const text = await scrape();
        if (sample(text, 'streambus_request_queue_depth') === 1) held = text;
        else await new Promise((r) => setTimeout(r, 20));
      }
      expect(held, 'queue depth never reached 1').toBeDefined();
      // Both requests are received and unanswered; only ApiVersions is queued.
      expect(sample(held!, 'streambus_requests_in_flight')).toBeGreaterThanOrEqual(2);

      // A produce wakes the Fetch: both answers go out and the queue empties.
      const producer = client.producer({ lingerMs: 0 });
      await producer.send({ topic, messages: [{ value: 'wake', partition: 0 }] });
      await producer.close();
      await Promise.all([fetch, versions]);
      expect(sample(await scrape(), 'streambus_request_queue_depth')).toBe(0);
    } finally {
      await conn.close();
      await client.close();
    }
  });
});
